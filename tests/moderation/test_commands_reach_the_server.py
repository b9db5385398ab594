"""Moderation by command reaches open sockets on the embedded default (SPEC §3).

The server runs as scripts/demo runs it: one daphne process on a SQLite file, Channels'
in-memory layer, no Redis. Each command is a second process with its own in-memory layer,
so what it publishes reaches the server only through the database they share (the events
outbox, livecomments.events); these tests run both for real.
"""

import asyncio
import json
import os
import sys
from types import SimpleNamespace

import pytest

from tests.clients import LiveClient
from tests.gateways import PROJECT_ROOT, start_gateway

LIVE_BOUND = 1.0  # seconds: SPEC §3, "reach every viewer within a second"

SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from streams.models import Stream

bob = get_user_model().objects.create_user("bob", password="pw-bob")
stream = Stream.objects.create(title="Launch day")
print(json.dumps({"stream": stream.id, "bob": Token.objects.create(user=bob).key}))
"""


class EmbeddedSite:
    """A SQLite file, the commands run against it, and the daphne serving it."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            # Empty is unset: the in-memory layer and cache, as with no REDIS_URL at all.
            "REDIS_URL": "",
        }

    async def manage(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", *args, cwd=PROJECT_ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, f"manage.py {' '.join(args)} failed:\n{err.decode()}"
        return out.decode()

    def serve(self):
        return start_gateway(
            self.tmp_path,
            {"DATABASE_URL": self.env["DATABASE_URL"], "REDIS_URL": "", "LOG_LEVEL": "WARNING"},
        )


@pytest.fixture
async def site(tmp_path):
    site = EmbeddedSite(tmp_path)
    await site.manage("migrate", "--verbosity", "0")
    seeded = json.loads((await site.manage("shell", "-c", SEED)).strip().splitlines()[-1])
    site.stream = SimpleNamespace(id=seeded["stream"])
    site.bob = SimpleNamespace(auth_token=SimpleNamespace(key=seeded["bob"]))
    site.gateway = await asyncio.to_thread(site.serve)
    yield site
    site.gateway.stop()


async def test_end_stream_by_command_reaches_viewers_within_a_second(site):
    viewer = await LiveClient(port=site.gateway.port).connect()
    await viewer.join(site.stream)

    await site.manage("end_stream", str(site.stream.id))

    ended = await viewer.receive_type("stream_ended", timeout=LIVE_BOUND)
    assert ended == {"streamId": str(site.stream.id)}
    await viewer.close()


async def test_a_ban_that_removes_comments_by_command_reaches_viewers_within_a_second(site):
    viewer = await LiveClient(port=site.gateway.port).connect()
    await viewer.join(site.stream)
    bob = await LiveClient(site.bob, port=site.gateway.port).connect()
    await bob.join(site.stream)
    ack = await bob.post(site.stream, "buy followers at spam.example")
    assert ack["status"] == "accepted"
    [live] = await viewer.live_comments(1)
    assert live["id"] == ack["commentId"]

    await site.manage("ban", "bob", "--stream", str(site.stream.id), "--remove-comments")

    removed = await viewer.receive_type("comments_removed", timeout=LIVE_BOUND)
    assert removed == {"streamId": str(site.stream.id), "commentIds": [ack["commentId"]]}
    # Nor does it come back to a viewer joining later: the server's own cache was dropped.
    late = await LiveClient(port=site.gateway.port).connect()
    _, backfill = await late.join(site.stream)
    assert backfill["comments"] == []
    await late.close()
    await viewer.close()
    await bob.close()
