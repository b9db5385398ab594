"""A gateway process that writes down its own memory on SIGUSR1 (`manage.py socket_memory`).

`python -m loadbench.traced_gateway -m uvicorn|daphne ARGS…` runs that server as its own
command line would, after starting tracemalloc (LOADBENCH_TRACE_FRAMES deep; 0: off).
Each SIGUSR1 writes LOADBENCH_MEMORY_DUMP.N (N = 1, 2, …): the Python objects the
collector tracks, counted and sized (shallow) by type, and with tracing on a tracemalloc
snapshot beside it (.N.trace).
"""

import gc
import os
import pickle
import signal
import sys
import tracemalloc
from collections import Counter

FRAMES = int(os.environ.get("LOADBENCH_TRACE_FRAMES", "0"))
DUMP = os.environ["LOADBENCH_MEMORY_DUMP"]
_dumps = 0


def dump(signum, frame) -> None:
    global _dumps
    gc.collect()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for found in gc.get_objects():
        name = f"{type(found).__module__}.{type(found).__qualname__}"
        counts[name] += 1
        sizes[name] += sys.getsizeof(found)
    _dumps += 1
    path = f"{DUMP}.{_dumps}"
    if FRAMES:
        tracemalloc.take_snapshot().dump(f"{path}.trace")
    with open(f"{path}.part", "wb") as out:
        pickle.dump({"counts": counts, "sizes": sizes}, out)
    os.rename(f"{path}.part", path)  # whole once it has its name


def main() -> None:
    if FRAMES:
        tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, dump)
    flag, server, *arguments = sys.argv[1:]
    if flag != "-m" or server not in ("daphne", "uvicorn"):
        sys.exit("usage: python -m loadbench.traced_gateway -m daphne|uvicorn ARGS…")
    sys.argv = [server, *arguments]
    if server == "uvicorn":
        from uvicorn.main import main as serve

        serve()
    else:
        from daphne.cli import CommandLineInterface

        CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
