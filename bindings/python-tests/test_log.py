"""The log sink: the client's tracing events reach a LogSink the app implements, at the level
it chose and nothing below it; cleared, nothing is forwarded."""

import asyncio
import threading

from conftest import WAIT, new_client, roomcast, run_async

L = roomcast.LogLevel
SEVERITY = {L.ERROR: 1, L.WARN: 2, L.INFO: 3, L.DEBUG: 4, L.TRACE: 5}


class Sink(roomcast.LogSink):
    def __init__(self):
        self.records = []
        self.cond = threading.Condition()

    def log(self, record):
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def matching(self, text):
        with self.cond:
            return [r for r in self.records if text in r.message]

    def _wait(self, predicate, timeout):
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.records), timeout):
                raise AssertionError(f"timed out; records so far: {self.records}")

    async def until(self, predicate, timeout=WAIT):
        await asyncio.to_thread(self._wait, predicate, timeout)


def connected(records):
    return [r for r in records if r.message.endswith("state=Connected")]


@run_async
async def test_a_sink_gets_the_clients_events_at_its_level_and_none_below(server):
    info = Sink()
    roomcast.set_log_sink(info, L.INFO)
    try:
        alice = new_client(server.config("alice"))
        await alice.connect()
        await info.until(lambda rs: len(connected(rs)) == 1)
        [record] = connected(info.records)
        assert (record.level, record.target) == (L.INFO, "roomcast_core::native::driver")
        # Connecting logged debug records too ("opening a connection"): none got through.
        assert all(SEVERITY[r.level] <= SEVERITY[L.INFO] for r in info.records), info.records
        assert info.matching("opening a connection") == []

        # The same events at debug level: the debug records arrive, before the state.
        debug = Sink()
        roomcast.set_log_sink(debug, L.DEBUG)
        bob = new_client(server.config("bob"))
        await bob.connect()
        await debug.until(lambda rs: len(connected(rs)) == 1)
        opening = debug.matching("opening a connection")
        assert [r.level for r in opening] == [L.DEBUG]
        assert debug.records.index(opening[0]) < debug.records.index(connected(debug.records)[0])

        # Cleared: a client connecting now logs nothing; the next sink sees only what
        # happens after it is set.
        roomcast.clear_log_sink()
        carol = new_client(server.config("carol"))
        await carol.connect()
        after = Sink()
        roomcast.set_log_sink(after, L.INFO)
        dave = new_client(server.config("dave"))
        await dave.connect()
        await dave.close()
        await after.until(lambda rs: any(r.message.endswith("state=Closed") for r in rs))
        assert len(connected(after.records)) == 1, after.records
        assert len(connected(debug.records)) == 1
    finally:
        roomcast.clear_log_sink()
