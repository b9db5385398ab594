"""loadbench --profile: py-spy's recording of a process, and the split of its samples by step."""

import subprocess
import sys

import pytest

from loadbench import profile

SPINNING = """
import json, time
end = time.monotonic() + 8
while time.monotonic() < end:
    json.dumps({"spin": list(range(50))})
"""


def test_samples_are_charged_to_the_step_of_their_innermost_known_frame(tmp_path):
    stacks = tmp_path / "stacks.txt"
    stacks.write_text(
        # A fan-out whose time went into the transport's write, then into Channels' send.
        "_run (asyncio/base_events.py:600);flush (comments/batcher.py:170);"
        "send_local (comments/delivery.py:140);"
        "_SelectorSocketTransport.write (asyncio/selector_events.py:1060) 6\n"
        "_run (asyncio/base_events.py:600);flush (comments/batcher.py:170);"
        "send (channels/consumer.py:82) 3\n"
        "<module> (somewhere.py:1) 1\n"
        # uvloop in epoll, and the writer thread waiting for PostgreSQL: no work.
        "Runner.run (asyncio/runners.py:118) 5\n"
        "_worker (concurrent/futures/thread.py:81);store_posts (comments/writer.py:90);"
        "Connection.wait (psycopg/connection.py:495) 5\n"
    )

    shares = profile.split(stacks)

    assert shares == {
        "transport write (kernel send, the servers' write buffers)": 0.3,
        "ASGI send chain (consumer, Channels, our send wrappers)": 0.15,
        profile.OTHER: 0.05,
        profile.WAITING: 0.5,
    }


@pytest.mark.timeout(60)
def test_a_recording_of_a_running_process_gives_a_flame_graph_and_its_split(tmp_path):
    spinning = subprocess.Popen([sys.executable, "-c", SPINNING])
    try:
        recording = profile.record(spinning.pid, 2, tmp_path / "spin")
        shares = recording.finish(timeout=30)
    finally:
        spinning.kill()
        spinning.wait()

    assert recording.flamegraph.read_text().lstrip().startswith("<?xml")
    assert shares and sum(shares.values()) == pytest.approx(1)
