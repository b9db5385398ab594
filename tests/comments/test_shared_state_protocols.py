"""The Redis backends of shared state answer the same over RESP2 and RESP3.

redis-py 8 made RESP3 its default protocol (7 speaks RESP2), and replies change shape
with it (maps, sets). Each test asks for its protocol in the URL (`?protocol=`), so both
are proved whichever redis-py is installed; scripts/version-matrix runs this file and the
rest of the live path on the oldest and newest we support.
"""

import asyncio

import orjson
import pytest
from django.conf import settings as django_settings

from comments.state.idempotency import TTL_SECONDS as IDEMPOTENCY_TTL
from comments.state.idempotency import RedisIdempotencyStore, remembered_key
from comments.state.ratelimit import ADMITTED, Admission, Ask, RedisRateLimiter
from comments.state.recent import CAPACITY, RedisRecentComments
from comments.state.recent import TTL_SECONDS as RECENT_TTL
from comments.state.redis_client import client
from comments.state.viewers import RedisViewerRegistry

pytestmark = pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL")


@pytest.fixture(params=[2, 3], ids=["RESP2", "RESP3"])
def protocol(request, settings):
    separator = "&" if "?" in settings.REDIS_URL else "?"
    settings.REDIS_URL = f"{settings.REDIS_URL}{separator}protocol={request.param}"
    return request.param


async def test_the_client_speaks_the_protocol_in_the_url(protocol):
    assert (await client().client_info())["resp"] == str(protocol)


async def test_rate_limits_count_refuse_and_let_a_counted_key_through(protocol):
    limiter = RedisRateLimiter(global_limit=(2, 60), stream_limit=(5, 30))
    assert await limiter.admit(1, 7, 0, "first") == ADMITTED
    assert await limiter.admit(1, 7, 0, "second") == ADMITTED
    assert 0 < (await limiter.admit(1, 7, 0, "third")).wait_seconds <= 60
    assert await limiter.admit(1, 7, 0, "first") == ADMITTED


async def test_a_remembered_key_gets_its_comment_and_counts_nothing(protocol):
    await RedisIdempotencyStore().remember([(1, "stored", 9_007_199_254_740_993)])
    limiter = RedisRateLimiter(global_limit=(1, 60), stream_limit=(1, 30))
    # Past 2**53: the id comes back whole, not through a Lua number.
    stored = Admission(stored_comment_id=9_007_199_254_740_993)
    assert await limiter.admit(1, 7, 0, "stored") == stored
    assert await limiter.admit(1, 7, 0, "stored") == stored
    assert await limiter.admit(1, 7, 0, "new") == ADMITTED


async def test_a_flush_of_posts_is_admitted_in_order_by_one_script(protocol):
    await RedisIdempotencyStore().remember([(1, "stored", 41)])
    limiter = RedisRateLimiter(global_limit=(2, 60), stream_limit=(5, 30))
    await limiter.admit(3, 7, 0, "warm")  # the script loaded: one EVALSHA from here on

    async def evalsha_calls() -> int:
        found = (await client().info("commandstats")).get("cmdstat_evalsha")
        return found["calls"] if found else 0

    before = await evalsha_calls()
    admissions = await limiter.admit_many(
        [
            Ask(1, 7, 0, "first"),
            Ask(1, 7, 0, "stored"),  # remembered: its comment, counting nothing
            Ask(1, 7, 0, "second"),
            Ask(1, 7, 0, "third"),  # the user's limit of 2, counted by the two before it
            Ask(2, 7, 60, "slow"),
            Ask(2, 7, 60, "slower"),  # slow mode, set by the one before it
            Ask(1, 7, 0, "first"),  # counted before in this very script: passes again
        ]
    )

    assert await evalsha_calls() - before == 1
    assert admissions[:3] == [ADMITTED, Admission(stored_comment_id=41), ADMITTED]
    assert 0 < admissions[3].wait_seconds <= 60
    assert admissions[4] == ADMITTED
    assert 0 < admissions[5].wait_seconds <= 60
    assert admissions[6] == ADMITTED
    assert await client().get("rl:user:1") == b"2"


async def test_idempotency_keys_are_found_and_unpublished_ones_claimed_once(protocol):
    store = RedisIdempotencyStore()
    await store.remember([(1, "key-a", 42), (2, "key-b", 43)])
    assert await store.get(1, "key-a") == 42
    assert await store.get(1, "key-b") is None
    await store.mark_published([(2, "key-b", 43)])
    await asyncio.sleep(0.01)
    assert await store.claim_unpublished(0) == [(1, "key-a", 42)]
    assert await store.claim_unpublished(0) == []


async def test_viewer_totals_add_up_the_gateways(protocol):
    registry = RedisViewerRegistry()
    await registry.report("gateway-1", {7: 3})
    await registry.report("gateway-2", {7: 2, 8: 1})
    assert await registry.totals([7, 8, 9]) == {7: 5, 8: 1, 9: 0}


async def test_recent_comments_load_append_and_forget_hidden_ones(protocol):
    recent = RedisRecentComments()
    assert await recent.read(7) == (0, None)
    await recent.load(7, 0, [{"id": "10", "content": "a"}, {"id": "11", "content": "b"}])
    await recent.append(7, [{"id": "12", "content": "c"}])
    generation, cached = await recent.read(7)
    assert cached is not None
    assert (cached.floor, [c["id"] for c in cached.comments]) == (0, ["10", "11", "12"])

    await recent.invalidate(7, hidden_ids=[11])
    generation, cached = await recent.read(7)
    assert (generation, cached) == (1, None)
    await recent.load(7, generation, [{"id": "10", "content": "a"}, {"id": "11", "content": "b"}])
    _, cached = await recent.read(7)
    assert cached is not None
    assert [c["id"] for c in cached.comments] == ["10"]


async def test_a_gateway_rereads_the_cache_only_when_any_gateway_changed_it(protocol):
    reader, writer = RedisRecentComments(), RedisRecentComments()  # two gateways
    await writer.load(7, 0, [{"id": "10", "content": "a"}])
    _, first = await reader.read(7)
    _, again = await reader.read(7)
    assert again is first  # unchanged: its version alone was read

    await writer.append(7, [{"id": "11", "content": "b"}])
    _, appended = await reader.read(7)
    assert appended is not None
    assert [c["id"] for c in appended.comments] == ["10", "11"]

    await writer.invalidate(7, hidden_ids=[10])
    generation, dropped = await reader.read(7)
    assert (generation, dropped) == (1, None)
    await writer.load(7, generation, [{"id": "10", "content": "a"}, {"id": "11", "content": "b"}])
    _, reloaded = await reader.read(7)
    assert reloaded is not None
    assert [c["id"] for c in reloaded.comments] == ["11"]


async def test_a_reader_that_read_before_sees_what_a_reader_reading_anew_sees(protocol):
    # Appends of every size, some past what a reader fetches by increments (CAPACITY),
    # with a hidden comment among them: the copy kept up by increments never differs.
    writer, keeping_up = RedisRecentComments(), RedisRecentComments()
    await writer.invalidate(7, hidden_ids=[5])
    generation, _ = await writer.read(7)
    await writer.load(7, generation, [{"id": str(n), "content": "x"} for n in range(1, 11)])
    next_id = 11
    for size in (1, 3, 0, CAPACITY - 2, 7, CAPACITY + 1, 2, 2 * CAPACITY + 3, 1):
        await writer.append(7, [{"id": str(next_id + n), "content": "y"} for n in range(size)])
        next_id += size
        _, kept = await keeping_up.read(7)
        _, anew = await RedisRecentComments().read(7)
        assert kept is not None and anew is not None
        assert (kept.floor, kept.comments) == (anew.floor, anew.comments)
    assert int(kept.comments[-1]["id"]) == next_id - 1
    assert len(kept.comments) == CAPACITY


async def test_the_scripts_load_again_after_redis_forgets_them(protocol):
    # A restarted (or failed-over) Redis has no scripts: each write loads its own again.
    store, recent = RedisIdempotencyStore(), RedisRecentComments()
    limiter = RedisRateLimiter(global_limit=(5, 60), stream_limit=(5, 30))
    await store.remember([(1, "before", 40)])
    await recent.load(7, 0, [{"id": "10", "content": "a"}])
    await limiter.admit(1, 7, 0, "before")
    await client().script_flush()

    await store.remember([(1, "after", 41), (1, "again", 42)])
    await recent.append(7, [{"id": "11", "content": "b"}, {"id": "12", "content": "c"}])
    assert await limiter.admit(1, 7, 0, "after") == Admission(stored_comment_id=41)
    assert (await store.get(1, "again"), await store.get(1, "before")) == (42, 40)
    _, cached = await recent.read(7)
    assert cached is not None
    assert [c["id"] for c in cached.comments] == ["10", "11", "12"]


async def test_what_a_flush_writes_expires_and_the_cache_keeps_its_bound(protocol):
    store, recent = RedisIdempotencyStore(), RedisRecentComments()
    await store.remember([(1, "key-a", 42)])
    await recent.append(7, [{"id": str(n), "content": "c"} for n in range(2 * CAPACITY + 5)])
    redis = client()
    assert 0 < await redis.ttl(remembered_key(1, "key-a")) <= IDEMPOTENCY_TTL
    assert 0 < await redis.ttl("idem:unpublished") <= IDEMPOTENCY_TTL
    assert 0 < await redis.ttl("recent:stream:7") <= RECENT_TTL
    # The newest first, trimmed to twice the capacity (hidden ids may need the spare).
    assert await redis.llen("recent:stream:7") == 2 * CAPACITY
    newest = orjson.loads(await redis.lindex("recent:stream:7", 0))
    assert newest["id"] == str(2 * CAPACITY + 4)
