"""Joins reuse the stream's row as a recent join read it (a join storm reads it once every
SNAPSHOT_SECONDS, not per socket), and never past a change the stream's group carried."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from comments import gateway as gateway_module
from moderation.models import ModerationAction
from moderation.services import pin_comment
from streams.models import Stream
from streams.services import change_chat_settings, edit_stream

pytestmark = pytest.mark.django_db(transaction=True)


async def joined_state(clients, stream) -> dict:
    viewer = await clients()  # anonymous, as most of a join storm is
    state, _ = await viewer.join(stream)
    await viewer.close()  # a test that joins again and again stays under the cap per address
    return state


async def test_a_join_after_a_pin_is_sent_the_pin_at_once(clients, alice, stream):
    author = await clients(alice)
    await author.join(stream)
    posted = await author.post(stream, "the replay is at 9")
    await joined_state(clients, stream)  # reads the row and keeps it for the joins after

    await database_sync_to_async(pin_comment)(
        int(posted["commentId"]), source=ModerationAction.Source.ADMIN
    )
    await author.receive_type("comment_updated")  # the pin went out on the stream's group

    state = await joined_state(clients, stream)
    assert [c["id"] for c in state["pinnedComments"]] == [posted["commentId"]]


async def test_a_pin_heard_while_a_signed_in_join_reads_the_ban_reaches_that_join(
    clients, alice, bob, stream
):
    author = await clients(alice)
    await author.join(stream)
    posted = await author.post(stream, "the replay is at 9")
    await joined_state(clients, stream)  # keeps the row for the joins after
    viewer = await clients(bob)

    def pin_elsewhere():  # as the admin would, from a thread and a connection of its own
        try:
            pin_comment(int(posted["commentId"]), source=ModerationAction.Source.ADMIN)
        finally:
            connection.close()

    release = threading.Event()
    # Hold the one database thread: bob's join, with the kept row, waits to read the ban.
    holding = asyncio.ensure_future(database_sync_to_async(release.wait)())
    try:
        await viewer.send("join_stream", streamId=str(stream.id))
        await asyncio.to_thread(pin_elsewhere)
        await author.receive_type("comment_updated")  # heard before bob is in the room
    finally:
        release.set()
        await holding

    state = await viewer.receive_type("stream_state")
    assert [c["id"] for c in state["pinnedComments"]] == [posted["commentId"]]


async def test_a_join_after_a_settings_change_is_sent_the_new_settings(clients, alice, stream):
    author = await clients(alice)
    await author.join(stream)
    await joined_state(clients, stream)

    await database_sync_to_async(change_chat_settings)(
        stream.id, {"hold_links": True}, source=ModerationAction.Source.ADMIN
    )
    await author.receive_type("stream_settings")

    assert (await joined_state(clients, stream))["settings"]["holdLinks"] is True


async def test_a_join_after_a_title_edit_is_sent_the_new_title(clients, alice, stream):
    author = await clients(alice)
    await author.join(stream)
    await joined_state(clients, stream)

    stream.title = "Launch night"
    await database_sync_to_async(edit_stream)(stream, ["title"])

    # Viewers get no frame for it: join until the gateway has heard, well inside the
    # two seconds after which it would read the row again anyway.
    async with asyncio.timeout(1):
        while (await joined_state(clients, stream))["title"] != "Launch night":
            await asyncio.sleep(0.02)  # a join takes well under a millisecond


async def test_a_change_no_message_carries_reaches_joins_after_the_snapshot_ends(
    clients, alice, stream, monkeypatch
):
    monkeypatch.setattr(gateway_module, "SNAPSHOT_SECONDS", 0.5)
    author = await clients(alice)
    await author.join(stream)
    await joined_state(clients, stream)
    # An edit outside the services (a shell's update) tells no gateway.
    await database_sync_to_async(Stream.objects.filter(id=stream.id).update)(title="Launch night")

    reused = await joined_state(clients, stream)
    await asyncio.sleep(0.5)
    read_again = await joined_state(clients, stream)

    assert (reused["title"], read_again["title"]) == ("Launch day", "Launch night")
