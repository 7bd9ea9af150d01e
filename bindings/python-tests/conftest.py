"""Fixtures for the FFI suite: the generated Python bindings and a real roomcast-server.

The bindings are the ones uniffi generates from the same library the Swift package ships
(scripts/test-ffi.sh generates them and sets ROOMCAST_FFI_PY). Every test drives the real
FFI (Rust objects, async methods, foreign listeners and token providers) against a real
server process on loopback.
"""

import asyncio
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER = os.environ.get("ROOMCAST_SERVER", os.path.join(ROOT, "target", "debug", "roomcast-server"))
BINDINGS = os.environ.get("ROOMCAST_FFI_PY", os.path.join(ROOT, "target", "ffi-python"))
SECRET = "ffi-test-secret"
WAIT = 15.0  # seconds any single expected event may take

sys.path.insert(0, BINDINGS)
import roomcast  # noqa: E402  (generated; path set just above)


_open_clients = []


def new_client(config, token_provider=None):
    """A roomcast.Client that is closed when the test ends, so no Rust thread calls into
    Python while the interpreter shuts down."""
    client = roomcast.Client(config, token_provider)
    _open_clients.append(client)
    return client


def run_async(test):
    """Runs an async test on a fresh event loop that uniffi also uses for foreign async
    callbacks (token providers), which Rust calls from its own threads."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        async def main():
            roomcast.uniffi_set_event_loop(asyncio.get_running_loop())
            try:
                return await test(*args, **kwargs)
            finally:
                while _open_clients:
                    await _open_clients.pop().close()

        return asyncio.run(main())

    return wrapper


class Server:
    """A roomcast-server process that can be killed and started again on the same port and
    data directory (a crash and restart, as clients see it)."""

    def __init__(self, data_dir, extra=()):
        self.data_dir = data_dir
        self.addr = "127.0.0.1:0"
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [SERVER, "--listen", self.addr, "--data", self.data_dir, "--jwt-secret", SECRET]
            + self.extra,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        # The server prints its bound address once it accepts connections.
        for line in self.proc.stdout:
            m = re.search(r"listening on http://(\S+)", line)
            if m:
                self.addr = m.group(1)
                break
        else:
            raise RuntimeError(f"roomcast-server exited with {self.proc.wait()}")
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def url(self):
        return f"ws://{self.addr}/ws"

    def kill(self):
        """SIGKILL: no close frames, clients find out from the dead socket."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self):
        self.kill()
        self.start()

    def token(self, user, rooms=None, ttl=600, secret=SECRET):
        args = [SERVER, "token", "--jwt-secret", secret, "--user", user, "--ttl", str(ttl)]
        if rooms:
            args += ["--rooms", rooms]
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()

    def config(self, user, source="ios", token=..., rooms=None, **overrides):
        """A client config for `user`; reconnect delays are short so tests run fast."""
        fields = dict(
            url=self.url,
            token=self.token(user, rooms) if token is ... else token,
            client_id=f"{user}-{source}",
            source=source,
            name=f"{user}'s {source}",
            min_delay_ms=100,
            max_delay_ms=500,
            max_attempts=None,
            queue_capacity=100,
        )
        fields.update(overrides)
        return roomcast.ClientConfig(**fields)


def _server(extra=()):
    data_dir = tempfile.mkdtemp(prefix="roomcast-ffi-")
    srv = Server(data_dir, extra)
    yield srv
    srv.kill()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def server():
    yield from _server()


@pytest.fixture
def small_replay_server():
    """A server that replays at most 5 messages on a resume."""
    yield from _server(["--replay-limit", "5"])


class Recorder(roomcast.RoomListener):
    """A RoomListener that records every call; tests wait on it with a timeout."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def _add(self, kind, value):
        with self.cond:
            self.events.append((kind, value))
            self.cond.notify_all()

    def on_message(self, message):
        self._add("message", message)

    def on_presence(self, presence):
        self._add("presence", presence)

    def on_joined(self, info):
        self._add("joined", info)

    def on_gap(self, gap):
        self._add("gap", gap)

    def on_error(self, error):
        self._add("error", error)

    def on_end(self):
        self._add("end", None)

    def of(self, kind):
        with self.cond:
            return [v for k, v in self.events if k == kind]

    def messages(self, event=None):
        return [m for m in self.of("message") if event is None or m.event == event]

    def _wait(self, predicate, timeout):
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"timed out; events so far: {self.events}")

    async def until(self, predicate, timeout=WAIT):
        """Waits off the event loop, so foreign async callbacks keep running meanwhile."""
        await asyncio.to_thread(self._wait, predicate, timeout)


class States(roomcast.StateListener):
    """A StateListener recording every state it is given."""

    def __init__(self):
        self.seen = []
        self.cond = threading.Condition()

    def on_state(self, state):
        with self.cond:
            self.seen.append(state)
            self.cond.notify_all()

    def _wait(self, predicate, timeout):
        with self.cond:
            if not self.cond.wait_for(lambda: bool(self.seen) and predicate(self.seen), timeout):
                raise AssertionError(f"timed out; states so far: {self.seen}")

    async def until(self, predicate, timeout=WAIT):
        await asyncio.to_thread(self._wait, predicate, timeout)


async def joined_pair(server, room="conv-1"):
    """alice (ios) and bob (web), both connected and joined to `room`, each with a Recorder:
    (alice, bob, room_a, room_b, recorder_a, recorder_b)."""
    alice = new_client(server.config("alice", "ios"), None)
    bob = new_client(server.config("bob", "web"), None)
    await alice.connect()
    await bob.connect()
    a, b = Recorder(), Recorder()
    room_a = await alice.join(room, a)
    room_b = await bob.join(room, b)
    return alice, bob, room_a, room_b, a, b
