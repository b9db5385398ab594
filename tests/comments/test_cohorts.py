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

    def outlet(self):
        return None

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


class DirectSocket(Socket):
    """A socket whose frames can be written directly once its join's frames are out."""

    def __init__(self):
        super().__init__()
        self.joining = True
        self.asked = 0
        self.written = []

    def write_prepared(self, frame):
        self.asked += 1
        return False if self.joining else self.write(frame)

    def outlet(self):
        return None if self.joining else self.write

    def write(self, frame):
        self.written.append(json.loads(frame.text))
        return True


async def test_a_socket_is_asked_for_each_frame_until_its_outlet_is_taken():
    room = StreamRoom(1, "gw")
    socket = DirectSocket()
    room.add(socket)  # while its join's frames still go out

    await room.send_local('{"type": "first"}')
    socket.joining = False
    await room.send_local('{"type": "second"}')  # asked again: the room keeps what it took
    room.outlet_changed(socket)
    await room.send_local('{"type": "third"}')

    assert [f["type"] for f in socket.frames] == ["first"]  # sent the plain way
    assert [f["type"] for f in socket.written] == ["second", "third"]
    assert socket.asked == 2  # not for the third: the room wrote through the outlet
