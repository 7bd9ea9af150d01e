"""The store through the FFI: an app process killed with queued publishes, a new process on
the same store sending them once, rooms resuming from the kept position, one process per
store, and a damaged store moved aside."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import BINDINGS, Recorder, new_client, roomcast, run_async

HERE = os.path.dirname(__file__)


def copy_of(store):
    """A copy of a store's journal in a new directory, or None before the journal exists."""
    copy = tempfile.mkdtemp(prefix="roomcast-store-copy-")
    try:
        shutil.copy(os.path.join(store, "journal"), os.path.join(copy, "journal"))
    except FileNotFoundError:
        shutil.rmtree(copy, ignore_errors=True)
        return None
    return copy


@pytest.fixture
def store():
    path = tempfile.mkdtemp(prefix="roomcast-store-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def kept(server, store):
    """The publishes a running process's store holds, read through a client opened on a copy
    (the running process holds the store's lock)."""
    copy = copy_of(store)
    if copy is None:
        return []
    client = roomcast.Client(server.config("probe", store_path=copy), None)
    try:
        return await client.pending()
    finally:
        await client.close()
        shutil.rmtree(copy, ignore_errors=True)


@run_async
async def test_a_killed_process_queue_is_sent_once_by_the_next_process(server, store):
    bob = new_client(server.config("bob", "web"))
    await bob.connect()
    b = Recorder()
    room_b = await bob.join("kept", b)

    child = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "store_child.py"), server.url,
         server.token("alice"), store, "kept", "20"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, ROOMCAST_FFI_PY=BINDINGS),
    )
    try:
        assert child.stdout.readline().strip() == "joined"
        server.kill()
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "published"
        deadline = time.monotonic() + 15
        while len(await kept(server, store)) < 20:
            assert time.monotonic() < deadline, "the store never held the 20 publishes"
            await asyncio.sleep(0.05)
    finally:
        child.kill()
        child.wait()

    server.restart()
    alice = new_client(server.config("alice", "ios", store_path=store))
    restored = await alice.pending()
    assert [json.loads(p.data_json)["n"] for p in restored] == list(range(20))
    await alice.connect()
    a = Recorder()
    _room_a = await alice.join("kept", a)
    await b.until(lambda r: len(r.messages()) == 20)
    got = b.messages()
    assert [json.loads(m.data_json)["n"] for m in got] == list(range(20))
    assert [m.seq for m in got] == list(range(1, 21))
    deadline = time.monotonic() + 15
    while await alice.queued() > 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    page = await room_b.history(None, 100)
    assert len(page.messages) == 20, "each stored once"
    assert await alice.pending() == []


@run_async
async def test_a_room_joined_again_resumes_after_the_kept_position(server, store):
    alice = new_client(server.config("alice", "ios"))
    await alice.connect()
    room_a = await alice.join("tail", Recorder())
    bob = new_client(server.config("bob", "web", store_path=store))
    await bob.connect()
    b = Recorder()
    room_b = await bob.join("tail", b)
    for n in range(5):
        await room_a.publish("chat.message", json.dumps({"n": n}))
    await b.until(lambda r: len(r.messages()) == 5)
    await bob.close()
    del room_b

    for n in range(5, 10):
        await room_a.publish("chat.message", json.dumps({"n": n}))
    bob2 = new_client(server.config("bob", "web", store_path=store))
    await bob2.connect()
    b2 = Recorder()
    _room_b2 = await bob2.join("tail", b2)
    await b2.until(lambda r: len(r.messages()) == 5)
    ack = await room_a.publish("sentinel", "{}")
    await b2.until(lambda r: any(m.id == ack.id for m in r.messages()))
    assert [m.seq for m in b2.messages()] == [6, 7, 8, 9, 10, 11], "nothing repeated"


@run_async
async def test_one_process_per_store(server, store):
    first = new_client(server.config("alice", "ios", store_path=store))
    with pytest.raises(roomcast.RoomcastError.StoreLocked) as e:
        new_client(server.config("alice", "ios", store_path=store))
    assert store in e.value.path
    # Closing releases the store for the next client.
    await first.close()
    second = new_client(server.config("alice", "ios", store_path=store))
    assert await second.pending() == []


@run_async
async def test_a_damaged_store_is_moved_aside_and_the_client_starts_empty(server, store):
    with open(os.path.join(store, "journal"), "wb") as f:
        f.write(b"this is not a roomcast journal")
    client = new_client(server.config("alice", "ios", store_path=store))
    damage = client.store_damage()
    assert isinstance(damage, roomcast.RoomcastError.Storage), damage
    assert os.path.exists(os.path.join(store, "journal.corrupt"))
    assert await client.pending() == []
    await client.connect()
    room = await client.join("fresh", Recorder())
    ack = await room.publish("chat.message", "{}")
    assert ack.seq == 1
