"""Foreign listeners are released by Rust when their subscription or room goes away, so a
listener (and whatever it references) never outlives its use: no retain cycles."""

import asyncio
import gc
import threading
import weakref

from conftest import WAIT, Recorder, States, new_client, roomcast, run_async

CS = roomcast.ConnectionState


def released(obj):
    """A threading.Event set when `obj` is garbage collected."""
    event = threading.Event()
    weakref.finalize(obj, event.set)
    return event


async def wait_released(event):
    gc.collect()
    assert await asyncio.to_thread(event.wait, WAIT), "listener still referenced"


@run_async
async def test_dropping_a_subscription_releases_its_listener(server):
    client = new_client(server.config("alice"), None)
    listener = States()
    gone = released(listener)
    sub = client.add_state_listener(listener)
    await listener.until(lambda s: s == [CS.IDLE()])
    seen = listener.seen
    del listener
    gc.collect()
    assert not gone.is_set(), "released while subscribed"

    del sub  # no cancel(): releasing the Subscription object is enough
    await wait_released(gone)
    control = States()
    control_sub = client.add_state_listener(control)
    client.pause()
    await control.until(lambda s: s[-1] == CS.PAUSED())
    assert seen == [CS.IDLE()]
    control_sub.cancel()


@run_async
async def test_leaving_or_releasing_a_room_releases_its_listener(server):
    client = new_client(server.config("alice"), None)
    await client.connect()

    listener = Recorder()
    left = released(listener)
    room = await client.join("conv-1", listener)
    del listener
    gc.collect()
    assert not left.is_set(), "released while joined"
    await room.leave()
    await wait_released(left)

    listener = Recorder()
    dropped = released(listener)
    room = await client.join("conv-2", listener)
    del listener, room
    await wait_released(dropped)
