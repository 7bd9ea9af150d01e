"""The delivery guarantees through the FFI: offline queue across a server restart, resume
without duplicates, pause and resume."""

import asyncio
import json
import time

from conftest import Recorder, States, joined_pair, new_client, roomcast, run_async

CS = roomcast.ConnectionState


async def sentinel(room_from, rec_to, event="sentinel"):
    """Publishes a last message and waits until `rec_to` has it. Delivery is in seq order,
    so anything (a duplicate included) that was going to arrive before it has arrived."""
    ack = await room_from.publish(event, "{}")
    await rec_to.until(lambda r: any(m.id == ack.id for m in r.messages()))
    return ack


def body(m):
    return json.loads(m.data_json)


@run_async
async def test_offline_queue_flushes_after_a_server_restart_without_duplicates(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    states = States()
    sub = alice.add_state_listener(states)
    first = await room_a.publish("chat.message", json.dumps({"n": 0}))
    await b.until(lambda r: len(r.messages()) == 1)

    server.kill()
    await states.until(lambda s: s[-1].is_RECONNECTING())
    # Published while the server is down: queued, completing once it is back.
    pending = [
        asyncio.ensure_future(room_a.publish("chat.message", json.dumps({"n": n})))
        for n in range(1, 6)
    ]
    await asyncio.sleep(0)  # one loop turn: each task makes its call (a yield, not a wait)
    assert await alice.queued() == 5
    assert not any(p.done() for p in pending)

    server.restart()
    acks = await asyncio.wait_for(asyncio.gather(*pending), 20)
    assert [ack.seq for ack in acks] == [2, 3, 4, 5, 6]
    assert await alice.queued() == 0

    end = await sentinel(room_a, b)
    got = b.messages()
    assert [m.seq for m in got] == [first.seq, 2, 3, 4, 5, 6, end.seq]
    assert [body(m).get("n") for m in got[:-1]] == [0, 1, 2, 3, 4, 5]
    assert len({m.id for m in got}) == len(got)
    # Bob's resume was complete: no gap. (A resume's replay precedes its `joined`, so wait
    # for it: the sentinel itself may have been replayed.)
    await b.until(lambda r: len(r.of("joined")) == 2)
    assert [j.rejoin for j in b.of("joined")] == [False, True]
    assert b.of("gap") == []
    # The stored history has each message once.
    page = await room_b.history(None, 100)
    assert [m.seq for m in page.messages] == [1, 2, 3, 4, 5, 6, 7]
    sub.cancel()


@run_async
async def test_resume_after_pause_replays_only_what_was_missed(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    for n in range(3):
        await room_a.publish("chat.message", json.dumps({"n": n}))
    await b.until(lambda r: len(r.messages()) == 3)

    bob_states = States()
    bob_sub = bob.add_state_listener(bob_states)
    bob.pause()  # a command to the client's driver: it takes effect just after
    await bob_states.until(lambda s: s[-1] == CS.PAUSED())
    assert bob.state() == CS.PAUSED()
    missed = [await room_a.publish("chat.message", json.dumps({"n": n})) for n in range(3, 6)]
    assert [ack.seq for ack in missed] == [4, 5, 6]

    bob.resume()
    await b.until(lambda r: len(r.messages()) == 6)
    end = await sentinel(room_a, b)
    assert [m.seq for m in b.messages()] == [1, 2, 3, 4, 5, 6, end.seq]
    await b.until(lambda r: len(r.of("joined")) == 2)
    assert [j.recovered for j in b.of("joined")] == [True, True]
    assert b.of("gap") == []
    bob_sub.cancel()


@run_async
async def test_resume_past_the_replay_limit_is_complete(small_replay_server):
    server = small_replay_server
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    await room_a.publish("chat.message", json.dumps({"n": 0}))
    await b.until(lambda r: len(r.messages()) == 1)
    bob_states = States()
    bob_sub = bob.add_state_listener(bob_states)
    bob.pause()
    await bob_states.until(lambda s: s[-1] == CS.PAUSED())
    for n in range(1, 40):
        await room_a.publish("chat.message", json.dumps({"n": n}))
    bob.resume()
    end = await sentinel(room_a, b)
    got = b.messages()
    assert [m.seq for m in got] == list(range(1, 41)) + [end.seq]
    assert [body(m).get("n") for m in got[:-1]] == list(range(40))
    await b.until(lambda r: len(r.of("joined")) == 2)
    assert [j.recovered for j in b.of("joined")] == [True, False]
    assert b.of("gap") == []
    bob_sub.cancel()


@run_async
async def test_publishes_made_while_paused_are_sent_on_resume(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    alice.pause()
    pending = [
        asyncio.ensure_future(room_a.publish("chat.message", json.dumps({"n": n})))
        for n in range(3)
    ]
    await asyncio.sleep(0)  # one loop turn: each task makes its call
    assert await alice.queued() == 3
    alice.resume()
    acks = await asyncio.wait_for(asyncio.gather(*pending), 20)
    assert [ack.seq for ack in acks] == [1, 2, 3]
    end = await sentinel(room_a, b)
    assert [m.seq for m in b.messages()] == [1, 2, 3, end.seq]


@run_async
async def test_state_listener_sees_the_connection_lifecycle(server):
    client = new_client(server.config("alice", min_delay_ms=200, max_delay_ms=400), None)
    states = States()
    sub = client.add_state_listener(states)
    await states.until(lambda s: s == [CS.IDLE()])

    await client.connect()
    await states.until(lambda s: s[-1] == CS.CONNECTED())
    # Watch semantics: intermediate states may be coalesced, never reordered.
    assert states.seen[0] == CS.IDLE()
    assert all(s in (CS.IDLE(), CS.CONNECTING(attempt=0), CS.CONNECTED()) for s in states.seen)

    server.kill()
    await states.until(lambda s: s[-1].is_RECONNECTING())
    reconnecting = next(s for s in states.seen if s.is_RECONNECTING())
    assert reconnecting.attempt >= 1 and 100 <= reconnecting.delay_ms <= 400

    client.pause()
    await states.until(lambda s: s[-1] == CS.PAUSED())
    server.restart()
    client.resume()
    await states.until(lambda s: s[-1] == CS.CONNECTED())

    # reconnect_now skips the wait: with a minute of backoff, only it reconnects in time.
    slow = new_client(server.config("bob", min_delay_ms=60_000, max_delay_ms=60_000), None)
    slow_states = States()
    slow_sub = slow.add_state_listener(slow_states)
    await slow.connect()
    server.restart()
    await slow_states.until(lambda s: s[-1].is_RECONNECTING())
    assert next(s for s in slow_states.seen if s.is_RECONNECTING()).delay_ms >= 30_000
    slow.reconnect_now()
    await slow_states.until(lambda s: s[-1] == CS.CONNECTED(), timeout=10)
    slow_sub.cancel()

    # A cancelled subscription hears nothing more; a live one does.
    control = States()
    control_sub = client.add_state_listener(control)
    sub.cancel()
    seen = list(states.seen)
    await client.close()
    await control.until(lambda s: s[-1] == CS.CLOSED())
    assert client.state() == CS.CLOSED()
    assert states.seen == seen
    del control_sub


class Blocking(Recorder):
    """A listener whose first message takes `seconds` of real (blocking) work."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.blocked = False

    def on_message(self, message):
        if not self.blocked:
            self.blocked = True
            time.sleep(self.seconds)
        super().on_message(message)


@run_async
async def test_a_blocking_listener_delays_neither_other_rooms_nor_the_connection(server):
    alice = new_client(server.config("alice", "ios"), None)
    bob = new_client(server.config("bob", "web"), None)
    await alice.connect()
    await bob.connect()
    slow, fast = Blocking(3.0), Recorder()
    # The rooms stay referenced: a released room releases its listener.
    b_slow = await bob.join("slow", slow)
    b_fast = await bob.join("fast", fast)
    states = States()
    sub = bob.add_state_listener(states)
    a_slow = await alice.join("slow", Recorder())
    a_fast = await alice.join("fast", Recorder())

    await a_slow.publish("work", "1")
    for _ in range(50):
        if slow.blocked:
            break
        await asyncio.sleep(0.1)
    assert slow.blocked and slow.messages() == []
    loop = asyncio.get_running_loop()
    started = loop.time()
    await a_fast.publish("ping", "1")
    await fast.until(lambda r: len(r.messages()) == 1, timeout=1.0)
    assert loop.time() - started < 1.0, "the other room was not held up"
    await slow.until(lambda r: len(r.messages()) == 1, timeout=10)
    assert [s for s in states.seen if s != CS.CONNECTED()] == []
    assert (b_slow.name(), b_fast.name()) == ("slow", "fast")
    sub.cancel()


@run_async
async def test_latest_resume_takes_the_newest_and_reports_a_gap(small_replay_server):
    server = small_replay_server
    alice = new_client(server.config("alice", "ios"), None)
    bob = new_client(server.config("bob", "web"), None)
    await alice.connect()
    await bob.connect()
    b = Recorder()
    room_b = await bob.join("tile", b, roomcast.ResumeMode.LATEST)
    room_a = await alice.join("tile", Recorder())
    await room_a.publish("n", "0")
    await b.until(lambda r: len(r.messages()) == 1)
    states = States()
    sub = bob.add_state_listener(states)
    bob.pause()
    await states.until(lambda s: s[-1] == CS.PAUSED())
    for n in range(1, 20):
        await room_a.publish("n", str(n))
    bob.resume()
    await b.until(lambda r: len(r.of("gap")) == 1)
    await b.until(lambda r: len(r.messages()) == 6)
    assert [m.seq for m in b.messages()] == [1, 16, 17, 18, 19, 20]
    gap = b.of("gap")[0]
    assert (gap.since, gap.head) == (1, 20)
    assert room_b.name() == "tile"
    sub.cancel()
