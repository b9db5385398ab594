"""The WebSocket edge of SPEC §3: parse a frame, call a service, render the result.

Sockets have no channel of their own on the layer: the process's FanOut hands stream
frames (already encoded) to each StreamRoom, which writes them to its sockets.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from livecomments import metrics
from livecomments.errors import (
    Forbidden,
    InvalidMessage,
    LiveCommentsError,
    NotJoined,
    Unauthorized,
    Unavailable,
    error_payload,
)
from livecomments.events import Message, frame, user_group
from moderation import live
from moderation.selectors import Restriction, is_moderator, may_moderate

from . import services
from .delivery import Outlet, StreamRoom
from .gateway import gateway
from .protocol import (
    DeleteComment,
    EditComment,
    JoinStream,
    LeaveStream,
    Moderate,
    PostComment,
    React,
    ReportComment,
    ReportLatency,
    ack_payload,
    parse_client_frame,
)
from .rendering import wire_restriction
from .server_internals import PreparedFrame, read_in_place, reads_in_place

logger = logging.getLogger(__name__)
latency_logger = logging.getLogger("livecomments.display_latency")

SLOW_DISPLAY_MS = 1000
# Past a timeout's end, so that the database no longer counts its ban as in force.
RESTRICTION_END_MARGIN_SECONDS = 0.05


class LiveConsumer(AsyncWebsocketConsumer):
    # No alias of CHANNEL_LAYERS: Channels then gives a socket no layer channel of its own.
    channel_layer_alias = "sockets-are-served-by-the-fanout"
    # One consumer lives as long as each socket: its own attributes in slots, only
    # Channels' in the instance's dict.
    __slots__ = (
        "_held",
        "_is_moderator",
        "_restriction_ends",
        "gateway",
        "moderating",
        "restriction",
        "room",
        "user",
    )

    def __call__(self, scope, receive, send):
        # Not a coroutine itself: no frame of its own kept while the socket is open.
        if reads_in_place(self):
            return read_in_place(self, scope, receive, send)
        return super().__call__(scope, receive, send)

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.gateway = gateway()
        self.room: StreamRoom | None = None
        self.moderating = False  # joined with `moderate: true`, by a moderator or the host
        # This user's ban or timeout on the joined stream, and the timer that lifts a timeout.
        self.restriction: Restriction | None = None
        self._restriction_ends: asyncio.TimerHandle | None = None
        # Frames that arrive while a join is sending its backfill wait here, so that the
        # backfill always comes first; each marked whether it is of the room joined.
        self._held: list[tuple[str, bool]] | None = None
        # Whether this user moderates (never limited by chat modes): read at the first post,
        # so that a join storm of viewers costs no query for it.
        self._is_moderator: bool | None = None
        await self.accept()
        if self._user_id is not None:
            await self.gateway.fanout.listen(user_group(self._user_id), self.on_user_message)

    async def dispatch(self, message: dict) -> None:
        # Channels' own dispatch first closes stale database connections, by a hop to the
        # database thread, before every message. Every query of ours runs through
        # database_sync_to_async, which does the same in that thread, so for the frames a
        # socket receives the hop only cost a thread round trip each (py-spy: 8 % of the
        # event loop at 2,000 viewers x 100 posts/s) and queued them behind the writer's
        # flushes. Connects and disconnects keep it: without it a join storm's sockets
        # each kept ~5 KB more (28.4 -> 33.5 KB per socket, 2,000 viewers, uvicorn).
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        self._leave()
        if self._user_id is not None:
            await self.gateway.fanout.unlisten(user_group(self._user_id), self.on_user_message)

    @property
    def _user_id(self) -> int | None:
        user = self.user
        return user.id if user is not None and user.is_authenticated else None

    # --- outgoing ---------------------------------------------------------------------

    async def send_frame(self, text: str) -> None:
        """Send a frame of the room (held while a join sends its backfill)."""
        await self._send_or_hold(text, of_room=True)

    async def _send_or_hold(self, text: str, *, of_room: bool) -> None:
        if self._held is not None:
            self._held.append((text, of_room))
        else:
            await self.send(text_data=text)

    def write_prepared(self, frame: PreparedFrame) -> bool:
        """Write a room's frame straight to the socket; False: send it with `send_frame`."""
        write = self.outlet()
        return write is not None and write(frame)

    def outlet(self) -> Outlet | None:
        """The send wrapper's direct write (comments.limits), once no join's frames wait."""
        if self._held is not None:
            return None  # a join is sending its backfill: the room's frames wait behind it
        return getattr(self.base_send, "write_prepared", None)

    async def send_error(self, error: LiveCommentsError) -> None:
        await self.send(text_data=frame("error", error_payload(error)))

    # --- incoming ---------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        received_at = timezone.now()
        try:
            if text_data is None:
                raise InvalidMessage("Frames are JSON text, not binary.")
            kind, payload = parse_client_frame(text_data)
        except InvalidMessage as error:
            await self.send_error(error)
            return
        handler = self.HANDLERS[kind]
        try:
            await handler(self, payload, received_at)
        except LiveCommentsError as error:
            await self.send_error(error)
        except OSError:
            # ASGI servers refuse a send on a closed socket with an OSError (uvicorn's
            # ClientDisconnected): the client left before its answer. What the handler did
            # stands (a retry of the key gets it); there is nobody left to tell.
            return
        except Exception:
            logger.exception("handling %s failed", kind)
            await self.send_error(Unavailable())

    async def join_stream(self, payload: JoinStream, received_at: datetime) -> None:
        if payload.userId is not None and payload.userId != str(self._user_id):
            raise Unauthorized("userId is not the user this socket is logged in as.")
        self._leave()
        after = int(payload.lastSeenCommentId) if payload.lastSeenCommentId else None
        self._held = []
        try:
            snapshot = await services.join_stream(
                self, int(payload.streamId), self.user, after, moderating=payload.moderate
            )
            self.room = snapshot.room
            self.moderating = snapshot.moderating
            self._restrict(snapshot.restriction)
            info = snapshot.info
            await self.send(
                text_data=frame(
                    "stream_state",
                    {
                        "streamId": str(info.stream_id),
                        "title": info.title,
                        "status": info.status,
                        "viewerCount": snapshot.viewer_count,
                        "pinnedComments": snapshot.pinned,
                        "reactionTotals": snapshot.reaction_totals,
                        "restriction": wire_restriction(snapshot.restriction),
                        "settings": snapshot.settings,
                    },
                )
            )
            if snapshot.moderating:
                await self.send(
                    text_data=frame(
                        "moderation_state",
                        {
                            "streamId": str(info.stream_id),
                            "held": snapshot.held,
                            "reports": snapshot.reports,
                            "settings": snapshot.settings,
                        },
                    )
                )
            await self.send(
                text_data=frame(
                    "comments_batch",
                    {
                        "streamId": str(info.stream_id),
                        "comments": snapshot.backfill,
                        "isBackfill": True,
                    },
                )
            )
        finally:
            held, self._held = self._held, None
            # A refused join's socket is in no room: the room's frames that came meanwhile
            # are not its to read. Read, a batch would move the client's last seen comment
            # past what its next join's backfill starts after, hiding the ones between.
            joined = self.room is not None
            for text, of_room in held:
                if joined or not of_room:
                    await self.send(text_data=text)
            if self.room is not None:
                self.room.outlet_changed(self)

    async def leave_stream(self, payload: LeaveStream, received_at: datetime) -> None:
        self._leave()

    async def post_comment(self, payload: PostComment, received_at: datetime) -> None:
        async def post() -> tuple[int, bool]:
            room = self._joined(payload.streamId)
            assert room.info is not None
            posted = await services.post_comment(
                services.Author.of(self.user, moderates=await self._moderates()),
                room.info,
                payload.content,
                payload.idempotencyKey,
                int(payload.parentId) if payload.parentId else None,
                received_at,
            )
            return posted.comment_id, posted.held

        ack = await self._answer(payload.idempotencyKey, "post_comment", post)
        metrics.record_post(
            ack.get("code") or "accepted", (timezone.now() - received_at).total_seconds()
        )

    async def moderate(self, payload: Moderate, received_at: datetime) -> None:
        async def act() -> tuple[int | None, bool]:
            self._joined(payload.streamId)
            if not self.moderating:
                raise Forbidden("Join with moderate: true to moderate.")
            comment_id = await database_sync_to_async(live.moderate)(
                self.user,
                live.ModerationRequest(
                    stream_id=int(payload.streamId),
                    action=payload.action,
                    idempotency_key=payload.idempotencyKey.lower(),
                    comment_id=int(payload.commentId) if payload.commentId else None,
                    user_id=int(payload.userId) if payload.userId else None,
                    duration_seconds=payload.durationSeconds,
                    reason=payload.reason,
                    settings=payload.settings.model_dump() if payload.settings else None,
                ),
            )
            return comment_id, False

        await self._answer(payload.idempotencyKey, f"moderate {payload.action}", act)

    async def edit_comment(self, payload: EditComment, received_at: datetime) -> None:
        async def edit() -> tuple[int, bool]:
            self._joined(payload.streamId)
            edited = await services.edit_comment(
                self.user,
                int(payload.streamId),
                int(payload.commentId),
                payload.content,
                payload.idempotencyKey.lower(),
            )
            return edited.comment_id, edited.held

        await self._answer(payload.idempotencyKey, "edit_comment", edit)

    async def delete_comment(self, payload: DeleteComment, received_at: datetime) -> None:
        async def delete() -> tuple[int, bool]:
            self._joined(payload.streamId)
            await services.delete_comment(
                self.user,
                int(payload.streamId),
                int(payload.commentId),
                payload.idempotencyKey.lower(),
            )
            return int(payload.commentId), False

        await self._answer(payload.idempotencyKey, "delete_comment", delete)

    async def report(self, payload: ReportComment, received_at: datetime) -> None:
        async def report() -> tuple[int, bool]:
            self._joined(payload.streamId)
            if self._user_id is None:
                raise Unauthorized("Log in to report a comment.")
            await database_sync_to_async(live.report)(
                self.user,
                int(payload.streamId),
                int(payload.commentId),
                payload.reason,
                payload.idempotencyKey.lower(),
            )
            return int(payload.commentId), False

        await self._answer(payload.idempotencyKey, "report", report)

    async def _answer(
        self, key: str, what: str, act: Callable[[], Awaitable[tuple[int | None, bool]]]
    ) -> dict:
        """Send the one ack a keyed request gets: accepted (or held) with the comment it is
        about, refused with its code, or UNAVAILABLE when Redis or the database failed
        before it was done (trying again will help)."""
        try:
            comment_id, held = await act()
            ack = ack_payload(key, comment_id, held=held)
        except LiveCommentsError as error:
            ack = ack_payload(key, error=error)
        except Exception:
            logger.exception("%s failed", what)
            ack = ack_payload(key, error=Unavailable())
        await self.send(text_data=frame("ack", ack))
        return ack

    async def react(self, payload: React, received_at: datetime) -> None:
        room = self._joined(payload.streamId)
        comment_id = int(payload.commentId) if payload.commentId else None
        await services.react(self.user, room, payload.reactionType, comment_id, self.restriction)

    async def report_latency(self, payload: ReportLatency, received_at: datetime) -> None:
        metrics.record_display_latencies(payload.samples)
        slow = [sample for sample in payload.samples if sample > SLOW_DISPLAY_MS]
        if slow:
            latency_logger.warning(
                "display latency above %d ms for user %s on stream %s: %s",
                SLOW_DISPLAY_MS,
                self._user_id,
                self.room and self.room.stream_id,
                slow[:20],
            )

    # --- group messages (user group) --------------------------------------------------

    async def on_user_message(self, message: Message) -> None:
        if message["type"] == "user.frame":
            await self._send_or_hold(message["frame"], of_room=False)
        elif message["type"] == "user.restriction":
            stream_id = message.get("streamId")
            if self.room is not None and stream_id in (None, self.room.stream_id):
                await self._send_restriction()

    async def _send_restriction(self) -> None:
        """Tell this socket its restriction on the joined stream as it stands now."""
        room, user_id = self.room, self._user_id
        if room is None or user_id is None:
            return
        restriction = await services.current_restriction(user_id, room.stream_id)
        if self.room is not room:
            return  # left or joined another stream meanwhile; that join told it
        self._restrict(restriction)
        await self.send(
            text_data=frame(
                "restriction_changed",
                {"streamId": str(room.stream_id), "restriction": wire_restriction(restriction)},
            )
        )

    def _restrict(self, restriction: Restriction | None) -> None:
        """Hold the restriction; a timeout's end is told to the socket when it comes."""
        self.restriction = restriction
        if self._restriction_ends is not None:
            self._restriction_ends.cancel()
            self._restriction_ends = None
        if restriction is not None and restriction.until is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, (restriction.until - timezone.now()).total_seconds())
            # Read again at the end: another ban may have landed meanwhile.
            self._restriction_ends = loop.call_later(
                delay + RESTRICTION_END_MARGIN_SECONDS,
                lambda: loop.create_task(self._send_restriction()),
            )

    # --- helpers ----------------------------------------------------------------------

    async def _moderates(self) -> bool:
        if self._is_moderator is None:
            # Only staff need the database (their group): anyone else's first post does not
            # wait for the database thread, which a flush held up may be holding.
            self._is_moderator = may_moderate(self.user) and await database_sync_to_async(
                is_moderator
            )(self.user)
        return self._is_moderator

    def _joined(self, stream_id: str) -> StreamRoom:
        if self.room is None or str(self.room.stream_id) != stream_id:
            raise NotJoined()
        return self.room

    def _leave(self) -> None:
        if self.room is not None:
            self.room.remove(self)
            self.room = None
        self.moderating = False
        self._restrict(None)

    # One handler per client message type (comments.protocol.CLIENT_MESSAGES), as Channels
    # dispatches by type.
    HANDLERS: ClassVar[dict[str, Callable[..., Awaitable[None]]]] = {
        "join_stream": join_stream,
        "leave_stream": leave_stream,
        "post_comment": post_comment,
        "react": react,
        "report_latency": report_latency,
        "moderate": moderate,
        "report": report,
        "delete_comment": delete_comment,
        "edit_comment": edit_comment,
    }
