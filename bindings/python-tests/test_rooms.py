"""Connect, join, publish and receive through the real FFI, between two clients."""

import json

from conftest import Recorder, joined_pair, roomcast, run_async

CS = roomcast.ConnectionState


@run_async
async def test_connect_join_publish_and_receive(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    assert alice.state() == CS.CONNECTED()
    assert room_a.name() == "conv-1"

    # Joined reaches the listener before join() returns, with presence.
    [info] = a.of("joined")
    assert info.room == "conv-1" and info.recovered and not info.rejoin
    assert [m.user for m in info.presence] == ["alice"]
    await a.until(lambda r: any(p.member.user == "bob" for p in r.of("presence")))
    join = a.of("presence")[0]
    assert join.kind == roomcast.PresenceKind.JOIN
    assert (join.member.source, join.member.client) == ("web", "bob-web")

    ack = await room_a.publish("chat.message", json.dumps({"role": "user", "content": "Hello"}))
    assert ack.seq == 1 and ack.ts > 0 and ack.id

    await b.until(lambda r: len(r.messages()) == 1)
    [msg] = b.messages()
    assert (msg.room, msg.seq, msg.id, msg.event) == ("conv-1", 1, ack.id, "chat.message")
    assert json.loads(msg.data_json) == {"role": "user", "content": "Hello"}
    assert (msg._from.user, msg._from.source, msg._from.name) == ("alice", "ios", "alice's ios")
    assert msg.ts == ack.ts

    # The publisher gets the ack, not its own message back.
    ack2 = await room_b.publish("chat.message", json.dumps({"content": "Hi alice"}))
    await a.until(lambda r: len(r.messages()) == 1)
    assert a.messages()[0].id == ack2.id and a.messages()[0].seq == 2
    assert [m.id for m in b.messages()] == [ack.id]

    page = await room_b.history(None, 50)
    assert (page.room, page.more) == ("conv-1", False)
    assert [m.seq for m in page.messages] == [1, 2]
    older = await room_b.history(2, 50)
    assert [m.id for m in older.messages] == [ack.id]

    await alice.close()
    await bob.close()
    assert alice.state() == CS.CLOSED()


@run_async
async def test_ephemeral_messages_are_delivered_but_not_stored(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    await room_a.publish_ephemeral("typing", json.dumps({"typing": True}))
    await b.until(lambda r: len(r.messages("typing")) == 1)
    typing = b.messages("typing")[0]
    assert typing.seq is None and json.loads(typing.data_json) == {"typing": True}
    assert (await room_b.history(None, 50)).messages == []


@run_async
async def test_leave_stops_messages_and_presence_reports_it(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    await room_b.leave()
    await a.until(lambda r: any(p.kind == roomcast.PresenceKind.LEAVE for p in r.of("presence")))
    await room_a.publish("chat.message", json.dumps({"content": "gone?"}))
    # A message published after the leave, then a sentinel on a room bob still has:
    # bob's ordered delivery means the first would have arrived before the second.
    other_b = Recorder()
    other_room_b = await bob.join("conv-2", other_b)
    other_room_a = await alice.join("conv-2", Recorder())
    await other_room_a.publish("chat.message", "{}")
    await other_b.until(lambda r: len(r.messages()) == 1)
    assert b.messages() == []
    assert other_room_b.name() == "conv-2"


@run_async
async def test_room_handles_mirror_the_core(server):
    """client.room(name), room.subscribe(listener) -> Subscription, room.join(): listeners
    subscribed before the join, each its own subscription, ended on leave and kept for the
    next join."""
    from conftest import new_client

    alice = new_client(server.config("alice", "ios"))
    bob = new_client(server.config("bob", "web"))
    await alice.connect()
    await bob.connect()
    room_b = await bob.join("handles", Recorder())

    room = alice.room("handles")
    first, second = Recorder(), Recorder()
    sub_first = room.subscribe(first)
    sub_second = alice.room("handles").subscribe(second)  # another handle, the same room
    info = await room.join()
    assert info.room == "handles" and not info.rejoin
    await first.until(lambda r: len(r.of("joined")) == 1)
    await second.until(lambda r: len(r.of("joined")) == 1)

    for n in range(3):
        await room_b.publish("chat.message", json.dumps({"n": n}))
    await first.until(lambda r: len(r.messages()) == 3)
    await second.until(lambda r: len(r.messages()) == 3)

    # Cancelled: that listener hears nothing more; the other goes on.
    sub_second.cancel()
    await room_b.publish("chat.message", json.dumps({"n": 3}))
    ack = await room_b.publish("sentinel", "{}")
    await first.until(lambda r: any(m.id == ack.id for m in r.messages()))
    assert len(second.messages()) == 3

    # Leaving ends the events for subscribed listeners, which stay for the next join.
    await room.leave()
    await first.until(lambda r: len(r.of("end")) == 1)
    assert second.of("end") == []
    await room.join()
    later = await room_b.publish("chat.message", json.dumps({"n": 4}))
    await first.until(lambda r: any(m.id == later.id for m in r.messages()))
    seqs = [m.seq for m in first.messages()]
    assert seqs == sorted(set(seqs)), "each once, in order"

    # Closing the client ends them too.
    await alice.close()
    await first.until(lambda r: len(r.of("end")) == 2)
    del sub_first
