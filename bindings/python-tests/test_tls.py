"""wss:// through a TLS-terminating proxy (e2e-tls-proxy) whose certificate a test CA signed:
the OS's trust store does not know that CA, so the connection is refused until its root is
given in ClientConfig.extra_roots_der."""

import asyncio
import json
import os
import subprocess
import tempfile

import pytest

from conftest import ROOT, WAIT, Recorder, States, new_client, roomcast, run_async

E = roomcast.RoomcastError
TLS_PROXY = os.environ.get(
    "ROOMCAST_TLS_PROXY", os.path.join(ROOT, "target", "debug", "e2e-tls-proxy")
)


@pytest.fixture
def tls_proxy(server):
    """(port, CA certificate DER) of a TLS proxy in front of `server`."""
    with tempfile.TemporaryDirectory(prefix="roomcast-tls-") as tmp:
        ca_path = os.path.join(tmp, "ca.der")
        proc = subprocess.Popen(
            [TLS_PROXY, server.addr, ca_path], stdout=subprocess.PIPE, text=True
        )
        try:
            line = proc.stdout.readline()
            port = int(line.strip().rsplit(":", 1)[1])
            with open(ca_path, "rb") as f:
                yield port, f.read()
        finally:
            proc.kill()
            proc.wait()


@run_async
async def test_wss_works_with_the_private_ca_root(server, tls_proxy):
    port, ca = tls_proxy
    url = f"wss://localhost:{port}/ws"
    alice = new_client(server.config("alice", url=url, extra_roots_der=[ca]))
    await asyncio.wait_for(alice.connect(), WAIT)
    seen = Recorder()
    room_a = await alice.join("tls-1", seen)  # kept: a released room releases its listener

    bob = new_client(server.config("bob", "web"))  # plain ws:// to the same server
    await bob.connect()
    room_b = await bob.join("tls-1", Recorder())
    ack = await room_b.publish("chat.message", json.dumps({"content": "over tls"}))
    assert room_a.name() == "tls-1"

    await seen.until(lambda r: len(r.messages("chat.message")) == 1)
    [message] = seen.messages("chat.message")
    assert (json.loads(message.data_json), message.seq, message._from.user) == (
        {"content": "over tls"},
        ack.seq,
        "bob",
    )


@run_async
async def test_wss_without_the_root_is_refused(server, tls_proxy):
    port, _ = tls_proxy
    carol = new_client(server.config("carol", url=f"wss://localhost:{port}/ws"))
    states = States()
    subscription = carol.add_state_listener(states)
    connecting = asyncio.ensure_future(carol.connect())
    # The handshake fails: the client retries and never reports itself connected.
    await states.until(lambda s: s[-1].is_RECONNECTING())
    assert not connecting.done()
    assert not any(s == roomcast.ConnectionState.CONNECTED() for s in states.seen)
    await carol.close()
    with pytest.raises(E.Closed):
        await connecting
    subscription.cancel()


def test_a_root_that_is_not_a_certificate_is_refused(server):
    config = server.config("dave", url="wss://localhost:1/ws", extra_roots_der=[b"not DER"])
    with pytest.raises(E.InvalidConfig):
        roomcast.Client(config, None)
