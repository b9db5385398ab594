"""Load generator processes: each opens its share of viewer and poster sockets.

A worker is one process with one event loop. Viewers join the stream and record, for
every live comment they receive, when it arrived; posters send comments on a fixed
schedule, each comment's content carrying its global number and the microsecond it was
sent ("lb:<run>:<number>:<sent µs>"), so a viewer can work out the post→display latency
on the same clock. Nothing is sampled: each viewer keeps a bitmap of the comment
numbers it saw, and the coordinator intersects those with the accepted ones.

Workers talk to the coordinator through a shared counter array (progress, read without
locks, approximate while running) and put one result dict on a queue at the end.

The generator shares the machine with the gateways, so its CPU per frame is CPU the
gateways lose, and a late read shows as latency. Sockets therefore run on websockets'
Sans-I/O protocol inside a plain asyncio.Protocol on uvloop: a frame is handled in
data_received, with no task or future per message. While the run lasts a viewer only
notes which frame came when; the per-comment accounting (bitmaps, duplicates, latency)
happens after the run, when it takes nothing from the gateways.
"""

import asyncio
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import uvloop
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from . import chat

ORIGIN = Origin("http://127.0.0.1")
OPEN_TIMEOUT = 60.0
_CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake)

# Counter slots per worker in the shared array.
CONNECTED, JOINED, POSTERS_JOINED, FAILED, CLOSED, SENT, ACKED, ACCEPTED, DELIVERED = range(9)
SLOTS = 9

# Frames identical across sockets (every viewer gets the same batch) are parsed once;
# the cache maps a frame's bytes to its parse and is bounded, the parses themselves kept.
PARSED_CACHE_SIZE = 512


class _Socket(asyncio.Protocol):
    """One client WebSocket: `on_message(data, received_at)` is called for each message."""

    def __init__(self, url: str, token: str | None, on_message: Callable[[bytes, float], None]):
        loop = asyncio.get_running_loop()
        self.protocol = ClientProtocol(parse_uri(url), origin=ORIGIN, max_size=None)
        self.request = self.protocol.connect()
        if token:
            self.request.headers["Authorization"] = f"Token {token}"
        self.on_message = on_message
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.fragments: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.protocol.send_request(self.request)
        self.flush()

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self.handle_events()

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self.handle_events()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionResetError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def handle_events(self) -> None:
        received_at = time.time()
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                else:
                    self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode in (
                Opcode.TEXT,
                Opcode.BINARY,
                Opcode.CONT,
            ):
                if not event.fin:
                    self.fragments.append(bytes(event.data))
                elif self.fragments:
                    message = b"".join([*self.fragments, event.data])
                    self.fragments.clear()
                    self.on_message(message, received_at)
                else:
                    self.on_message(bytes(event.data), received_at)
        # Pongs, close replies and the end of the stream are the protocol's to write.
        self.flush()

    def flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            else:
                self.transport.close()

    def send(self, text: str) -> bool:
        """Send a text message; False when the connection is no longer open."""
        if self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(text.encode())
        self.flush()
        return True

    def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self.flush()
        if self.transport is not None:
            self.transport.close()


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
    # Append a line of chat after the number (loadbench.rules), for the rules to read.
    chat_text: bool = False


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
        # What each viewer received while the run lasted: frame numbers and arrival times.
        self.viewer_frames = [array("I") for _ in plan.viewer_urls]
        self.viewer_arrivals = [array("d") for _ in plan.viewer_urls]
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
        self.parsed: dict[bytes, tuple[str, int]] = {}
        # Each distinct frame's (comment number, sent µs) pairs, by frame number.
        self.frame_entries: list[list[tuple[int, int]]] = []
        self.sockets: list[_Socket] = []
        self.handshakes = asyncio.Semaphore(plan.handshake_concurrency)
        self.join_frame = orjson.dumps(
            {"type": "join_stream", "payload": {"streamId": plan.stream_id}}
        ).decode()

    def count(self, slot: int, by: int = 1) -> None:
        self.counters[self.base + slot] += by

    def should_stop(self) -> bool:
        return self.stop.is_set() or time.time() > self.plan.deadline

    # --- Frames -----------------------------------------------------------------------

    def parse(self, data: bytes) -> tuple[str, int]:
        """Return (kind, frame number) of a frame; kind is the type or "backfill".

        The frame number indexes `frame_entries`: the test comments the frame carries.
        """
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
                        _, _, number, sent_us = content.split(" ", 1)[0].split(":")
                        entries.append((int(number), int(sent_us)))
        elif kind == "error":
            kind = f"error:{payload.get('code')}"
        found = (kind, len(self.frame_entries))
        self.frame_entries.append(entries)
        if kind != "ack":
            if len(self.parsed) >= PARSED_CACHE_SIZE:
                self.parsed.clear()
            self.parsed[data] = found
        return found

    def on_viewer_frame(self, slot: int, data: bytes, now: float) -> None:
        kind, frame = self.parse(data)
        entries = self.frame_entries[frame]
        if entries:
            self.viewer_frames[slot].append(frame)
            self.viewer_arrivals[slot].append(now)
            self.count(DELIVERED, len(entries))
            self.last_delivery = now
        elif kind == "backfill" and not self.viewer_joined[slot]:
            self.viewer_joined[slot] = True
            self.count(JOINED)
        elif kind.startswith("error:"):
            self.errors[kind[6:]] += 1

    def account_viewer(self, slot: int) -> bytearray:
        """One viewer's bitmap of the comments it saw; counts duplicates and latencies."""
        bitmap = bytearray(self.bitmap_bytes)
        latency_ms = self.latency_ms
        for frame, arrival in zip(
            self.viewer_frames[slot], self.viewer_arrivals[slot], strict=True
        ):
            arrival_us = arrival * 1e6
            for number, sent_us in self.frame_entries[frame]:
                byte, bit = divmod(number, 8)
                if bitmap[byte] >> bit & 1:
                    self.duplicates += 1
                    continue
                bitmap[byte] |= 1 << bit
                latency_ms[max(0, int((arrival_us - sent_us) / 1000))] += 1
        return bitmap

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

    async def open(
        self, url: str, token: str | None, on_message: Callable[[bytes, float], None]
    ) -> _Socket:
        uri = parse_uri(url)
        socket = _Socket(url, token, on_message)
        async with self.handshakes:
            await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(lambda: socket, uri.host, uri.port),
                OPEN_TIMEOUT,
            )
            await asyncio.wait_for(socket.opened, OPEN_TIMEOUT)
        self.sockets.append(socket)
        self.count(CONNECTED)
        socket.send(self.join_frame)
        return socket

    def connect_failed(self, error: Exception) -> None:
        status = getattr(getattr(error, "response", None), "status_code", None)
        self.errors[f"connect:HTTP {status}" if status else f"connect:{type(error).__name__}"] += 1
        self.count(FAILED)

    async def run_viewer(self, slot: int, url: str) -> None:
        def on_message(data: bytes, received_at: float) -> None:
            self.on_viewer_frame(slot, data, received_at)

        try:
            socket = await self.open(url, None, on_message)
        except _CONNECT_ERRORS as error:
            self.connect_failed(error)
            return
        await socket.closed
        if not self.stopping:
            self.count(CLOSED)

    async def run_poster(self, url: str, token: str, ready: asyncio.Future) -> None:
        backfilled = asyncio.get_running_loop().create_future()

        def on_message(data: bytes, received_at: float) -> None:
            if not backfilled.done() and self.parse(data)[0] == "backfill":
                backfilled.set_result(None)
            else:
                self.on_poster_frame(data, received_at)

        try:
            socket = await self.open(url, token, on_message)
        except _CONNECT_ERRORS as error:
            self.connect_failed(error)
            ready.set_result(None)
            return
        await asyncio.wait([backfilled, socket.closed], return_when=asyncio.FIRST_COMPLETED)
        if backfilled.done():
            self.count(POSTERS_JOINED)
            ready.set_result(socket)
        else:
            ready.set_result(None)
        await socket.closed
        if not self.stopping:
            self.count(CLOSED)

    async def post_on_schedule(self, posters: list[_Socket]) -> None:
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
            if self.plan.chat_text:
                content += " " + chat.phrase(number)
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
            if posters[i % len(posters)].send(frame):
                self.count(SENT)
            else:
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
        posters = [socket for socket in await asyncio.gather(*readies) if socket is not None]
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
        for socket in self.sockets:
            socket.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.result()

    def result(self) -> dict:
        joined_slots = [slot for slot, joined in enumerate(self.viewer_joined) if joined]
        return {
            "index": self.plan.index,
            "stream_id": self.plan.stream_id,
            "viewer_bitmaps": b"".join(self.account_viewer(slot) for slot in joined_slots),
            "viewer_frames": sum(len(self.viewer_frames[slot]) for slot in joined_slots),
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
        result = uvloop.run(_Worker(plan, counters, open_viewers, start_at, stop).run())
    except BaseException as error:
        results.put({"index": plan.index, "crash": repr(error)})
        raise
    results.put(result)
