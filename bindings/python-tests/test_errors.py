"""Every failure reaches Python as a typed RoomcastError case."""

import asyncio
import json

import pytest

from conftest import Recorder, new_client, roomcast, run_async

E = roomcast.RoomcastError
CS = roomcast.ConnectionState


@run_async
async def test_forbidden_room(server):
    client = new_client(server.config("alice", rooms="conv-*"), None)
    await client.connect()
    await client.join("conv-1", Recorder())  # allowed by the pattern
    with pytest.raises(E.Forbidden):
        await client.join("secret-1", Recorder())


@run_async
async def test_bad_room_name(server):
    client = new_client(server.config("alice"), None)
    await client.connect()
    with pytest.raises(E.InvalidRoom) as err:
        await client.join("bad room", Recorder())
    assert "' '" in err.value.reason
    with pytest.raises(E.InvalidRoom):
        await client.join("x" * 129, Recorder())


@run_async
async def test_too_large(server):
    client = new_client(server.config("alice"), None)
    await client.connect()
    room = await client.join("conv-1", Recorder())
    with pytest.raises(E.TooLarge) as err:
        await room.publish("blob", json.dumps("x" * 70_000))
    assert err.value.size > err.value.max == 65536
    # Nothing was queued and the connection is fine.
    assert await client.queued() == 0
    assert (await room.publish("chat.message", "{}")).seq == 1


@run_async
async def test_unauthorized_without_provider(server):
    bad = server.token("alice", secret="not-the-server-secret")
    client = new_client(server.config("alice", token=bad), None)
    with pytest.raises(E.Unauthorized):
        await client.connect()
    assert client.state() == CS.UNAUTHORIZED()


@run_async
async def test_invalid_config_and_payload(server):
    with pytest.raises(E.InvalidConfig):
        new_client(server.config("alice", url="http://127.0.0.1:1/ws"), None)
    with pytest.raises(E.InvalidConfig):
        new_client(server.config("alice", token=None), None)
    with pytest.raises(E.InvalidConfig):
        new_client(server.config("alice", queue_capacity=0), None)

    client = new_client(server.config("alice"), None)
    await client.connect()
    room = await client.join("conv-1", Recorder())
    with pytest.raises(E.InvalidPayload):
        await room.publish("chat.message", "{not json")


@run_async
async def test_offline_ephemeral_queue_full_and_closed(server):
    client = new_client(server.config("alice", queue_capacity=2), None)
    await client.connect()
    room = await client.join("conv-1", Recorder())
    client.pause()
    # Ephemeral publishes are never queued.
    with pytest.raises(E.NotConnected):
        await room.publish_ephemeral("typing", "{}")
    # History needs a live connection.
    with pytest.raises(E.NotConnected):
        await room.history(None, 10)

    # Persisted ones are queued, up to the capacity.
    pending = [asyncio.ensure_future(room.publish("chat.message", f'{{"n":{i}}}')) for i in range(2)]
    await asyncio.sleep(0)  # one loop turn: both tasks make their call (a yield, not a wait)
    with pytest.raises(E.QueueFull) as err:
        await room.publish("chat.message", '{"n":2}')
    assert err.value.capacity == 2
    assert await client.queued() == 2

    # Closing fails what is still queued, and everything after.
    await client.close()
    for p in pending:
        with pytest.raises(E.Closed):
            await p
    with pytest.raises(E.Closed):
        await room.publish("chat.message", "{}")
    with pytest.raises(E.Closed):
        await client.connect()
    assert client.state() == CS.CLOSED()


@run_async
async def test_not_joined_after_leave(server):
    client = new_client(server.config("alice"), None)
    await client.connect()
    room = await client.join("conv-1", Recorder())
    await room.leave()
    with pytest.raises(E.NotJoined) as err:
        await room.publish("chat.message", "{}")
    assert err.value.room == "conv-1"
