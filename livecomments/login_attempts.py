"""Failed logins counted per username and per client address, for the login page and the API.

A password guesser is slowed on both axes: many usernames from one address, or one
username from many addresses. Counts live in Django's cache (Redis when `REDIS_URL` is
set, so every gateway shares them) in fixed windows of `LC_LOGIN_WINDOW_SECONDS`; each
key expires with its window. A successful login clears its username's count, not its
address's, so one good account cannot reset a guesser's budget.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from livecomments import metrics
from livecomments.errors import RateLimited
from livecomments.proxies import client_address

MESSAGE = "Too many failed logins. Try again in {wait}."


class LoginAttempts:
    """The failure counters of one login attempt: its username and its client address."""

    def __init__(self, username: str, address: str, now: float | None = None) -> None:
        self.limit, window = settings.LIVE_COMMENTS["LOGIN_FAILURES"]
        self.window = max(1, window)
        now = time.time() if now is None else now
        bucket = int(now // self.window)
        self.retry_after = max(1, math.ceil((bucket + 1) * self.window - now))
        self.keys = [
            f"login-failures:user:{_digest(username.strip().casefold())}:{bucket}",
            f"login-failures:address:{_digest(address)}:{bucket}",
        ]

    @classmethod
    def of(cls, request, username: str | None) -> "LoginAttempts":
        address = client_address(
            request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", "")
        )
        return cls(username or "", address)

    def check(self) -> None:
        """Raise RateLimited when the username or the address has failed too often."""
        if not self.limit:
            return
        counts = cache.get_many(self.keys)
        if any(count >= self.limit for count in counts.values()):
            metrics.LOGIN_THROTTLED.inc()
            raise RateLimited(self.retry_after, MESSAGE.format(wait=_wait(self.retry_after)))

    def failed(self) -> None:
        for key in self.keys:
            # add() sets the expiry once; incr() keeps it (Redis INCR, locmem alike).
            if not cache.add(key, 1, timeout=self.window + 1):
                try:
                    cache.incr(key)
                except ValueError:  # expired between the two calls
                    cache.add(key, 1, timeout=self.window + 1)

    def succeeded(self) -> None:
        cache.delete(self.keys[0])


def _digest(text: str) -> str:
    # Usernames and addresses are client input: hash them into short, safe cache keys.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
