"""64-bit Snowflake IDs: 41 bits of milliseconds, 10 bits of worker, 12 bits of sequence.

Every gateway process claims its worker number from the database when it first needs
one (a row in SnowflakeWorker, numbered by the database), so processes need no
configuration to be told apart: any 1,024 consecutively started processes have
distinct numbers.
"""

import os
import socket
import threading
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
# The milliseconds sit above the worker and sequence bits, so IDs sort by time.
TIME_SHIFT = WORKER_BITS + SEQUENCE_BITS
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class SnowflakeGenerator:
    def __init__(self, worker: int, clock=time.time) -> None:
        if not 0 <= worker <= MAX_WORKER:
            raise ValueError(f"worker must be in 0..{MAX_WORKER}")
        self.worker = worker
        self._clock = clock
        self._last_ms = -1
        self._sequence = 0
        self._lock = threading.Lock()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000) - EPOCH_MS

    def next_id(self) -> int:
        with self._lock:
            now = self._now_ms()
            # A clock stepped backwards would repeat IDs: keep using the last millisecond.
            now = max(now, self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    # 4,096 IDs in one millisecond: borrow the next one rather than wait.
                    now = self._last_ms + 1
            else:
                self._sequence = 0
            self._last_ms = now
            return (now << TIME_SHIFT) | (self.worker << SEQUENCE_BITS) | self._sequence


def timestamp_ms(snowflake: int) -> int:
    """Milliseconds since the Unix epoch at which the ID was made."""
    return (snowflake >> TIME_SHIFT) + EPOCH_MS


def first_id_at(unix_ms: int) -> int:
    """The smallest ID made at or after `unix_ms`: the bound for "comments since" queries."""
    return max(0, unix_ms - EPOCH_MS) << TIME_SHIFT


_generator: SnowflakeGenerator | None = None
_generator_pid = -1  # a forked process claims a number of its own
_generator_lock = threading.Lock()


def generator() -> SnowflakeGenerator:
    """This process's generator; the first call claims a worker number (a database write)."""
    claimed = claimed_generator()
    if claimed is not None:
        return claimed
    with _generator_lock:
        if claimed_generator() is None:
            _claim()
    assert _generator is not None
    return _generator


def claimed_generator() -> SnowflakeGenerator | None:
    """This process's generator if its worker number is claimed already, else None."""
    return _generator if _generator_pid == os.getpid() else None


def _claim() -> None:
    global _generator, _generator_pid
    from comments.models import SnowflakeWorker

    row = SnowflakeWorker.objects.create(hostname=socket.gethostname()[:255], pid=os.getpid())
    _generator = SnowflakeGenerator(row.pk % (MAX_WORKER + 1))
    _generator_pid = os.getpid()
