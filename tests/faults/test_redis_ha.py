"""Redis beyond one server, end to end: real gateways on Redis behind real Sentinels, and on
two real Redis shards, with numbered posters and viewers on both gateways (SPEC §2)."""

import asyncio
import json
import os
import time
import uuid

import psycopg
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from livecomments import redis_topology
from tests.clients import frame_text, open_socket
from tests.redis_servers import (
    missing_binaries,
    primary_port,
    running,
    sentinel_url,
    wait_replicating,
    wait_sentinels_know_replica,
)

from .clients import Gateways, Poster, Viewer
from .conftest import report
from .test_faults import Scenario, accepted_after, outage_figures, wait_for

pytestmark = [
    pytest.mark.skipif(os.environ.get("LC_SKIP_FAULTS") == "1", reason="LC_SKIP_FAULTS=1"),
    pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries())),
]


async def test_sentinel_failover_mid_stream_loses_no_comment(cluster):
    with running() as servers:
        primary = servers.server()
        replica = servers.server(replica_of=primary)
        sentinels = servers.sentinels(primary)
        wait_replicating(replica)
        wait_sentinels_know_replica(sentinels)
        cluster.start(2, {"REDIS_URL": sentinel_url(sentinels)})
        scenario = Scenario(cluster, viewers=6, posters=4, count=40, interval=0.1)
        await scenario.start_viewers()
        posting = asyncio.ensure_future(scenario.post_all())
        await asyncio.sleep(1.0)

        primary.kill()
        killed = time.monotonic()
        await wait_for(lambda: primary_port(sentinels) == replica.port, 30, step=0.1)
        failed_over = time.monotonic()
        await posting
        resumed = accepted_after(scenario, failed_over)
        await scenario.settle_and_check()
        await scenario.stop()
        report(
            "redis_sentinel_failover",
            kill_to_failover_seconds=round(failed_over - killed, 2),
            failover_to_first_accept_seconds=round(resumed if resumed is not None else -1, 2),
            **outage_figures(scenario),
        )
        assert resumed is not None and resumed < 10, "posting resumes by itself after a failover"
        assert all(g.process.poll() is None for g in cluster.gateways), "no gateway restarted"


class ShardedStream:
    """A stream on one shard, with a viewer on each gateway and a poster whose own state
    (global rate limit, idempotency) is on the same shard."""

    def __init__(self, shard: int, stream_id: int, poster: tuple[str, str], gateways: Gateways):
        self.shard = shard
        self.stream_id = stream_id
        self.gateways = gateways
        self.poster_name, self.token = poster
        self.viewers = [
            Viewer(f"shard{shard}-viewer{n}", gateways, stream_id, start=n) for n in range(2)
        ]
        self.posters: list[Poster] = []
        self._viewing = [asyncio.ensure_future(v.run()) for v in self.viewers]

    def poster(self, label: str, count: int) -> Poster:
        found = Poster(f"{self.poster_name}-{label}", self.token, self.gateways, self.stream_id,
                       count, 0.05, start=self.shard)  # fmt: skip
        self.posters.append(found)
        return found

    def viewer_counts(self) -> list[int]:
        return [v.viewer_counts[-1][1] if v.viewer_counts else 0 for v in self.viewers]

    async def check_every_viewer_has(self, stored: dict[str, str]) -> None:
        try:
            await wait_for(lambda: all(set(stored) <= v.ids for v in self.viewers), 15)
        except AssertionError:
            pytest.fail(
                "\n".join(
                    f"{v.name}: missing {sorted(stored[i] for i in set(stored) - v.ids)} "
                    f"connections={v.connections} gaps={v.gaps} closes={v.close_codes}"
                    for v in self.viewers
                )
                + "".join(f"\n{p.name}: {dict(p.outcomes)}" for p in self.posters)
            )
        expected = sorted(p.content(n) for p in self.posters for n in range(p.count))
        assert sorted(stored.values()) == expected, "each numbered post stored exactly once"
        for viewer in self.viewers:
            assert viewer.ids == set(stored), f"{viewer.name} saw exactly the stored comments"
            assert not viewer.live_duplicates, f"{viewer.name} got comments twice"

    async def stop(self) -> None:
        for viewer in self.viewers:
            await viewer.stop()
        await asyncio.gather(*self._viewing, return_exceptions=True)


async def told_on_lost_shard(port: int, token: str, stream_id: int) -> list[str]:
    """What a poster on a stream of a lost shard is told when joining and posting."""
    told: list[str] = []
    ws = await open_socket(port, token)
    try:
        await ws.send(frame_text("join_stream", streamId=str(stream_id)))
        await ws.send(
            frame_text("post_comment", streamId=str(stream_id), content="stranded",
                       idempotencyKey=str(uuid.uuid4()))
        )  # fmt: skip
        while not any(t.startswith("ack:") for t in told) and len(told) < 4:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            payload = message["payload"]
            if message["type"] in ("ack", "error"):
                told.append(f"{message['type']}:{payload.get('status') or payload.get('code')}")
    except TimeoutError:
        told.append("no answer")
    except ConnectionClosed as closed:
        # The user's own state is on the lost shard too: the gateway cannot listen for them.
        told.append(f"closed:{closed.rcvd.code if closed.rcvd else None}")
    finally:
        await ws.close()
    return told


def user_ids(postgres_url: str, usernames: list[str]) -> dict[str, int]:
    with psycopg.connect(postgres_url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT username, id FROM auth_user WHERE username = ANY(%s)", [usernames]
        ).fetchall()
    return dict(rows)


async def test_shards_carry_each_stream_and_a_lost_shard_stops_only_its_own(cluster, settings):
    services = cluster.services
    with running() as servers:
        shards = [servers.server(), servers.server()]
        settings.REDIS_URL = ",".join(shard.url for shard in shards)
        redis_topology.reset()
        try:
            # A stream on each shard, and a poster whose own state is on that shard too.
            stream_of_shard: dict[int, int] = {}
            while len(stream_of_shard) < 2:
                stream_id = services.new_stream()
                stream_of_shard.setdefault(redis_topology.shard_of_stream(stream_id), stream_id)
            ids = user_ids(services.postgres.url, list(services.tokens))
            poster_of_shard = {
                redis_topology.shard_of_user(user_id): (name, services.tokens[name])
                for name, user_id in ids.items()
            }
            assert len(poster_of_shard) == 2, "the seeded posters' state lands on both shards"
        finally:
            redis_topology.reset()

        cluster.start(2, {"REDIS_URL": settings.REDIS_URL})
        gateways = Gateways(cluster.ports)
        streams = [
            ShardedStream(shard, stream_of_shard[shard], poster_of_shard[shard], gateways)
            for shard in (0, 1)
        ]
        # Viewer counts: each stream has its own two viewers, one on each gateway.
        await wait_for(lambda: all(s.viewer_counts() == [2, 2] for s in streams), 15)
        await asyncio.wait_for(asyncio.gather(*(s.poster("before", 10).run() for s in streams)), 60)
        for stream in streams:
            await stream.check_every_viewer_has(services.stored(stream.stream_id))

        clients = [redis.Redis(port=shard.port) for shard in shards]
        for stream in streams:
            mine, other = clients[stream.shard], clients[1 - stream.shard]
            group = f"asgi__group__stream.{stream.stream_id}".encode()
            assert dict(mine.pubsub_numsub(group))[group] == 2, "both gateways listen there"
            assert dict(other.pubsub_numsub(group))[group] == 0
            for key in (f"viewers:stream:{stream.stream_id}", f"recent:stream:{stream.stream_id}"):
                assert mine.exists(key) and not other.exists(key), key

        # The first server (site-wide state too) goes: only its stream stops.
        lost, kept = streams
        shards[0].kill()
        survivor = kept.poster("after", 10)
        started = time.monotonic()
        await asyncio.wait_for(survivor.run(), 60)
        posting_seconds = time.monotonic() - started
        await kept.check_every_viewer_has(services.stored(kept.stream_id))
        outcomes = await told_on_lost_shard(cluster.ports[0], kept.token, lost.stream_id)
        report(
            "redis_shard_lost",
            kept_stream_posts=survivor.count,
            kept_stream_post_seconds=round(posting_seconds, 2),
            kept_stream_refusals=sum(c for o, c in survivor.outcomes.items() if o != "accepted"),
            lost_stream_outcomes=outcomes,
        )
        assert outcomes and "ack:accepted" not in outcomes, "a stream on the lost shard cannot post"
        assert all(g.process.poll() is None for g in cluster.gateways)
        for stream in streams:
            await stream.stop()
