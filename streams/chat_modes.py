"""A stream's chat settings (SPEC §3 "Chat modes") as one value, and shield mode's floor.

The host and moderators are never limited by them; `comments` enforces them on posts.
"""

import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .models import Stream

# Fields a moderator may change, by their names on the wire.
WIRE_NAMES = {
    "slowModeSeconds": "slow_mode_seconds",
    "locked": "locked",
    "minAccountAgeMinutes": "min_account_age_minutes",
    "holdLinks": "hold_links",
}


@dataclass(frozen=True)
class ChatSettings:
    slow_mode_seconds: int = 0
    locked: bool = False
    min_account_age_minutes: int = 0
    hold_links: bool = False

    @classmethod
    def of(cls, stream: Stream) -> "ChatSettings":
        return cls(
            slow_mode_seconds=stream.slow_mode_seconds,
            locked=stream.locked,
            min_account_age_minutes=stream.min_account_age_minutes,
            hold_links=stream.hold_links,
        )

    def shielded(self) -> "ChatSettings":
        """Raised to at least shield mode's floor: 30 s slow mode, day-old accounts, links held."""
        return replace(
            self,
            slow_mode_seconds=max(self.slow_mode_seconds, SHIELD.slow_mode_seconds),
            min_account_age_minutes=max(
                self.min_account_age_minutes, SHIELD.min_account_age_minutes
            ),
            hold_links=True,
        )

    def fields(self) -> dict[str, Any]:
        return asdict(self)


SHIELD = ChatSettings(slow_mode_seconds=30, min_account_age_minutes=24 * 60, hold_links=True)


def wire_settings(stream: Stream) -> dict[str, Any]:
    """The protocol's StreamSettings of a stream."""
    settings = ChatSettings.of(stream)
    return {
        **{wire: getattr(settings, field) for wire, field in WIRE_NAMES.items()},
        "shield": stream.shield_saved is not None,
    }


def chat_mode_refusal(stream: Stream, joined_at: datetime, now: datetime) -> str | None:
    """Why the stream's chat modes refuse a post by a viewer (not the host nor a moderator)
    whose account was made at `joined_at`, or None. Slow mode is the rate limiter's."""
    if stream.locked:
        return "The chat is locked to moderators."
    minimum = timedelta(minutes=stream.min_account_age_minutes)
    if now - joined_at < minimum:
        left = math.ceil((minimum - (now - joined_at)).total_seconds() / 60)
        return f"Your account is too new to comment here: {left} more minute{'s' * (left != 1)}."
    return None
