"""A client used before connect() connects by itself (through the real FFI and server): the
first join, persisted publish or history on a client never connected starts connecting, and a
connect() made meanwhile attaches to the same attempt."""

import asyncio
import json
import time
import urllib.request

import pytest

from conftest import WAIT, Recorder, new_client, roomcast, run_async

E = roomcast.RoomcastError
CS = roomcast.ConnectionState


def connections(server):
    with urllib.request.urlopen(f"http://{server.addr}/stats", timeout=5) as r:
        return json.load(r)["connections"]


@run_async
async def test_join_without_connect_joins_and_publishes(server):
    client = new_client(server.config("alice"), None)
    room = await asyncio.wait_for(client.join("conv-1", Recorder()), WAIT)
    ack = await asyncio.wait_for(room.publish("chat.message", '{"content":"hi"}'), WAIT)
    assert ack.seq == 1
    assert client.state() == CS.CONNECTED()


@run_async
async def test_a_rejected_token_fails_the_join_promptly(server):
    bad = server.token("alice", secret="not-the-server-secret")
    client = new_client(server.config("alice", token=bad), None)
    started = time.monotonic()
    with pytest.raises(E.Unauthorized):
        await asyncio.wait_for(client.join("conv-1", Recorder()), WAIT)
    assert time.monotonic() - started < 5
    assert client.state() == CS.UNAUTHORIZED()


@run_async
async def test_history_on_a_client_never_connected(server):
    writer = new_client(server.config("alice"), None)
    room = await asyncio.wait_for(writer.join("conv-1", Recorder()), WAIT)
    for i in range(3):
        await room.publish("chat.message", json.dumps({"i": i}))
    reader = new_client(server.config("bob"), None)
    page = await asyncio.wait_for(reader.room("conv-1").history(None, 10), WAIT)
    assert [m.seq for m in page.messages] == [1, 2, 3]


@run_async
async def test_connect_after_an_automatic_connection_is_the_same_connection(server):
    client = new_client(server.config("alice"), None)
    join = asyncio.ensure_future(client.join("conv-1", Recorder()))
    await asyncio.sleep(0)
    await asyncio.wait_for(client.connect(), WAIT)
    await asyncio.wait_for(join, WAIT)
    await asyncio.wait_for(client.connect(), WAIT)
    assert connections(server) == 1


@run_async
async def test_close_before_connect_then_join_is_closed(server):
    client = new_client(server.config("alice"), None)
    await client.close()
    started = time.monotonic()
    with pytest.raises(E.Closed):
        await asyncio.wait_for(client.join("conv-1", Recorder()), WAIT)
    assert time.monotonic() - started < 2
    assert connections(server) == 0
