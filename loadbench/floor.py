"""The floor: the least a server can do for the benchmark's protocol subset.

A bare `websockets` server on uvloop, at /ws/live/, with no Django, database or Redis.
It answers join_stream with stream_state and an empty backfill, acks each post_comment
as accepted under a new id and stores nothing, and sends each stream's comments as one
comments_batch frame per interval of the tier its joined sockets select, encoded once
and written to every socket of the stream (`broadcast`). What ours costs above it is
the price of storage, rules, relaying and the rest of the product.

Run by `manage.py loadbench --target floor` as
`python -m loadbench.floor --port N --policy 0:0.1:1,1000:0.2:1,…`; the benchmark passes
our configured tiers (comments.batcher.delivery_policy), so both batch alike.
"""

import argparse
import asyncio
import itertools
import logging
import math
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

MAX_MESSAGE_BYTES = 64 * 1024

logger = logging.getLogger("loadbench.floor")


@dataclass(frozen=True)
class Tier:
    min_viewers: int
    interval: float
    delivered: float


def parse_policy(text: str) -> tuple[Tier, ...]:
    """Tiers "min_viewers:interval_seconds:fraction_kept,…", highest threshold first."""
    tiers = [
        Tier(int(v), float(i), float(d)) for v, i, d in (t.split(":") for t in text.split(","))
    ]
    if not any(tier.min_viewers == 0 for tier in tiers):
        raise ValueError(f"the policy needs a tier starting at 0 viewers: {text!r}")
    return tuple(sorted(tiers, key=lambda tier: -tier.min_viewers))


def comment_score(comment: dict) -> float:
    # As comments.batcher.comment_score (tests/loadbench/test_floor.py holds them equal):
    # the floor samples the same comments as ours under a sampling tier.
    return (
        random.Random(int(comment["id"])).random()
        + (10 if comment["isHighlighted"] else 0)
        + (2 if "?" in comment["content"] else 0)
    )


def frame(kind: str, payload: dict) -> str:
    return orjson.dumps({"type": kind, "payload": payload}).decode()


@dataclass
class Room:
    """One stream's joined sockets and the comments waiting for the next frame."""

    stream_id: str
    sockets: set[ServerConnection] = field(default_factory=set)
    buffer: list[dict] = field(default_factory=list)
    flusher: asyncio.Task | None = None


class Floor:
    def __init__(self, policy: tuple[Tier, ...]) -> None:
        self.policy = policy
        self.rooms: dict[str, Room] = {}
        # Unique, increasing ids, as snowflakes are.
        self.ids = itertools.count(int(time.time() * 1000) << 22)
        self.users = itertools.count(1)

    def tier(self, viewers: int) -> Tier:
        return next(tier for tier in self.policy if viewers >= tier.min_viewers)

    async def serve_socket(self, socket: ServerConnection) -> None:
        room: Room | None = None
        user_id = next(self.users)
        try:
            async for message in socket:
                request = orjson.loads(message)
                payload = request.get("payload") or {}
                kind = request.get("type")
                if kind == "join_stream":
                    if room is not None:
                        room.sockets.discard(socket)
                    room = self.join(socket, str(payload["streamId"]))
                    await socket.send(self.stream_state(room))
                    await socket.send(
                        frame(
                            "comments_batch",
                            {"streamId": room.stream_id, "comments": [], "isBackfill": True},
                        )
                    )
                elif kind == "post_comment":
                    await socket.send(self.post(room, user_id, payload))
        except ConnectionClosed:
            pass
        finally:
            if room is not None:
                room.sockets.discard(socket)

    def join(self, socket: ServerConnection, stream_id: str) -> Room:
        room = self.rooms.get(stream_id)
        if room is None:
            room = self.rooms[stream_id] = Room(stream_id)
        room.sockets.add(socket)
        return room

    def stream_state(self, room: Room) -> str:
        return frame(
            "stream_state",
            {
                "streamId": room.stream_id,
                "title": "floor",
                "status": "live",
                "viewerCount": len(room.sockets),
                "pinnedComments": [],
                "reactionTotals": {},
                "restriction": None,
                "settings": {},
            },
        )

    def post(self, room: Room | None, user_id: int, payload: dict) -> str:
        key = payload.get("idempotencyKey")
        if room is None:
            ack = {"idempotencyKey": key, "commentId": None, "status": "rejected"}
            return frame("ack", ack | {"code": "NOT_JOINED"})
        now = datetime.now(UTC)
        comment_id = str(next(self.ids))
        room.buffer.append(
            {
                "id": comment_id,
                "streamId": room.stream_id,
                "userId": str(user_id),
                "username": f"floor-{user_id}",
                "avatarUrl": None,
                "content": payload.get("content", ""),
                "parentId": None,
                "isHighlighted": False,
                "isPinned": False,
                "createdAt": now.isoformat().replace("+00:00", "Z"),
                "metadata": {"receivedAt": int(now.timestamp() * 1000)},
                "authorRole": "viewer",
                "editedAt": None,
            }
        )
        if room.flusher is None or room.flusher.done():
            room.flusher = asyncio.create_task(self.flush_on_interval(room))
        return frame("ack", {"idempotencyKey": key, "commentId": comment_id, "status": "accepted"})

    async def flush_on_interval(self, room: Room) -> None:
        """While comments come, send one frame per interval, on a grid one interval apart."""
        loop = asyncio.get_running_loop()
        seq = 0
        while room.buffer:
            interval = self.tier(len(room.sockets)).interval
            now = loop.time()
            await asyncio.sleep(math.ceil(now / interval) * interval - now)
            batch, room.buffer = room.buffer, []
            fraction = self.tier(len(room.sockets)).delivered
            if fraction < 1:
                keep = max(1, math.ceil(len(batch) * fraction))
                batch = sorted(sorted(batch, key=comment_score, reverse=True)[:keep], key=_id)
            seq += 1
            text = frame(
                "comments_batch",
                {
                    "streamId": room.stream_id,
                    "comments": batch,
                    "isBackfill": False,
                    "gatewayId": "floor",
                    "seq": seq,
                },
            )
            broadcast(room.sockets, text)


def _id(comment: dict) -> int:
    return int(comment["id"])


async def main(port: int, policy: tuple[Tier, ...]) -> None:
    floor = Floor(policy)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def route(socket: ServerConnection) -> None:
        if socket.request is None or socket.request.path != "/ws/live/":
            await socket.close(1008, "not found")
            return
        await floor.serve_socket(socket)

    # As ours under uvicorn: no compression, 64 KB messages.
    async with serve(
        route, "127.0.0.1", port, compression=None, max_size=MAX_MESSAGE_BYTES, backlog=2048
    ):
        logger.info("floor listening on 127.0.0.1:%s", port)
        await stop.wait()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--policy",
        type=parse_policy,
        required=True,
        help='delivery tiers "min_viewers:interval_seconds:fraction_kept,…"',
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvloop.run(main(args.port, args.policy))


if __name__ == "__main__":
    run()
