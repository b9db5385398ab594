"""py-spy profiles of the gateways while the posters post: a flame graph, and the split.

`manage.py loadbench --profile` records each gateway it measures with py-spy (sampling from
outside the process, so the gateway runs unchanged) for the posting phase, and writes a
flame graph (SVG) and the collapsed stacks beside the run's figures. `split` reads the
collapsed stacks and says where the gateway's CPU went, by the job of the innermost frame
of each sample that belongs to a known step of delivering a frame (`STEPS`).
"""

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_SECOND = 100


@dataclass(frozen=True)
class Step:
    name: str
    files: tuple[str, ...]  # substrings of the frame's file
    functions: tuple[str, ...] = ()  # the frame's function, any if empty


TRANSPORT = "transport write (kernel send, the servers' write buffers)"
LOOP = "event loop (selecting, timers, callbacks)"
SERVER = "the server (websockets, autobahn, uvicorn, daphne: framing, parsing)"
SEND_CHAIN = "ASGI send chain (consumer, Channels, our send wrappers)"
FLUSH = "cohort flush (sample, encode, the fan-out loop)"
OURS = "the rest of our code (posts, acks, joins, periodic work)"

# Innermost first wins: a sample is charged to the step of its deepest frame listed here.
STEPS = (
    Step(
        TRANSPORT,
        ("selector_events.py", "twisted/internet/tcp.py", "twisted/internet/abstract.py"),
        ("write", "send", "_write_ready", "doWrite", "writeSomeData", "startWriting"),
    ),
    Step(TRANSPORT, ("uvloop",), ("write",)),
    # uvloop's write is C, without a frame of its own: its time shows in the caller's.
    Step(
        TRANSPORT,
        ("comments/server_internals.py",),
        ("write_uvicorn", "write_daphne"),
    ),
    Step(LOOP, ("asyncio/base_events.py",), ()),
    Step(
        LOOP,
        ("twisted/internet/asyncioreactor.py", "selectors.py", "asyncio/events.py"),
    ),
    Step(SERVER, ("websockets/",)),
    Step(SERVER, ("autobahn/",)),
    Step(SERVER, ("uvicorn/",)),
    Step(SERVER, ("daphne/",)),
    Step(
        "slow-consumer accounting",
        ("comments/server_internals.py", "comments/limits.py"),
        ("buffered_bytes", "_dropped_for_backlog"),
    ),
    Step(SEND_CHAIN, ("comments/limits.py",)),
    Step(SEND_CHAIN, ("channels/",)),
    Step(
        SEND_CHAIN,
        ("comments/server_internals.py",),
    ),
    Step(
        SEND_CHAIN,
        ("comments/consumers.py",),
        ("send_frame", "write_prepared"),
    ),
    Step(FLUSH, ("comments/batcher.py",)),
    Step(FLUSH, ("comments/delivery.py",)),
    Step(FLUSH, ("livecomments/events.py",)),
    Step("database (psycopg, Django ORM)", ("psycopg", "django/db/")),
    Step("Redis (channels-redis, redis-py)", ("redis",)),
    Step(OURS, ("comments/",)),
    Step(OURS, ("moderation/",)),
    Step(OURS, ("livecomments/",)),
)
OTHER = "other (interpreter, libraries)"
WAITING = "waiting (no work: epoll, PostgreSQL's answer, an idle thread)"

# Innermost frames of a thread that waits. py-spy cannot always tell a thread blocked in
# C from one working in it, so without these a gateway's idle epoll was a third of its
# "CPU". uvloop's loop is C with no frame of its own: a sample that ends in asyncio's
# Runner.run is uvloop waiting in epoll or in its own C, never in our code.
WAITS = (
    Step(WAITING, ("selectors.py",), ("select",)),
    Step(WAITING, ("asyncio/runners.py",), ("run",)),
    Step(WAITING, ("psycopg/connection.py",), ("wait",)),
    Step(WAITING, ("concurrent/futures/thread.py",), ("_worker",)),
    Step(WAITING, ("threading.py",), ("wait", "acquire")),
)


def _frame_parts(frame: str) -> tuple[str, str]:
    """`function (file:line)` as py-spy writes a frame: (function, file)."""
    function, _, where = frame.partition(" (")
    return function, where.rsplit(":", 1)[0]


def _step_of(frame: str, steps: tuple[Step, ...] = STEPS) -> str | None:
    function, file = _frame_parts(frame)
    # py-spy names a method by its class too (EpollSelector.select): match the last part.
    name = function.rpartition(".")[2]
    for step in steps:
        if any(part in file for part in step.files) and (
            not step.functions or name in step.functions
        ):
            return step.name
    return None


def split(collapsed: Path) -> dict[str, float]:
    """Each step's share of the gateway's samples, largest first (fractions summing to 1).

    Samples of a waiting thread (`WAITS`) are a step of their own, so the others' shares
    can be read as shares of work: "of the working samples" is 1 minus that one."""
    charged: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        step = _step_of(frames[-1], WAITS) or next(
            (s for s in map(_step_of, reversed(frames)) if s is not None), OTHER
        )
        charged[step] += int(count)
    total = sum(charged.values())
    return {step: samples / total for step, samples in charged.most_common()} if total else {}


@dataclass
class Recording:
    """The two py-spy processes recording one gateway: its flame graph and its stacks."""

    processes: list[subprocess.Popen]
    collapsed: Path
    flamegraph: Path

    def finish(self, timeout: float) -> dict[str, float]:
        """Wait for the recording to end; the split of what was recorded ({} if nothing was)."""
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(10)
        return split(self.collapsed) if self.collapsed.exists() else {}


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: pip install -e '.[dev]'")
    return found


def record(pid: int, seconds: float, stem: Path) -> Recording:
    """Sample `pid` for `seconds` into `stem`.svg (flame graph) and `stem`.txt (stacks)."""
    # py-spy draws a flame graph only while recording, and the split needs the stacks: two
    # samplers side by side. Both read the gateway's memory without pausing it.
    outputs = {"flamegraph": stem.with_suffix(".svg"), "raw": stem.with_suffix(".txt")}
    processes = [
        subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--format",
                output_format,
                "--output",
                str(path),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for output_format, path in outputs.items()
    ]
    return Recording(processes, outputs["raw"], outputs["flamegraph"])
