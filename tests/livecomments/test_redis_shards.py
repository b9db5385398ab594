"""Shared state on two real Redis servers: each stream on the shard of its channel-layer
group, each user's cross-stream state on the shard of their user group (SPEC §2)."""

import logging

import pytest
import redis
from channels_redis.pubsub import RedisPubSubChannelLayer

from comments import state
from comments.state.ratelimit import Admission, Ask, RedisRateLimiter
from comments.state.viewers import RedisViewerRegistry
from livecomments import redis_topology
from livecomments.redis_cache import ShardedRedisCache, user_tagged
from livecomments.redis_url import channel_layer_hosts, parse_redis_url
from tests.redis_servers import missing_binaries, running

pytestmark = pytest.mark.skipif(missing_binaries() is not None, reason=str(missing_binaries()))


@pytest.fixture
def shards(settings):
    """Two redis-servers of the test's own, named by REDIS_URL as shards."""
    with running() as started:
        servers = [started.server(), started.server()]
        settings.REDIS_URL = ",".join(server.url for server in servers)
        state.reset_for_tests()
        try:
            yield [redis.Redis(port=server.port) for server in servers], servers
        finally:
            state.reset_for_tests()


def streams_by_shard(count: int = 40) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {0: [], 1: []}
    for stream_id in range(1, count + 1):
        found[redis_topology.shard_of_stream(stream_id)].append(stream_id)
    return found


def user_on(shard: int) -> int:
    return next(u for u in range(1, 100) if redis_topology.shard_of_user(u) == shard)


async def test_a_streams_state_lives_on_the_shard_that_carries_its_group(shards):
    clients, servers = shards
    layer = RedisPubSubChannelLayer(
        hosts=channel_layer_hosts(parse_redis_url(",".join(s.url for s in servers)))
    )
    channel = await layer.new_channel()
    by_shard = streams_by_shard()
    try:
        for stream_id in by_shard[0] + by_shard[1]:
            await layer.group_add(f"stream.{stream_id}", channel)
        for shard, stream_ids in by_shard.items():
            assert stream_ids, "40 streams land on both shards"
            for stream_id in stream_ids:
                group_channel = f"asgi__group__stream.{stream_id}"
                subscribers = [
                    dict(c.pubsub_numsub(group_channel))[group_channel.encode()] for c in clients
                ]
                assert subscribers[shard] == 1 and subscribers[1 - shard] == 0, stream_id
    finally:
        await layer.flush()


def test_an_untested_channels_redis_version_falls_back_to_a_plain_hash(shards, monkeypatch, caplog):
    monkeypatch.setattr(redis_topology, "CHANNELS_REDIS_ALIGNED", ("0.0",))
    with caplog.at_level(logging.WARNING, logger="livecomments.redis_topology"):
        by_shard = streams_by_shard()
    assert by_shard[0] and by_shard[1]
    assert "not aligned with channels-redis" in caplog.text
    assert all(redis_topology.shard_of_stream(s) == 0 for s in by_shard[0])


async def test_rate_limits_hold_per_stream_and_per_user_across_shards(shards):
    clients, _ = shards
    by_shard = streams_by_shard()
    user = user_on(0)
    home, away, other = by_shard[0][0], by_shard[1][0], by_shard[1][1]
    limiter = RedisRateLimiter(global_limit=(5, 60), stream_limit=(2, 30))

    async def post(stream_id: int, key: str) -> int:
        return (await limiter.admit(user, stream_id, 0, key)).wait_seconds

    assert [await post(home, "h1"), await post(home, "h2")] == [0, 0]
    assert await post(home, "h3") > 0, "the stream's limit, on the user's own shard"
    assert [await post(away, "a1"), await post(away, "a2")] == [0, 0]
    assert await post(away, "a3") > 0, "the stream's limit, on the other shard"
    # The user's shard counted a3 before the stream's refused it, and took it back.
    assert clients[0].get(f"rl:user:{user}") == b"4"
    assert await post(other, "o1") == 0
    assert await post(other, "o2") > 0, "the user's limit spans both shards"
    assert await post(away, "a2") == 0, "a key counted before passes again, counting nothing"
    assert clients[0].get(f"rl:user:{user}") == b"5"
    assert clients[1].get(f"rl:user:{user}") is None
    assert clients[1].get(f"rl:stream:{away}:user:{user}") == b"2"
    assert clients[1].get(f"rl:stream:{other}:user:{user}") == b"1"
    assert clients[0].get(f"rl:stream:{away}:user:{user}") is None


async def test_a_flush_across_shards_counts_on_both_and_takes_back_what_one_refused(shards):
    clients, _ = shards
    by_shard = streams_by_shard()
    user = user_on(0)
    home, away = by_shard[0][0], by_shard[1][0]
    limiter = RedisRateLimiter(global_limit=(4, 60), stream_limit=(2, 30))

    def waits(admissions: list[Admission]) -> list[int]:
        return [admission.wait_seconds for admission in admissions]

    away_flush = await limiter.admit_many([Ask(user, away, 0, f"a{n}") for n in range(3)])
    assert waits(away_flush)[:2] == [0, 0] and waits(away_flush)[2] > 0
    # a2 was counted on the user's shard before the stream's refused it, and taken back.
    assert clients[0].get(f"rl:user:{user}") == b"2"
    assert clients[1].get(f"rl:stream:{away}:user:{user}") == b"2"

    home_flush = await limiter.admit_many([Ask(user, home, 0, f"h{n}") for n in range(3)])
    assert waits(home_flush)[:2] == [0, 0] and waits(home_flush)[2] > 0
    assert clients[0].get(f"rl:user:{user}") == b"4"
    assert clients[0].get(f"rl:stream:{home}:user:{user}") == b"2"


async def test_a_remembered_key_is_found_on_the_users_shard_counting_nothing(shards):
    clients, _ = shards
    user = user_on(0)
    away = streams_by_shard()[1][0]
    await state.idempotency_store().remember([(user, "sent-before", 4242)])
    limiter = RedisRateLimiter(global_limit=(5, 60), stream_limit=(2, 30))

    assert await limiter.admit(user, away, 0, "sent-before") == Admission(stored_comment_id=4242)
    assert clients[0].get(f"rl:user:{user}") is None
    assert clients[1].get(f"rl:stream:{away}:user:{user}") is None


async def test_viewer_counts_are_per_stream_and_survive_the_loss_of_the_other_shard(shards):
    clients, servers = shards
    by_shard = streams_by_shard()
    first, second = by_shard[0][0], by_shard[1][0]
    registry = RedisViewerRegistry()
    await registry.report("gateway-a", {first: 3, second: 1})
    await registry.report("gateway-b", {first: 2})
    assert await registry.totals([first, second]) == {first: 5, second: 1}
    assert clients[0].exists(f"viewers:stream:{first}") and not clients[1].exists(
        f"viewers:stream:{first}"
    )
    assert clients[1].exists(f"viewers:stream:{second}")

    servers[0].kill()
    await registry.report("gateway-a", {first: 4, second: 2})
    assert await registry.totals([first, second]) == {second: 2}


def test_answers_kept_per_user_are_on_the_users_shard(shards):
    clients, servers = shards
    cache = ShardedRedisCache(",".join(s.url for s in servers), {"KEY_PREFIX": "t"})
    user = user_on(1)
    cache.set(user_tagged(user, "edit:k1"), {"result": 1})
    cache.set("login:site-wide", 1)
    assert cache.get(user_tagged(user, "edit:k1")) == {"result": 1}
    assert clients[1].keys("t:*edit:k1") and not clients[0].keys("t:*edit:k1")
    assert clients[0].keys("t:*login:site-wide") and not clients[1].keys("t:*login*")
