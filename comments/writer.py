"""Group commit of posts: each flush is one atomic write (one statement on PostgreSQL).

While a write is in flight, new posts queue; the next write takes them all, after a few
milliseconds of gathering when posts come close together. Light load gets a write per
post, at once; heavy load gets large batches, so durability costs no throughput. The
rules that need the database (stream live, bans, blocked terms, parent) are decided with
what they read kept between flushes (rule_reads), and the write goes in only if the
rules' token is still the one they were read under, checked in the same snapshot
(storing): so they can never be stale.
"""

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from livecomments import metrics
from livecomments.errors import (
    Banned,
    ContentViolation,
    InvalidMessage,
    LiveCommentsError,
    RateLimited,
    Restricted,
    StreamEnded,
    StreamNotFound,
    Unavailable,
)
from moderation import term_hits
from moderation.holding import HoldRules, hold_reason
from moderation.selectors import BansInForce, restriction_in
from moderation.terms import REJECT, TermMatcher
from streams.chat_modes import chat_mode_refusal
from streams.models import Stream

from . import rule_reads, snowflake, state
from .models import Comment
from .rendering import WireComment, wire_comment
from .rules import clean_content
from .state.ratelimit import Ask
from .storing import LoopConnection, Owners, key_of, owners, store_rows

logger = logging.getLogger(__name__)

User = get_user_model()
T = TypeVar("T")


@dataclass(frozen=True)
class Post:
    author_id: int
    username: str
    stream_id: int
    content: str  # as sent: trimmed, or refused, once the post is admitted
    idempotency_key: str
    parent_id: int | None
    received_at: datetime
    # The stream's slow mode as it applies to this author: 0 for its host and moderators.
    slow_mode_seconds: int = 0

    def ask(self) -> Ask:
        return Ask(self.author_id, self.stream_id, self.slow_mode_seconds, self.idempotency_key)


@dataclass(frozen=True)
class Stored:
    comment_id: int
    # The new comment, or None when the key had stored one before (nothing to broadcast).
    comment: WireComment | None
    # Why it waits for a moderator (shown to nobody until approved), or None.
    held_reason: str | None = None


Outcome = Stored | LiveCommentsError


# Decisions made again because the rules changed meanwhile, before a flush gives up.
RULE_CHANGES_TOLERATED = 3


def store_posts(posts: list[Post]) -> list[Outcome]:
    """Check the database rules for each post and store those that pass, atomically."""
    now = timezone.now()
    reads = rule_reads.last()
    for _ in range(RULE_CHANGES_TOLERATED + 1):
        decision = _decide(posts, _facts(posts, reads, now), snowflake.generator(), now)
        outcomes, token = _store_decided(posts, decision, reads.token, now)
        if outcomes is not None:
            return outcomes
        reads = rule_reads.renewed(token)
    raise RuntimeError("the rules changed under every try of this flush")


def _store_decided(
    posts: list[Post], decision: "_Decision", token: int | None, now: datetime
) -> tuple[list[Outcome] | None, int | None]:
    """Store the decision's rows if the rules' token is still `token`: the outcomes (None if
    the token has changed and nothing was stored), and the token now."""
    # A term's hits count in the transaction of the comments it held, or none at all.
    counting = bool(decision.held_by_term or decision.refused_by_term)
    with transaction.atomic() if counting else contextlib.nullcontext():
        token_now, owners = store_rows(decision.rows.values(), token)
        if token_now != token:
            return None, token_now
        return _outcomes(posts, decision, owners, now), token_now


def _store_decided_again(
    posts: list[Post], decision: "_Decision", token: int | None, now: datetime
) -> list[Outcome]:
    """Store a decision whose statement failed on the event loop, through Django's connection.

    The same rows: if that statement did commit, its keys are found claimed by these very
    comments, which are then broadcast as new, not answered as stored before. (If the rules
    changed meanwhile too, the posts are decided again, and such a comment is answered as a
    client's retry of it would be.)
    """
    outcomes, _ = _store_decided(posts, decision, token, now)
    return outcomes if outcomes is not None else store_posts(posts)


@dataclass
class _Decision:
    """What the rules say of a flush's posts: a refusal, or a row to store, for each."""

    refusals: dict[int, LiveCommentsError]
    rows: dict[int, Comment]
    # Which blocked term acted on which post, for the rule hit counters.
    held_by_term: dict[int, int]
    refused_by_term: Counter[int]


@dataclass(frozen=True)
class _Facts:
    """What the rules read of the database for a flush's posts."""

    streams: dict[int, Stream]
    # (author, stream) pairs with a comment showing, on the streams whose shield holds
    # first comments: their next one is no first.
    commented: set[tuple[int, int]]
    bans: BansInForce
    moderators: set[int]
    joined: dict[int, datetime]  # when each author joined, where a stream asks an age
    blocked: TermMatcher
    parent_streams: dict[int, int]


def _facts(posts: list[Post], reads: rule_reads.RuleReads, now: datetime) -> _Facts:
    """What the rules read for these posts: from the kept reads, or the database."""
    stream_ids = {p.stream_id for p in posts}
    author_ids = {p.author_id for p in posts}
    parent_ids = {p.parent_id for p in posts if p.parent_id is not None}
    streams = reads.streams(stream_ids)
    shielded = [s.id for s in streams.values() if s.shield_saved is not None]
    aged = any(s.min_account_age_minutes for s in streams.values())
    return _Facts(
        streams=streams,
        commented=(
            set(
                Comment.objects.filter(
                    stream_id__in=shielded, author_id__in=author_ids, is_hidden=False
                ).values_list("author_id", "stream_id")
            )
            if shielded
            else set()
        ),
        bans=reads.bans(author_ids, now),
        moderators=reads.moderators(author_ids),
        joined=(
            dict(User.objects.filter(id__in=author_ids).values_list("id", "date_joined"))
            if aged
            else {}
        ),
        blocked=reads.blocked_terms(),
        parent_streams=(
            dict(Comment.objects.filter(id__in=parent_ids).values_list("id", "stream_id"))
            if parent_ids
            else {}
        ),
    )


def _facts_in_memory(
    posts: list[Post], reads: rule_reads.RuleReads, now: datetime
) -> _Facts | None:
    """`_facts` if the kept reads hold them all and no rule reads the database each time
    (a shield holding first comments, a minimum account age, a reply's parent); else None."""
    stream_ids = {p.stream_id for p in posts}
    if any(p.parent_id is not None for p in posts) or not reads.hold(
        stream_ids, {p.author_id for p in posts}
    ):
        return None
    streams = reads.streams(stream_ids).values()
    if any(s.shield_saved is not None or s.min_account_age_minutes for s in streams):
        return None
    return _facts(posts, reads, now)


def _decide(
    posts: list[Post], facts: _Facts, ids: snowflake.SnowflakeGenerator, now: datetime
) -> _Decision:
    streams = facts.streams
    rules = {s.id: HoldRules(s.hold_links, s.shield_saved is not None) for s in streams.values()}
    decision = _Decision({}, {}, {}, Counter())
    for index, post in enumerate(posts):
        stream = streams.get(post.stream_id)
        # The host and moderators: highlighted, and never limited by chat modes.
        staff = stream is not None and (
            post.author_id == stream.host_id or post.author_id in facts.moderators
        )
        refusal: LiveCommentsError | None = None
        if stream is None:
            refusal = StreamNotFound()
        elif not stream.is_live:
            refusal = StreamEnded()
        elif restriction := restriction_in(facts.bans, post.author_id, post.stream_id):
            refusal = Banned(retry_after=restriction.seconds_left(now))
        elif not staff and (
            mode_refusal := chat_mode_refusal(stream, facts.joined.get(post.author_id, now), now)
        ):
            refusal = Restricted(mode_refusal)
        elif (term := facts.blocked.find(post.content)) and term.action == REJECT:
            # Everyone, the host and moderators too: a refused word is refused.
            refusal = ContentViolation("The comment contains a blocked term.")
            decision.refused_by_term[term.id] += 1
        elif post.parent_id is not None and facts.parent_streams.get(post.parent_id) != stream.id:
            refusal = InvalidMessage("parentId is not a comment of this stream.")
        if refusal is not None:
            decision.refusals[index] = refusal
            continue
        assert stream is not None
        held = None
        if not staff:
            first_here = (post.author_id, post.stream_id) not in facts.commented
            held = hold_reason(rules[stream.id], post.content, first_here=first_here, term=term)
            if term is not None and held is not None:
                decision.held_by_term[index] = term.id
        decision.rows[index] = Comment(
            id=ids.next_id(),
            stream_id=post.stream_id,
            author_id=post.author_id,
            content=post.content,
            parent_id=post.parent_id,
            is_highlighted=staff,
            author_role=(
                Comment.AuthorRole.HOST
                if post.author_id == stream.host_id
                else Comment.AuthorRole.MODERATOR
                if staff
                else Comment.AuthorRole.VIEWER
            ),
            idempotency_key=post.idempotency_key,
            created_at=now,
            received_at=post.received_at,
            is_hidden=held is not None,
            review=Comment.Review.HELD if held else Comment.Review.NONE,
            held_reason=held or "",
        )
    return decision


def _outcomes(
    posts: list[Post], decision: _Decision, owners: Owners, now: datetime
) -> list[Outcome]:
    """Each post's outcome once its rows are stored, counting the terms' hits."""
    outcomes: dict[int, Outcome] = dict(decision.refusals)
    # A key stored before (a retry after a reconnect, or a twin on another gateway or in
    # this very flush) keeps its comment: the retry gets its id and review.
    held_reasons = {
        row.id: row.held_reason if row.review == Comment.Review.HELD else None
        for row in decision.rows.values()
    }
    held_reasons.update(held_reasons_of(set(owners.values()) - held_reasons.keys()))
    held_counts: Counter[int] = Counter()
    for index, row in decision.rows.items():
        post = posts[index]
        owner = owners[key_of(row)]
        comment = _render(row, post) if owner == row.id else None
        outcomes[index] = Stored(owner, comment, held_reasons[owner])
        # A retried key stored nothing new, so it counts nothing new.
        if comment is not None and index in decision.held_by_term:
            held_counts[decision.held_by_term[index]] += 1
    term_hits.count(held_counts, decision.refused_by_term, now)
    return [outcomes[index] for index in range(len(posts))]


def held_reasons_of(comment_ids: Iterable[int]) -> dict[int, str | None]:
    """Why each of these stored comments is held, or None if it is not."""
    comment_ids = set(comment_ids)
    if not comment_ids:
        return {}
    return {
        comment_id: reason if review == Comment.Review.HELD else None
        for comment_id, review, reason in Comment.objects.filter(id__in=comment_ids).values_list(
            "id", "review", "held_reason"
        )
    }


def _store_and_look_up(
    posts: list[Post], known_ids: list[int]
) -> tuple[list[Outcome], dict[int, str | None]]:
    """Store the admitted posts, and say which comments of keys stored before are held."""
    return (store_posts(posts) if posts else []), held_reasons_of(known_ids)


def _render(row: Comment, post: Post) -> WireComment:
    return wire_comment(
        comment_id=row.id,
        stream_id=row.stream_id,
        user_id=row.author_id,
        username=post.username,
        content=row.content,
        parent_id=row.parent_id,
        is_highlighted=row.is_highlighted,
        is_pinned=False,
        created_at=row.created_at,
        received_at=row.received_at,
        author_role=row.author_role,
    )


AfterCommit = Callable[[list[tuple[Post, Stored]]], Awaitable[None]]


class CommentWriter:
    def __init__(
        self, after_commit: AfterCommit, max_batch: int = 1000, gather_seconds: float = 0.0
    ) -> None:
        self._after_commit = after_commit
        self.max_batch = max_batch
        self.gather_seconds = gather_seconds
        self._queue: list[_Queued] = []
        self._task: asyncio.Task[None] | None = None
        # When the last post arrived (loop time), and whether it came within a gathering of
        # the one before it.
        self._last_arrival = -math.inf
        self._posts_are_frequent = False
        # PostgreSQL's statement of a flush can go on the loop (LoopConnection); SQLite's not.
        self._loop_connection = (
            LoopConnection() if connections[DEFAULT_DB_ALIAS].vendor == "postgresql" else None
        )
        # Posts of one (author, idempotency key) being stored right now: a twin waits for it.
        self._in_flight: dict[tuple[int, str], asyncio.Future[Any]] = {}

    async def once(self, author_id: int, key: str, post: Callable[[], Awaitable[T]]) -> T:
        """Run `post` for this author's key, unless a twin is in flight: then share its outcome.

        A twin (a retry sent before the first answer) must neither count against the limits
        nor store a second comment; it gets the first one's comment id, or its refusal.
        """
        twin = self._in_flight.get((author_id, key))
        if twin is not None:
            return await asyncio.shield(twin)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._in_flight[(author_id, key)] = future
        try:
            result = await post()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # a twin may not be waiting; don't warn about an unread error
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._in_flight[(author_id, key)]

    async def submit(self, post: Post, *, from_thread: bool = False) -> Stored:
        """Store the post; return once it is committed, or raise why it was refused.

        `from_thread`: the sender is a synchronous caller's thread, whose connection may be
        in a transaction that the write must join (a view's own, or a test's).
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._posts_are_frequent = now - self._last_arrival < self.gather_seconds
        self._last_arrival = now
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append(_Queued(post, future, contextvars.copy_context(), from_thread))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        outcome = await future
        if isinstance(outcome, LiveCommentsError):
            raise outcome
        return outcome

    async def drain(self) -> None:
        """Wait until everything submitted so far is written."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Write what is submitted, then let go of the loop's connection."""
        await self.drain()
        if self._loop_connection is not None:
            await self._loop_connection.close()

    async def _run(self) -> None:
        while self._queue:
            if self._posts_are_frequent and len(self._queue) < self.max_batch:
                # The posts that arrive meanwhile share this flush's transaction and round
                # trips: CPU per post falls, each post's ack waits at most this long more.
                # A post after a quiet spell is written at once: nothing would share it.
                await asyncio.sleep(self.gather_seconds)
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            # A flush runs in the context of a post it stores whose sender still waits: under
            # a synchronous view (the REST API) that is the request's thread, which the hop
            # to the database needs alive; the context this task began in may be a request
            # answered already.
            waiting = next((q for q in batch if not q.future.cancelled()), batch[0])
            await asyncio.create_task(self._flush(batch), context=waiting.context)

    async def _flush(self, batch: list["_Queued"]) -> None:
        posts = [queued.post for queued in batch]
        on_loop = self._loop_connection is not None and not any(q.from_thread for q in batch)
        started = time.perf_counter()
        try:
            outcomes, stored = await self._admit_and_store(posts, on_loop=on_loop)
        except Exception:
            logger.exception("storing %d comments failed", len(posts))
            outcomes = [Unavailable() for _ in posts]
            stored = []
        metrics.WRITER_FLUSH_SECONDS.observe(time.perf_counter() - started)
        metrics.WRITER_BATCH_SIZE.observe(len(posts))
        if stored:
            try:
                await self._after_commit(stored)
            except Exception:
                # Committed is committed: acks still go out; backfill falls back to the DB.
                logger.exception("after-commit work for %d comments failed", len(stored))
        for queued, outcome in zip(batch, outcomes, strict=True):
            if not queued.future.done():
                queued.future.set_result(outcome)

    async def _admit_and_store(
        self, posts: list[Post], *, on_loop: bool
    ) -> tuple[list[Outcome], list[tuple[Post, Stored]]]:
        """Admit the posts (rate limits, keys), store those admitted: each post's outcome,
        and the posts stored now with theirs.

        A post whose key stored a comment before (per the rate limiter) is answered with it
        and is not among those stored now: its comment went out when it was stored.
        """
        # One round trip to the rate limiter for the whole flush, not one per post.
        admissions = await state.rate_limiter().admit_many([post.ask() for post in posts])
        outcomes: dict[int, Outcome] = {}
        admitted: dict[int, Post] = {}  # with their content trimmed
        known: dict[int, int] = {}
        for index, (post, admission) in enumerate(zip(posts, admissions, strict=True)):
            if admission.stored_comment_id is not None:
                known[index] = admission.stored_comment_id
            elif admission.wait_seconds:
                outcomes[index] = RateLimited(admission.wait_seconds)
            else:
                # The content rule comes after the limits (SPEC §3: the seed's order).
                try:
                    admitted[index] = replace(post, content=clean_content(post.content))
                except ContentViolation as violation:
                    outcomes[index] = violation
        to_store = list(admitted.values())
        results = (
            await self._store_on_loop(to_store) if on_loop and to_store and not known else None
        )
        held_reasons: dict[int, str | None] = {}
        if results is None:
            # A flush the limits refused whole needs nothing of the database (its thread may
            # be busy): answered at once.
            results, held_reasons = (
                await self._store_in_thread(to_store, list(known.values()))
                if to_store or known
                else ([], {})
            )
        stored: list[tuple[Post, Stored]] = []
        for (index, post), result in zip(admitted.items(), results, strict=True):
            outcomes[index] = result
            if isinstance(result, Stored):
                stored.append((post, result))
        for index, comment_id in known.items():
            outcomes[index] = Stored(comment_id, None, held_reasons.get(comment_id))
        return [outcomes[index] for index in range(len(posts))], stored

    async def _store_in_thread(
        self, posts: list[Post], known_ids: list[int]
    ) -> tuple[list[Outcome], dict[int, str | None]]:
        found = await database_sync_to_async(_store_and_look_up)(posts, known_ids)
        metrics.WRITER_FLUSHES.labels("thread").inc()
        return found

    async def _store_on_loop(self, posts: list[Post]) -> list[Outcome] | None:
        """Decide and store the posts on the event loop, when the kept reads hold all the
        rules need and no term's hits are to count; None when the database thread must."""
        assert self._loop_connection is not None
        now = timezone.now()
        reads = rule_reads.last()
        facts = _facts_in_memory(posts, reads, now)
        ids = snowflake.claimed_generator()
        if facts is None or ids is None:
            return None
        decision = _decide(posts, facts, ids, now)
        if decision.held_by_term or decision.refused_by_term:
            return None  # counted in the transaction of the comments they held
        rows = list(decision.rows.values())
        try:
            token, claimed = await self._loop_connection.store_rows(rows, reads.token)
        except psycopg.Error:
            logger.warning(
                "storing on the event loop failed; trying the database thread", exc_info=True
            )
            outcomes = await database_sync_to_async(_store_decided_again)(
                posts, decision, reads.token, now
            )
            metrics.WRITER_FLUSHES.labels("thread").inc()
            return outcomes
        if token != reads.token:
            # Nothing stored: decided again through the thread, under the new rules from
            # the start rather than after one more statement under the old token.
            rule_reads.renewed(token)
            return None
        metrics.WRITER_FLUSHES.labels("loop").inc()
        if len(claimed) == len(rows):
            return _outcomes(posts, decision, owners(rows, claimed), now)  # reads nothing
        # A key stored before: which comment owns it, and its review, are read through Django.
        return await database_sync_to_async(
            lambda: _outcomes(posts, decision, owners(rows, claimed), now)
        )()


@dataclass(frozen=True)
class _Queued:
    post: Post
    future: "asyncio.Future[Outcome]"
    context: contextvars.Context  # its sender's
    from_thread: bool  # the sender is a synchronous caller's thread (CommentWriter.submit)
