"""The tests' one WebSocket client of /ws/live/: in this process, on Channels' communicator,
or over a real socket to a gateway process (or a load balancer) listening on a port."""

import asyncio
import json
import uuid

import websockets
from channels.testing import WebsocketCommunicator

WS_ORIGIN = (b"origin", b"http://testserver")


def frame_text(kind: str, **payload) -> str:
    return json.dumps({"type": kind, "payload": payload})


async def open_socket(port: int, token: str | None = None, **options):
    """A real socket to /ws/live/ on `port`, opened as a page served from there would."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/live/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers=headers,
        max_size=None,
        **options,
    )


class _InProcess:
    def __init__(self, user, headers, origin: bytes) -> None:
        from livecomments.asgi import application

        all_headers = [(b"origin", origin)]
        if user is not None:
            all_headers.append((b"authorization", f"Token {user.auth_token.key}".encode()))
        all_headers.extend(headers or [])
        self.communicator = WebsocketCommunicator(application, "/ws/live/", headers=all_headers)

    async def open(self) -> bool:
        # The handshake looks up the session and token in the database: allow a busy machine.
        connected, _ = await self.communicator.connect(timeout=10)
        return connected

    async def send(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float) -> str:
        return await self.communicator.receive_from(timeout=timeout)

    async def nothing_within(self, timeout: float) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.communicator.disconnect()


class _Socket:
    def __init__(self, user, port: int) -> None:
        self.token = user.auth_token.key if user is not None else None
        self.port = port
        self.socket = None
        self._early: str | None = None  # a frame that ended a wait for nothing

    async def open(self) -> bool:
        self.socket = await open_socket(self.port, self.token)  # a refusal raises InvalidStatus
        return True

    async def send(self, text: str) -> None:
        await self.socket.send(text)

    async def receive(self, timeout: float) -> str:
        if self._early is not None:
            text, self._early = self._early, None
            return text
        return await asyncio.wait_for(self.socket.recv(), timeout)

    async def nothing_within(self, timeout: float) -> bool:
        if self._early is None:
            try:
                self._early = await asyncio.wait_for(self.socket.recv(), timeout)
            except TimeoutError:
                return True
        return False

    async def close(self) -> None:
        await self.socket.close()


class LiveClient:
    """A client of /ws/live/: in-process, or with `port` over a real socket to that port."""

    def __init__(self, user=None, headers=None, port: int | None = None, origin=WS_ORIGIN[1]):
        if port is None:
            self.transport: _InProcess | _Socket = _InProcess(user, headers, origin)
        else:
            self.transport = _Socket(user, port)

    @property
    def communicator(self):
        """Channels' communicator, for what only the in-process client does (binary frames)."""
        return self.transport.communicator

    @property
    def socket(self):
        """The real socket (websockets' connection), for what only a real socket does."""
        return self.transport.socket

    async def handshake(self) -> bool:
        """Open the socket; return whether the server accepted it."""
        return await self.transport.open()

    async def connect(self):
        assert await self.handshake(), "the server refused the socket"
        return self

    async def send(self, kind, **payload):
        await self.transport.send(frame_text(kind, **payload))

    async def send_text(self, text):
        await self.transport.send(text)

    async def receive(self, timeout=5):
        return json.loads(await self.transport.receive(timeout))

    async def receive_type(self, kind, timeout=5):
        """Skip frames until one of `kind` arrives (viewer counts and the like come anytime)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.receive(timeout=max(0.01, deadline - loop.time()))
            if message["type"] == kind:
                return message["payload"]

    async def join(self, stream, **extra):
        await self.send("join_stream", streamId=str(stream.id), **extra)
        state_payload = await self.receive_type("stream_state")
        backfill = await self.receive_type("comments_batch")
        assert backfill["isBackfill"] is True
        return state_payload, backfill

    async def post(self, stream, content, key=None, **extra):
        key = key or str(uuid.uuid4())
        await self.send(
            "post_comment", streamId=str(stream.id), content=content, idempotencyKey=key, **extra
        )
        ack = await self.receive_type("ack")
        assert ack["idempotencyKey"] == key
        return ack

    async def live_comments(self, count, timeout=5):
        """Collect live (not backfill) comments until `count` have arrived."""
        found = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found) < count:
            batch = await self.receive_type("comments_batch", max(0.01, deadline - loop.time()))
            assert batch["isBackfill"] is False
            found.extend(batch["comments"])
        return found

    async def nothing_more(self, timeout=0.3, ignore=("viewer_count", "reactions_batch")):
        """Assert no frame other than `ignore` arrives within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            if await self.transport.nothing_within(left):
                return
            message = await self.receive()
            assert message["type"] in ignore, message

    async def close(self):
        await self.transport.close()
