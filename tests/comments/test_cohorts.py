"""A room's sockets in cohorts: spread evenly over the interval, each comment to each
socket once, in frames numbered per cohort."""

import itertools
import json

import pytest

from comments.delivery import COHORTS, StreamRoom


class Socket:
    def __init__(self):
        self.frames = []

    def write_prepared(self, frame):
        return False  # no server underneath: the plain path

    async def send_frame(self, text):
        self.frames.append(json.loads(text))


def comment(n):
    return {"id": str(n), "content": f"c{n}", "isHighlighted": False}


def test_sockets_spread_evenly_over_cohorts_at_evenly_spaced_points_of_the_interval():
    room = StreamRoom(1, "gw")
    for _ in range(3 * COHORTS):
        room.add(Socket())

    assert [len(cohort.sockets) for cohort in room.cohorts] == [3] * COHORTS
    phases = sorted(cohort.batcher.phase for cohort in room.cohorts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(phases)]
    assert gaps == pytest.approx([1 / COHORTS] * (COHORTS - 1))


async def test_each_socket_gets_each_comment_once_numbered_by_its_cohort():
    room = StreamRoom(1, "gw")
    sockets = [Socket() for _ in range(2 * COHORTS + 1)]
    for socket in sockets:
        room.add(socket)
    gone = sockets.pop()
    room.remove(gone)

    room.batch([comment(1), comment(2)])
    room.batch([comment(3)])
    await room.flush_batches()

    assert gone.frames == []
    for socket in sockets:
        [frame] = socket.frames
        assert [c["id"] for c in frame["payload"]["comments"]] == ["1", "2", "3"]
        assert frame["payload"]["seq"] == 1
    numbered_by = {socket.frames[0]["payload"]["gatewayId"] for socket in sockets}
    assert numbered_by == {f"gw.{number}" for number in range(COHORTS)}
