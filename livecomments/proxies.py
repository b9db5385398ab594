"""Who the client is behind the load balancers (LC_TRUSTED_PROXIES), for HTTP and WebSocket."""

from django.conf import settings


def client_address(peer: str | None, forwarded_for: str) -> str:
    """The peer's address; when the peer is a trusted proxy, the last X-Forwarded-For entry.

    The last entry is the one our proxy added; earlier ones are whatever the client sent.
    """
    peer = peer or "unknown"
    if peer in settings.LIVE_COMMENTS["TRUSTED_PROXIES"]:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer
