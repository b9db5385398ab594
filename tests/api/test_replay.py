"""The replay API (SPEC §4): windows of a stream's chat by offset, and its moments."""

import math
import random
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from comments.comment_seconds import count_settled, start_ms
from comments.models import Comment, CommentSecond, ReactionSecond
from comments.replay import MAX_BUCKETS, MAX_WINDOW_MS, PAGE_LIMIT, bucket_ms
from comments.snowflake import timestamp_ms
from comments.state.revision import bump_replay_revision
from moderation.models import ModerationAction
from moderation.services import approve_comment
from tests.replay import comment_at, end, started

pytestmark = pytest.mark.django_db


def replay(client, stream, headers=None, **params):
    return client.get(reverse("api:replay", args=[stream.id]), params, headers=headers or {})


def contents(response):
    return [c["content"] for c in response.json()["comments"]]


def test_a_window_holds_the_comments_received_in_it_by_offset(api, alice, bob, stream):
    comment_at(stream, alice, 999, "before")
    first = comment_at(stream, alice, 1_000, "at the start")
    comment_at(stream, bob, 1_500, "reply", parent=first)
    comment_at(stream, bob, 1_999, "just in")
    comment_at(stream, alice, 2_000, "at the end, out")

    response = replay(api(), stream, **{"from": 1000, "to": 2000})

    assert response.status_code == 200
    body = response.json()
    assert contents(response) == ["at the start", "reply", "just in"]
    assert [c["offsetMs"] for c in body["comments"]] == [1000, 1500, 1999]
    assert body["comments"][1]["parentId"] == str(first.id)
    assert body["next"] is None


def test_a_replayed_comment_is_the_comments_apis_comment_plus_its_offset(api, alice, bob, stream):
    made = comment_at(stream, alice, 5_000, "same shape", is_highlighted=True)
    reply = comment_at(stream, bob, 6_000, "a reply, edited", parent=made)
    # A whole second, which isoformat writes without its microseconds.
    reply.created_at = reply.created_at.replace(microsecond=0)
    reply.edited_at = reply.created_at + timedelta(seconds=3)
    reply.save()

    replayed = replay(api(), stream, **{"from": 0, "to": 10_000}).json()["comments"]
    listed = api().get(reverse("api:comments", args=[stream.id])).json()["comments"]

    assert replayed == [{**listed[0], "offsetMs": 5_000}, {**listed[1], "offsetMs": 6_000}]
    assert replayed[0]["id"] == str(made.id) and replayed[0]["isHighlighted"] is True
    assert replayed[1]["parentId"] == str(made.id) and replayed[1]["editedAt"] is not None


def test_comments_come_by_offset_when_stored_out_of_order(api, alice, bob, stream):
    # Two gateways: bob's post was received first but its writer stored it later.
    comment_at(stream, alice, 3_000, "second", store_delay_ms=1)
    comment_at(stream, bob, 2_990, "first", store_delay_ms=40)

    assert contents(replay(api(), stream, **{"from": 0, "to": 5_000})) == ["first", "second"]


def test_hidden_held_denied_and_deleted_comments_never_appear(api, alice, stream):
    comment_at(stream, alice, 100, "shown")
    comment_at(stream, alice, 200, "hidden", is_hidden=True)
    comment_at(stream, alice, 300, "held", is_hidden=True, review=Comment.Review.HELD)
    comment_at(stream, alice, 400, "denied", is_hidden=True, review=Comment.Review.DENIED)

    assert contents(replay(api(), stream, **{"from": 0, "to": 1_000})) == ["shown"]


def test_reactions_come_per_second_of_the_window(api, stream):
    start_s = int(stream.created_at.timestamp())
    # Offsets are from the stream's start, so a second's offset is seldom a round number.
    offset = lambda s: (start_s + s) * 1000 - int(stream.created_at.timestamp() * 1000)  # noqa: E731
    for s, kind, n in [(1, "like", 3), (1, "love", 1), (2, "wow", 2), (30, "like", 9)]:
        ReactionSecond.objects.create(
            stream=stream, second=start_s + s, reaction_type=kind, count=n
        )

    body = replay(api(), stream, **{"from": 0, "to": 10_000}).json()

    assert body["reactions"] == [
        {"offsetMs": offset(1), "counts": {"like": 3, "love": 1}},
        {"offsetMs": offset(2), "counts": {"wow": 2}},
    ]


def test_a_busy_window_comes_in_pages(api, alice, stream):
    for n in range(PAGE_LIMIT + 5):
        comment_at(stream, alice, n, f"c{n}")

    first = replay(api(), stream, **{"from": 0, "to": 60_000}).json()
    rest = replay(api(), stream, **{"from": 0, "to": 60_000, "after": first["next"]}).json()

    assert len(first["comments"]) == PAGE_LIMIT
    assert [c["content"] for c in rest["comments"]] == [
        f"c{n}" for n in range(PAGE_LIMIT, PAGE_LIMIT + 5)
    ]
    assert rest["next"] is None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"from": "0"},
        {"from": "-5", "to": "10"},
        {"from": "abc", "to": "10"},
        {"from": "10", "to": "10"},
        {"from": "20", "to": "10"},
        {"from": "0", "to": str(MAX_WINDOW_MS + 1)},
        {"from": "0", "to": "10", "after": "x"},
    ],
)
def test_bad_parameters_are_invalid_message(api, stream, params):
    response = replay(api(), stream, **params)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MESSAGE"


def test_an_unknown_stream_is_stream_not_found(api):
    response = api().get(reverse("api:replay", args=[424242]), {"from": 0, "to": 10})
    assert response.status_code == 404 and response.json()["code"] == "STREAM_NOT_FOUND"
    response = api().get(reverse("api:moments", args=[424242]))
    assert response.status_code == 404 and response.json()["code"] == "STREAM_NOT_FOUND"


def test_an_ended_streams_window_is_tagged_and_answered_304(api, alice, stream):
    comment_at(stream, alice, 100)
    end(stream)

    first = replay(api(), stream, **{"from": 0, "to": 1_000})
    again = replay(
        api(), stream, headers={"If-None-Match": first["ETag"]}, **{"from": 0, "to": 1_000}
    )
    other = replay(
        api(), stream, headers={"If-None-Match": first["ETag"]}, **{"from": 0, "to": 2_000}
    )

    assert first.status_code == 200 and first["ETag"]
    assert again.status_code == 304
    assert other.status_code == 200


def test_a_live_streams_window_is_not_tagged(api, alice, stream):
    comment_at(stream, alice, 100)

    response = replay(api(), stream, **{"from": 0, "to": 1_000})

    assert response.status_code == 200 and not response.has_header("ETag")


def test_a_hide_after_the_end_shows_at_once(
    api, alice, moderator, stream, django_capture_on_commit_callbacks
):
    kept = comment_at(stream, alice, 100, "kept")
    gone = comment_at(stream, alice, 200, "hidden a day later")
    end(stream)
    window = {"from": 0, "to": 1_000}
    before = replay(api(), stream, **window)
    moments_before = api().get(reverse("api:moments", args=[stream.id]))
    assert contents(before) == ["kept", "hidden a day later"]

    with django_capture_on_commit_callbacks(execute=True):
        hidden = api(moderator).post(reverse("api:comment-hide", args=[gone.id]))
    assert hidden.status_code == 200

    after = replay(api(), stream, headers={"If-None-Match": before["ETag"]}, **window)
    assert after.status_code == 200
    assert [c["id"] for c in after.json()["comments"]] == [str(kept.id)]
    moments = api().get(
        reverse("api:moments", args=[stream.id]), headers={"If-None-Match": moments_before["ETag"]}
    )
    assert moments.status_code == 200
    assert moments.json()["buckets"][0]["comments"] == 1


def test_moments_count_comments_and_reactions_per_bucket(api, alice, stream):
    end(stream, after_ms=10 * 60_000)  # ten minutes: 2-second buckets
    start_s = int(stream.created_at.timestamp()) + 1  # the first whole second after the start
    for offset in (100, 1_500, 4_100):
        comment_at(stream, alice, offset)
    comment_at(stream, alice, 4_200, is_hidden=True)
    ReactionSecond.objects.create(stream=stream, second=start_s + 5, reaction_type="like", count=7)

    body = api().get(reverse("api:moments", args=[stream.id])).json()

    assert body["bucketMs"] == 2_000
    assert len(body["buckets"]) == 300
    assert body["buckets"][:3] == [
        {"offsetMs": 0, "comments": 2, "reactions": 0},
        {"offsetMs": 2_000, "comments": 0, "reactions": 0},
        {"offsetMs": 4_000, "comments": 1, "reactions": 7},  # at 5.x s
    ]
    assert sum(b["reactions"] for b in body["buckets"]) == 7


def test_moments_of_an_ended_stream_are_tagged_and_answered_304(api, stream):
    end(stream)
    url = reverse("api:moments", args=[stream.id])

    first = api().get(url)

    assert first.status_code == 200
    assert api().get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304


@pytest.mark.parametrize("hours", [0.01, 1, 3, 12, 48, 1000])
def test_a_stream_has_a_few_hundred_buckets_at_most(hours):
    duration = int(hours * 3600 * 1000)
    assert duration / bucket_ms(duration) <= MAX_BUCKETS


def test_a_window_costs_three_queries_and_a_cached_one_costs_one(
    api, alice, bob, stream, django_assert_num_queries
):
    for n in range(20):
        comment_at(stream, alice if n % 2 else bob, n * 100)
    end(stream)
    client = api()

    with django_assert_num_queries(3):  # the stream, the comments (with authors), reactions
        replay(client, stream, **{"from": 0, "to": 5_000})
    with django_assert_num_queries(1):  # the stream: the window comes from the cache
        replay(client, stream, **{"from": 0, "to": 5_000})


def moments_of(client, stream, headers=None):
    return client.get(reverse("api:moments", args=[stream.id]), headers=headers or {})


def said(moments):
    """The buckets with comments: (offset, comments)."""
    return [(b["offsetMs"], b["comments"]) for b in moments.json()["buckets"] if b["comments"]]


def visible_per_bucket(stream, size):
    """The moments' comments counted one by one: each visible comment by its id's time."""
    duration = int(stream.ended_at.timestamp() * 1000) - start_ms(stream)
    counts = [0] * math.ceil(duration / size)
    for comment in Comment.objects.filter(stream=stream, is_hidden=False):
        index = (timestamp_ms(comment.id) - start_ms(stream)) // size
        counts[min(index, len(counts) - 1)] += 1
    return counts


def test_moments_from_the_counted_seconds_are_the_comments_counted_one_by_one(api, alice, stream):
    end(started(stream, ago_ms=20 * 60_000), after_ms=15 * 60_000)  # 5-second buckets
    rng = random.Random(16)
    flags = [{}, {}, {}, {"is_hidden": True}, {"is_hidden": True, "review": Comment.Review.HELD}]
    for _ in range(300):
        comment_at(stream, alice, rng.randrange(15 * 60_000), **rng.choice(flags))
    expected = visible_per_bucket(stream, 5_000)
    # Its gateways counted the first half of it while it was live; the read counts the rest.
    with transaction.atomic():
        count_settled(stream.id, start_ms(stream), start_ms(stream) + 7 * 60_000 + 500, wait=True)
    counted = sum(CommentSecond.objects.filter(stream=stream).values_list("count", flat=True))
    assert 0 < counted < 300

    body = moments_of(api(), stream).json()

    assert body["bucketMs"] == 5_000
    assert [b["comments"] for b in body["buckets"]] == expected
    assert sum(CommentSecond.objects.filter(stream=stream).values_list("count", flat=True)) == 300


def test_a_hide_and_an_approval_after_the_end_show_at_once_in_counted_moments(
    api, alice, moderator, stream, django_capture_on_commit_callbacks
):
    end(started(stream, ago_ms=3 * 60_000), after_ms=60_000)
    comment_at(stream, alice, 1_000, "kept")
    gone = comment_at(stream, alice, 1_200, "hidden a day later")
    held = comment_at(
        stream, alice, 3_000, "approved later", is_hidden=True, review=Comment.Review.HELD
    )
    before = moments_of(api(), stream)
    assert said(before) == [(1_000, 2)]  # one-second buckets
    counted = CommentSecond.objects.filter(stream=stream)
    assert sum(counted.values_list("count", flat=True)) == 3  # hidden ones too

    with django_capture_on_commit_callbacks(execute=True):
        assert api(moderator).post(reverse("api:comment-hide", args=[gone.id])).status_code == 200
        approve_comment(held.id, actor=moderator, source=ModerationAction.Source.ADMIN)

    after = moments_of(api(), stream, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200
    assert said(after) == [(1_000, 1), (3_000, 1)]
    assert sum(counted.values_list("count", flat=True)) == 3  # nothing was counted again


def test_moments_of_a_counted_stream_read_the_counts_not_the_comments(
    api, alice, stream, django_assert_num_queries
):
    end(started(stream, ago_ms=3 * 60_000), after_ms=60_000)
    for n in range(20):
        comment_at(stream, alice, n * 1_000, is_hidden=n % 5 == 0)
    client = api()
    moments_of(client, stream)  # counts them
    bump_replay_revision([stream.id])  # nothing cached

    # The stream; in a transaction (two savepoint statements): the stream's count, locked,
    # the seconds, the comments not counted yet, the hidden ones; the reactions.
    with django_assert_num_queries(8):
        body = moments_of(client, stream).json()
    assert sum(b["comments"] for b in body["buckets"]) == 16
