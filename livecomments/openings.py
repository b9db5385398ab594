"""One setup per key at a time, and nobody past it before it is done."""

import asyncio
import contextlib
from collections.abc import Hashable, Iterator


class Openings:
    """The setups under way (a group being joined on Redis, a room being opened), by key.

    Whoever finds a setup under way waits for its end, then looks again: a second listener
    of a group is not listening before the first listener's subscription is in place, and
    if that setup failed, the second makes its own attempt.
    """

    def __init__(self) -> None:
        self._under_way: dict[Hashable, asyncio.Event] = {}

    async def settled(self, key: Hashable) -> None:
        """Return once no setup of `key` is under way."""
        while (done := self._under_way.get(key)) is not None:
            await done.wait()

    def under_way(self, key: Hashable) -> bool:
        return key in self._under_way

    @contextlib.contextmanager
    def opening(self, key: Hashable) -> Iterator[None]:
        """Mark the setup of `key` under way for the block, done at its end either way."""
        done = self._under_way[key] = asyncio.Event()
        try:
            yield
        finally:
            del self._under_way[key]
            done.set()
