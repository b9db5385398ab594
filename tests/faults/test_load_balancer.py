"""deploy/haproxy.cfg, run as it is, in front of two real gateways.

The sample takes its addresses from the environment; this starts it on free ports and shows
what docs/operations.md promises of it: WebSockets pass through, sockets spread over the
gateways with no stickiness, a gateway whose /readyz fails gets no new sockets, and
/metrics is not served to the outside.
"""

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings

from tests.clients import LiveClient
from tests.gateways import PROJECT_ROOT, free_port, start_gateway

SAMPLE = PROJECT_ROOT / "deploy" / "haproxy.cfg"
# Debian's package puts it in /usr/sbin, which a non-root PATH may lack.
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        HAPROXY is None, reason="haproxy is not installed (Debian: apt-get install haproxy)"
    ),
    pytest.mark.skipif(
        not settings.REDIS_URL or "sqlite" in settings.DATABASES["default"]["ENGINE"],
        reason="gateway processes need PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)",
    ),
]


class Balancer:
    def __init__(self, tmp_path, gateway_ports: list[int]) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "haproxy.log"
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_BALANCER_ADDRESS": f"127.0.0.1:{self.port}",
            "LC_GATEWAY_1": f"127.0.0.1:{gateway_ports[0]}",
            "LC_GATEWAY_2": f"127.0.0.1:{gateway_ports[1]}",
            "LC_BALANCER_MAXCONN": "1000",  # within any test machine's open-files limit
        }
        with open(self.log_path, "w") as log:
            # -db: stay in the foreground, where server state changes are written to stderr.
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(SAMPLE)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._listening, 10, self.log)

    def _listening(self) -> bool:
        assert self.process.poll() is None, self.log()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).close()
            return True
        except (OSError, urllib.error.HTTPError):
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)


def wait_until(condition, timeout: float, describe=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s\n{describe()}")
        time.sleep(0.1)


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def sockets_on(port: int, stream_id: int) -> int:
    """Sockets joined to the stream on one gateway, from its own /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(rf'^livecomments_sockets\{{stream="{stream_id}"\}} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


async def open_joined(balancer: Balancer, stream, count: int, user=None) -> list:
    opened = []
    for _ in range(count):
        ws = await LiveClient(user, port=balancer.port).connect()
        await ws.send("join_stream", streamId=str(stream.id))
        await ws.receive_type("comments_batch")
        opened.append(ws)
    return opened


async def close_all(sockets) -> None:
    for ws in sockets:
        await ws.close()


async def test_the_sample_haproxy_config_balances_gateways_by_readyz(tmp_path, alice, stream):
    first = start_gateway(tmp_path)
    # The second gateway answers HTTP but cannot reach Redis: its /readyz says 503.
    unready = start_gateway(tmp_path, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    second = None
    balancer = Balancer(tmp_path, [first.port, unready.port])
    try:
        assert status_of(unready.port, "/readyz") == 503
        wait_until(lambda: "g2 is DOWN" in balancer.log(), 10, balancer.log)
        assert "Layer7 wrong status" in balancer.log()  # /readyz said no, not the TCP check
        assert status_of(balancer.port, "/readyz") == 200
        # /metrics is for Prometheus at each gateway, not for the outside, however spelled.
        assert status_of(first.port, "/metrics") == 200
        for path in ("/metrics", "/metrics?format=text", "/metrics/", "/%6detrics"):
            assert status_of(balancer.port, path) == 403, path

        # Every socket goes to the ready gateway.
        early = await open_joined(balancer, stream, 3)
        assert sockets_on(first.port, stream.id) == 3
        await close_all(early)

        # Once /readyz answers 200 again, the gateway is back in.
        unready.stop()
        second = start_gateway(tmp_path, port=unready.port)
        wait_until(lambda: "g2 is UP" in balancer.log(), 15, balancer.log)
        wait_until(lambda: sockets_on(first.port, stream.id) == 0, 5)

        # A viewer and a poster through the balancer: join, post, and the comment arrives.
        viewers = await open_joined(balancer, stream, 6)
        [poster] = await open_joined(balancer, stream, 1, user=alice)
        key = str(uuid.uuid4())
        post = {"streamId": str(stream.id), "content": "through haproxy", "idempotencyKey": key}
        await poster.send("post_comment", **post)
        ack = await poster.receive_type("ack")
        assert ack["status"] == "accepted" and ack["idempotencyKey"] == key
        for ws in viewers:
            batch = await ws.receive_type("comments_batch")
            assert [c["content"] for c in batch["comments"]] == ["through haproxy"]

        # Seven sockets from one client address and no stickiness: both gateways serve some.
        counts = (sockets_on(first.port, stream.id), sockets_on(second.port, stream.id))
        assert sum(counts) == 7 and min(counts) >= 2, counts
        await close_all([*viewers, poster])
    finally:
        balancer.stop()
        for gateway in (first, unready, second):
            if gateway is not None:
                gateway.stop()
