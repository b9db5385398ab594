"""Load generator processes: each opens its share of viewer and poster sockets.

A worker is one process with one event loop. Viewers join the stream and record, for
every live comment they receive, when it arrived; posters send comments on a fixed
schedule, each comment's content carrying its global number and the microsecond it was
sent ("lb:<run>:<number>:<sent µs>"), so a viewer can work out the post→display latency
on the same clock. Nothing is sampled: each viewer keeps a bitmap of the comment
numbers it saw, and the coordinator intersects those with the accepted ones.

Workers talk to the coordinator through a shared counter array (progress, read without
locks, approximate while running) and put one result dict on a queue at the end.
"""

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

ORIGIN = "http://127.0.0.1"
_CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake)

# Counter slots per worker in the shared array.
CONNECTED, JOINED, POSTERS_JOINED, FAILED, CLOSED, SENT, ACKED, ACCEPTED, DELIVERED = range(9)
SLOTS = 9

# Frames identical across sockets (every viewer gets the same batch) are parsed once.
PARSED_CACHE_SIZE = 512


@dataclass(frozen=True)
class WorkerPlan:
    index: int
    run_id: str
    stream_id: str
    viewer_urls: tuple[str, ...]
    poster_urls: tuple[str, ...]
    poster_tokens: tuple[str, ...]
    first_comment: int
    comment_count: int
    total_comments: int
    duration: float
    # Absolute time.time() after which the worker stops by itself whatever happens.
    deadline: float
    handshake_concurrency: int = 50


class _Worker:
    def __init__(self, plan: WorkerPlan, counters, open_viewers, start_at, stop) -> None:
        self.plan = plan
        self.counters = counters
        self.base = plan.index * SLOTS
        self.open_viewers = open_viewers
        self.start_at = start_at
        self.stop = stop
        self.stopping = False
        self.bitmap_bytes = (plan.total_comments + 7) // 8
        self.viewer_bitmaps = [bytearray(self.bitmap_bytes) for _ in plan.viewer_urls]
        self.viewer_joined = [False] * len(plan.viewer_urls)
        self.accepted = bytearray(self.bitmap_bytes)
        self.latency_ms: Counter[int] = Counter()
        self.ack_ms: Counter[int] = Counter()
        self.refusals: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.duplicates = 0
        self.last_delivery = 0.0
        self.send_lag_max = 0.0
        self.send_failures = 0
        self.pending: dict[str, tuple[int, float]] = {}
        self.parsed: dict[bytes, tuple[str, list[tuple[int, int]]]] = {}
        self.sockets: list[ClientConnection] = []
        self.handshakes = asyncio.Semaphore(plan.handshake_concurrency)
        self.join_frame = orjson.dumps(
            {"type": "join_stream", "payload": {"streamId": plan.stream_id}}
        ).decode()

    def count(self, slot: int, by: int = 1) -> None:
        self.counters[self.base + slot] += by

    def should_stop(self) -> bool:
        return self.stop.is_set() or time.time() > self.plan.deadline

    # --- Frames -----------------------------------------------------------------------

    def parse(self, data: bytes) -> tuple[str, list[tuple[int, int]]]:
        """Return (kind, [(comment number, sent µs)]) of a frame; kind is the type or "backfill"."""
        found = self.parsed.get(data)
        if found is not None:
            return found
        message = orjson.loads(data)
        kind = message.get("type", "")
        payload = message.get("payload") or {}
        entries: list[tuple[int, int]] = []
        if kind == "comments_batch":
            if payload.get("isBackfill"):
                kind = "backfill"
            else:
                prefix = f"lb:{self.plan.run_id}:"
                for comment in payload.get("comments", ()):
                    content = comment.get("content", "")
                    if content.startswith(prefix):
                        _, _, number, sent_us = content.split(":")
                        entries.append((int(number), int(sent_us)))
        elif kind == "error":
            kind = f"error:{payload.get('code')}"
        found = (kind, entries)
        if kind != "ack":
            if len(self.parsed) >= PARSED_CACHE_SIZE:
                self.parsed.clear()
            self.parsed[data] = found
        return found

    def on_viewer_frame(self, slot: int, data: bytes, now: float) -> None:
        kind, entries = self.parse(data)
        if entries:
            bitmap = self.viewer_bitmaps[slot]
            now_us = now * 1e6
            fresh = 0
            for number, sent_us in entries:
                byte, bit = divmod(number, 8)
                if bitmap[byte] >> bit & 1:
                    self.duplicates += 1
                    continue
                bitmap[byte] |= 1 << bit
                fresh += 1
                self.latency_ms[max(0, int((now_us - sent_us) / 1000))] += 1
            self.count(DELIVERED, fresh)
            self.last_delivery = now
        elif kind == "backfill" and not self.viewer_joined[slot]:
            self.viewer_joined[slot] = True
            self.count(JOINED)
        elif kind.startswith("error:"):
            self.errors[kind[6:]] += 1

    def on_poster_frame(self, data: bytes, now: float) -> None:
        if b'"ack"' not in data[:40]:
            kind, _ = self.parse(data)
            if kind.startswith("error:"):
                self.errors[kind[6:]] += 1
            return
        payload = orjson.loads(data)["payload"]
        sent = self.pending.pop(payload.get("idempotencyKey"), None)
        if sent is None:
            return
        number, sent_at = sent
        self.count(ACKED)
        self.ack_ms[max(0, int((now - sent_at) * 1000))] += 1
        if payload.get("status") == "accepted":
            byte, bit = divmod(number, 8)
            self.accepted[byte] |= 1 << bit
            self.count(ACCEPTED)
        else:
            self.refusals[payload.get("code") or payload.get("status", "?")] += 1

    # --- Sockets ----------------------------------------------------------------------

    async def open(self, url: str, token: str | None) -> ClientConnection:
        headers = {"Authorization": f"Token {token}"} if token else None
        async with self.handshakes:
            ws = await connect(
                url,
                origin=ORIGIN,
                additional_headers=headers,
                # Browsers send no pings; a slow gateway must not make the generator hang up.
                ping_interval=None,
                # Like a browser that does not offer permessage-deflate: the generator's
                # CPU stays on measuring, not inflating.
                compression=None,
                open_timeout=60,
                close_timeout=2,
                max_size=None,
                proxy=None,
            )
        self.sockets.append(ws)
        self.count(CONNECTED)
        await ws.send(self.join_frame)
        return ws

    def connect_failed(self, error: Exception) -> None:
        status = getattr(getattr(error, "response", None), "status_code", None)
        self.errors[f"connect:HTTP {status}" if status else f"connect:{type(error).__name__}"] += 1
        self.count(FAILED)

    async def run_viewer(self, slot: int, url: str) -> None:
        try:
            ws = await self.open(url, None)
            while True:
                data = await ws.recv(decode=False)
                self.on_viewer_frame(slot, data, time.time())
        except ConnectionClosed:
            if not self.stopping:
                self.count(CLOSED)
        except _CONNECT_ERRORS as error:
            self.connect_failed(error)

    async def run_poster(self, url: str, token: str, ready: asyncio.Future) -> None:
        try:
            ws = await self.open(url, token)
        except _CONNECT_ERRORS as error:
            self.connect_failed(error)
            ready.set_result(None)
            return
        joined = False
        try:
            while True:
                data = await ws.recv(decode=False)
                if not joined and self.parse(data)[0] == "backfill":
                    joined = True
                    self.count(POSTERS_JOINED)
                    ready.set_result(ws)
                else:
                    self.on_poster_frame(data, time.time())
        except ConnectionClosed:
            if not self.stopping:
                self.count(CLOSED)
        finally:
            if not ready.done():
                ready.set_result(None)

    async def post_on_schedule(self, posters: list[ClientConnection]) -> None:
        while self.start_at.value == 0:
            if self.should_stop():
                return
            await asyncio.sleep(0.02)
        start = self.start_at.value
        count = self.plan.comment_count
        interval = self.plan.duration / count
        stream_id = self.plan.stream_id
        for i in range(count):
            due = start + i * interval
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.send_lag_max = max(self.send_lag_max, -delay)
            if self.should_stop():
                return
            number = self.plan.first_comment + i
            key = str(uuid.uuid4())
            sent_at = time.time()
            content = f"lb:{self.plan.run_id}:{number}:{int(sent_at * 1e6)}"
            self.pending[key] = (number, sent_at)
            frame = orjson.dumps(
                {
                    "type": "post_comment",
                    "payload": {
                        "streamId": stream_id,
                        "content": content,
                        "idempotencyKey": key,
                    },
                }
            ).decode()
            try:
                await posters[i % len(posters)].send(frame)
                self.count(SENT)
            except ConnectionClosed:
                self.pending.pop(key, None)
                self.send_failures += 1

    async def run(self) -> dict:
        plan = self.plan
        # Posters first: they warm the gateway up (database pool, Redis, imports), so the
        # memory the viewers add afterwards is what a socket costs.
        tasks, readies = [], []
        for url, token in zip(plan.poster_urls, plan.poster_tokens, strict=True):
            ready = asyncio.get_running_loop().create_future()
            readies.append(ready)
            tasks.append(asyncio.create_task(self.run_poster(url, token, ready)))
        posters = [ws for ws in await asyncio.gather(*readies) if ws is not None]
        while not self.open_viewers.is_set() and not self.should_stop():
            await asyncio.sleep(0.02)
        tasks.extend(
            asyncio.create_task(self.run_viewer(slot, url))
            for slot, url in enumerate(plan.viewer_urls)
        )
        if posters and plan.comment_count:
            await self.post_on_schedule(posters)
        while not self.should_stop():
            await asyncio.sleep(0.05)
        self.stopping = True
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.result()

    def result(self) -> dict:
        joined_slots = [slot for slot, joined in enumerate(self.viewer_joined) if joined]
        return {
            "index": self.plan.index,
            "viewer_bitmaps": b"".join(bytes(self.viewer_bitmaps[slot]) for slot in joined_slots),
            "viewers_joined": len(joined_slots),
            "accepted": bytes(self.accepted),
            "latency_ms": dict(self.latency_ms),
            "ack_ms": dict(self.ack_ms),
            "refusals": dict(self.refusals),
            "errors": dict(self.errors),
            "unacked": len(self.pending),
            "send_failures": self.send_failures,
            "duplicates": self.duplicates,
            "last_delivery": self.last_delivery,
            "send_lag_max_ms": round(self.send_lag_max * 1000, 1),
        }


def worker_main(plan: WorkerPlan, counters, open_viewers, start_at, stop, results) -> None:
    """Process entry point: run the worker's sockets, then hand back what it measured."""
    try:
        result = asyncio.run(_Worker(plan, counters, open_viewers, start_at, stop).run())
    except BaseException as error:
        results.put({"index": plan.index, "crash": repr(error)})
        raise
    results.put(result)
