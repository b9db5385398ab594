"""The relay between gateways: comment messages of one stream, numbered, announced, resent.

Comments travel between gateways as they are committed, and each gateway batches all of
them, its own and the others', for its own sockets. Like every Channels layer the
pub/sub is at-most-once, so each gateway numbers its comment messages per stream; a
listener that sees a gap tells its viewers to resume (they read the database), and a
gateway that lost the last messages of a quiet stream hears of them through the
announcement of the last number and asks for them again.
"""

import asyncio
import enum
import logging
from collections import Counter, deque

from livecomments.events import Message, publish, stream_group

from . import state
from .rendering import WireComment

logger = logging.getLogger(__name__)

# A relay that published comments keeps announcing its last sequence number this long, so
# that a gateway which lost that message (a Redis reconnect) hears of it once back.
SEQ_ANNOUNCE_SECONDS = 30.0
# Comment messages a relay keeps, to publish again for a gateway that lost them.
MESSAGES_KEPT = 100
# Asked this many times in vain (the messages no longer kept), a gateway gives them up;
# its viewers still resume the comments from the database when they reconnect.
RESEND_REQUESTS = 3

IdempotencyEntry = tuple[int, str, int]  # author id, key, comment id


class Heard(enum.Enum):
    """What a comments message from another gateway (or this one) is to the listener."""

    NEWS = "news"  # the next one of its gateway: batch it
    NEWS_AFTER_GAP = "gap"  # batch it, and tell the viewers that some were lost before it
    KNOWN = "known"  # resent for another gateway, or from before this listener: drop it


class Relay:
    """This gateway's side of one stream's comment messages, sent and heard."""

    def __init__(self, stream_id: int, gateway_id: str, first_seq: int = 1) -> None:
        self.stream_id = stream_id
        self.gateway_id = gateway_id
        self.group = stream_group(stream_id)
        self.next_publish_seq = first_seq
        # This gateway's last comment messages of the stream, and when the last one went out
        # (loop time).
        self.published: deque[Message] = deque(maxlen=MESSAGES_KEPT)
        self.published_at = 0.0
        # Per gateway: the number of its last comment message heard here, and how often
        # this relay has asked for the ones after it.
        self.heard_seqs: dict[str, int] = {}
        self.resend_requests: Counter[str] = Counter()

    async def publish_comments(
        self, comments: list[WireComment], keys: list[IdempotencyEntry]
    ) -> None:
        """Send comments committed here to every gateway's batcher, this one's included.

        `keys` are their idempotency entries, marked published once the message is out.
        """
        # Numbered even if publishing fails: it may have reached some gateways, and a number
        # used twice would hide the second message from them; a gap makes viewers resume.
        seq, self.next_publish_seq = self.next_publish_seq, self.next_publish_seq + 1
        message = {
            "type": "stream.comments",
            "comments": comments,
            "gatewayId": self.gateway_id,
            "seq": seq,
        }
        await publish(self.group, message)
        # Kept and announced once out; comments that never left are the sweep's to publish.
        self.published.append(message)
        self.published_at = asyncio.get_running_loop().time()
        if keys:
            try:
                await state.idempotency_store().mark_published(keys)
            except Exception:
                logger.exception("marking %d idempotency keys published failed", len(keys))

    def is_announcing(self) -> bool:
        elapsed = asyncio.get_running_loop().time() - self.published_at
        return bool(self.published) and elapsed < SEQ_ANNOUNCE_SECONDS

    async def announce_seq(self) -> None:
        if self.is_announcing():
            last = self.published[-1]
            await publish(
                self.group,
                {"type": "stream.seq", "gatewayId": last["gatewayId"], "seq": last["seq"]},
            )

    def hear(self, message: Message) -> Heard:
        """Place a comments message in its gateway's numbering."""
        seq, origin = message["seq"], message["gatewayId"]
        heard = self.heard_seqs.get(origin)
        if heard is None and message.get("resent"):
            return Heard.KNOWN  # resent for another gateway, from before this listener
        if heard is not None and seq <= heard:
            return Heard.KNOWN  # resent for another gateway; batched here already
        self.heard_seqs[origin] = seq
        self.resend_requests.pop(origin, None)
        # Comments of that gateway were lost on the way (a Redis reconnect).
        return Heard.NEWS_AFTER_GAP if heard is not None and seq > heard + 1 else Heard.NEWS

    async def check_announced(self, origin: str, seq: int, *, listened: bool) -> None:
        """Ask a gateway again for its comment messages after the last one heard here.

        The next message shows a gap; when none comes (a stream gone quiet), the gateway's
        announcement of its last number tells this relay. `listened`: sockets here would
        have read those messages.
        """
        heard = self.heard_seqs.get(origin)
        if heard is not None and seq <= heard:
            return
        if heard is None or not listened or self.resend_requests[origin] >= RESEND_REQUESTS:
            # The first word of that gateway here (its earlier messages predate these
            # sockets), nobody here to tell, or the messages are gone for good.
            if heard is not None and listened:
                logger.warning(
                    "stream %s: gave up comment messages %d-%d of gateway %s",
                    self.stream_id,
                    heard + 1,
                    seq,
                    origin,
                )
            self.heard_seqs[origin] = seq
            self.resend_requests.pop(origin, None)
            return
        self.resend_requests[origin] += 1
        logger.warning(
            "stream %s: comment messages %d-%d of gateway %s did not arrive; asking again",
            self.stream_id,
            heard + 1,
            seq,
            origin,
        )
        await publish(self.group, {"type": "stream.resend", "gatewayId": origin, "after": heard})

    async def resend(self, after: int) -> None:
        for message in list(self.published):
            if message["seq"] > after:
                await publish(self.group, {**message, "resent": True})
