"""Chat modes (SPEC §3): the settings every viewer is told, RESTRICTED, shield mode, and
the host and moderators never limited by them; over real WebSocket connections."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from moderation.models import ModerationAction
from streams import services
from streams.models import Stream

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = ModerationAction.Source.ADMIN
DEFAULTS = {
    "slowModeSeconds": 0,
    "locked": False,
    "minAccountAgeMinutes": 0,
    "holdLinks": False,
    "shield": False,
}


async def change(stream, moderator, **changes):
    return await sync_to_async(services.change_chat_settings)(
        stream.id, changes, actor=moderator, source=ADMIN
    )


async def shield(stream, moderator, on):
    return await sync_to_async(services.set_shield)(stream.id, on, actor=moderator, source=ADMIN)


async def test_every_join_is_told_the_chat_settings(clients, bob, stream):
    state, _ = await (await clients(bob)).join(stream)

    assert state["settings"] == DEFAULTS
    assert state["restriction"] is None


async def test_a_locked_chat_refuses_viewers_but_not_the_host_nor_moderators(
    clients, alice, host, moderator, stream
):
    viewer, host_socket, moderating = [await clients(user) for user in (alice, host, moderator)]
    for client in (viewer, host_socket, moderating):
        await client.join(stream)

    await change(stream, moderator, locked=True)

    told = await viewer.receive_type("stream_settings")
    assert told == {"streamId": str(stream.id), "settings": {**DEFAULTS, "locked": True}}
    ack = await viewer.post(stream, "let me talk")
    assert (ack["status"], ack["code"], ack["commentId"]) == ("rejected", "RESTRICTED", None)
    assert (await host_socket.post(stream, "hosts talk"))["status"] == "accepted"
    assert (await moderating.post(stream, "mods talk"))["status"] == "accepted"


async def test_an_account_younger_than_the_minimum_is_refused_with_how_long_to_wait(
    clients, alice, bob, moderator, stream, django_user_model
):
    await django_user_model.objects.filter(id=bob.id).aupdate(
        date_joined=timezone.now() - timedelta(days=2)
    )
    await django_user_model.objects.filter(id=alice.id).aupdate(
        date_joined=timezone.now() - timedelta(minutes=50)
    )
    new, old = await clients(alice), await clients(bob)
    await new.join(stream)
    await old.join(stream)

    await change(stream, moderator, min_account_age_minutes=60)

    ack = await new.post(stream, "first!")
    assert (ack["status"], ack["code"]) == ("rejected", "RESTRICTED")
    assert (await old.post(stream, "been here a while"))["status"] == "accepted"


async def test_slow_mode_does_not_limit_the_host(clients, host, moderator, stream):
    await change(stream, moderator, slow_mode_seconds=30)
    client = await clients(host)
    await client.join(stream)

    for n in range(3):
        assert (await client.post(stream, f"host says {n}"))["status"] == "accepted"


async def test_shield_mode_raises_the_settings_and_off_puts_back_exactly_what_was_there(
    clients, bob, moderator, stream
):
    await change(stream, moderator, slow_mode_seconds=45, locked=True)
    viewer = await clients(bob)
    await viewer.join(stream)
    before = {**DEFAULTS, "slowModeSeconds": 45, "locked": True}

    await shield(stream, moderator, True)
    on = await viewer.receive_type("stream_settings")
    await shield(stream, moderator, False)
    off = await viewer.receive_type("stream_settings")

    # At least the floor: the 45 s slow mode stays, the rest is raised.
    assert on["settings"] == {
        "slowModeSeconds": 45,
        "locked": True,
        "minAccountAgeMinutes": 24 * 60,
        "holdLinks": True,
        "shield": True,
    }
    assert off["settings"] == before
    stored = await Stream.objects.aget(id=stream.id)
    assert (stored.slow_mode_seconds, stored.min_account_age_minutes) == (45, 0)
    kinds = [
        kind
        async for kind in ModerationAction.objects.filter(stream=stream)
        .order_by("id")
        .values_list("kind", flat=True)
    ]
    assert kinds == ["chat_settings", "shield_on", "shield_off"]


def test_turning_shield_on_twice_keeps_the_settings_from_before_the_first(moderator, stream):
    services.set_slow_mode(stream.id, 10, actor=moderator, source=ADMIN)
    services.set_shield(stream.id, True, actor=moderator, source=ADMIN)
    services.set_shield(stream.id, True, actor=moderator, source=ADMIN)

    services.set_shield(stream.id, False, actor=moderator, source=ADMIN)

    stream.refresh_from_db()
    assert (stream.slow_mode_seconds, stream.min_account_age_minutes, stream.hold_links) == (
        10,
        0,
        False,
    )
    assert stream.shield_saved is None


def test_unknown_or_negative_settings_are_refused(moderator, stream):
    with pytest.raises(ValueError, match="no such chat setting"):
        services.change_chat_settings(stream.id, {"nope": 1}, source=ADMIN)
    with pytest.raises(ValueError, match="negative"):
        services.change_chat_settings(stream.id, {"slow_mode_seconds": -1}, source=ADMIN)
