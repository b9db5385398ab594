"""Viewers and posters that behave like the browser client, over real sockets.

A viewer dedupes by id, notes each gateway's batch numbers and rejoins on a gap, and on a
lost socket reconnects to the next gateway and resumes from its newest comment with the
browser's 5 s overlap. A poster numbers its comments and retries each with the same
idempotency key until it is accepted. Each records what it saw for the final check.
"""

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.clients import frame_text, open_socket

RESUME_OVERLAP_MS = 5000
# A join refused UNAVAILABLE is sent again after this (the browser backs off from 1 s).
JOIN_RETRY_SECONDS = 0.5
SNOWFLAKE_TIME_SHIFT = 22


def resume_after(last_seen: str | None) -> str | None:
    if last_seen is None:
        return None
    return str(max(0, int(last_seen) - (RESUME_OVERLAP_MS << SNOWFLAKE_TIME_SHIFT)))


@dataclass
class Gateways:
    """The URLs clients may use; a client rotates through them when its socket is lost."""

    ports: list[int]
    down: set[int] = field(default_factory=set)

    def port(self, index: int) -> int:
        return self.ports[index % len(self.ports)]


async def _connect(gateways: Gateways, index: int, token: str | None, **kwargs):
    return await open_socket(gateways.port(index), token, open_timeout=3, **kwargs)


def _tiny_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


class Viewer:
    def __init__(
        self, name: str, gateways: Gateways, stream_id: int, start: int = 0,
        stall: asyncio.Event | None = None,
    ) -> None:  # fmt: skip
        # With `stall`, the first socket joins and then reads nothing until the event is set,
        # with a tiny receive buffer, like a phone that froze.
        self.stall = stall
        self.name = name
        self.gateways = gateways
        self.stream_id = str(stream_id)
        self.index = start
        self.ids: set[str] = set()
        self.last_seen: str | None = None
        self.live_counts: Counter[str] = Counter()
        self.seqs: dict[str, int] = {}
        self.gaps = 0
        self.connections = 0
        self.close_codes: list[int | None] = []
        self.viewer_counts: list[tuple[float, int]] = []
        self.lost_at: list[float] = []
        self.resumed_at: list[float] = []
        self.ws = None
        self._rejoining: asyncio.Future | None = None
        self.join_pending = False
        self.refused_joins = 0
        self.stopping = False

    def _note(self, comments: list[dict], live: bool) -> None:
        for comment in comments:
            self.ids.add(comment["id"])
            if live:
                self.live_counts[comment["id"]] += 1
            if self.last_seen is None or int(comment["id"]) > int(self.last_seen):
                self.last_seen = comment["id"]

    async def _join(self, ws) -> None:
        self.join_pending = True
        payload = {"streamId": self.stream_id}
        after = resume_after(self.last_seen)
        if after is not None:
            payload["lastSeenCommentId"] = after
        await ws.send(frame_text("join_stream", **payload))

    async def run(self) -> None:
        while not self.stopping:
            stalling = self.stall is not None and not self.stall.is_set()
            try:
                if stalling:
                    tiny = _tiny_socket(self.gateways.port(self.index))
                    ws = await _connect(self.gateways, self.index, None, max_queue=1, sock=tiny)
                else:
                    ws = await _connect(self.gateways, self.index, None, max_queue=None)
            except (OSError, InvalidStatus, TimeoutError):
                self.index += 1
                await asyncio.sleep(0.2)
                continue
            self.ws = ws
            self.connections += 1
            try:
                await self._join(ws)
                if stalling:
                    await self.stall.wait()
                async for text in ws:
                    self._on_frame(ws, json.loads(text))
                if not self.stopping:
                    self.close_codes.append(ws.close_code)  # a clean close ends the loop
            except ConnectionClosed as closed:
                if not self.stopping:
                    self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except OSError:
                self.close_codes.append(None)
            finally:
                self.ws = None
            if self.stopping:
                return
            self.lost_at.append(time.monotonic())
            self.index += 1
            await asyncio.sleep(0.1)

    def _on_frame(self, ws, message: dict) -> None:
        kind, payload = message["type"], message["payload"]
        if kind == "comments_batch":
            if payload["isBackfill"]:
                self.join_pending = False
                self.seqs.clear()  # numbering restarts from whatever arrives next
                if self.lost_at and len(self.resumed_at) < len(self.lost_at):
                    self.resumed_at.append(time.monotonic())
            self._note(payload["comments"], live=not payload["isBackfill"])
            gateway_id, seq = payload.get("gatewayId"), payload.get("seq")
            if gateway_id and isinstance(seq, int):
                last = self.seqs.get(gateway_id)
                self.seqs[gateway_id] = seq
                if last is not None and seq > last + 1:
                    self.gaps += 1
                    self._rejoining = asyncio.ensure_future(self._join(ws))
        elif kind == "error" and payload["code"] == "UNAVAILABLE" and self.join_pending:
            # As the browser does (connection.js: joinRefused): join again shortly.
            self.refused_joins += 1
            self._rejoining = asyncio.ensure_future(self._join_after(ws, JOIN_RETRY_SECONDS))
        elif kind == "viewer_count":
            self.viewer_counts.append((time.monotonic(), payload["count"]))
        elif kind == "stream_state":
            self.viewer_counts.append((time.monotonic(), payload["viewerCount"]))

    async def _join_after(self, ws, delay: float) -> None:
        await asyncio.sleep(delay)
        with contextlib.suppress(ConnectionClosed):
            await self._join(ws)

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    @property
    def live_duplicates(self) -> list[str]:
        return [comment_id for comment_id, times in self.live_counts.items() if times > 1]


class Poster:
    """Posts `count` numbered comments, each retried with its key until accepted."""

    def __init__(
        self, name: str, token: str, gateways: Gateways, stream_id: int, count: int,
        interval: float, start: int = 0,
    ) -> None:  # fmt: skip
        self.name = name
        self.token = token
        self.gateways = gateways
        self.stream_id = str(stream_id)
        self.count = count
        self.interval = interval
        self.index = start
        self.keys = [str(uuid.uuid4()) for _ in range(count)]
        self.accepted: dict[int, str] = {}
        self.accepted_times: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.ack_seconds: list[float] = []
        self.refused_seconds: list[float] = []  # how fast a refusal came back
        self.attempts = 0
        self.ws = None

    def content(self, n: int) -> str:
        return f"{self.name} #{n}"

    async def _open(self):
        while True:
            try:
                ws = await _connect(self.gateways, self.index, self.token)
                await ws.send(frame_text("join_stream", streamId=self.stream_id))
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if message["type"] == "comments_batch":
                        return ws
                    if message["type"] == "error":
                        raise ConnectionError(message["payload"]["code"])
            except (OSError, InvalidStatus, TimeoutError, ConnectionClosed, ConnectionError):
                self.outcomes["join_failed"] += 1
                self.index += 1
                await asyncio.sleep(0.3)

    async def _post_once(self, n: int) -> str:
        """Send post n once; return the ack's status/code, or why there was none."""
        if self.ws is None:
            self.ws = await self._open()
        ws = self.ws
        self.attempts += 1
        started = time.monotonic()
        try:
            await ws.send(
                frame_text(
                    "post_comment", streamId=self.stream_id, content=self.content(n),
                    idempotencyKey=self.keys[n],
                )
            )  # fmt: skip
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if (
                    message["type"] == "ack"
                    and message["payload"]["idempotencyKey"] == self.keys[n]
                ):
                    ack = message["payload"]
                    break
                if message["type"] == "error" and message["payload"]["code"] == "NOT_JOINED":
                    raise ConnectionError("not joined")
        except (ConnectionClosed, OSError, TimeoutError, ConnectionError) as error:
            self.ws = None
            self.index += 1
            with contextlib.suppress(Exception):
                await ws.close()
            return f"no_ack:{type(error).__name__}"
        elapsed = time.monotonic() - started
        if ack["status"] == "accepted":
            self.accepted[n] = ack["commentId"]
            self.accepted_times.append(time.monotonic())
            self.ack_seconds.append(elapsed)
            return "accepted"
        self.refused_seconds.append(elapsed)
        return f"{ack['status']}:{ack.get('code')}"

    async def run(self) -> None:
        for n in range(self.count):
            while True:
                outcome = await self._post_once(n)
                self.outcomes[outcome] += 1
                if outcome == "accepted":
                    break
                await asyncio.sleep(0.3)
            await asyncio.sleep(self.interval)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
