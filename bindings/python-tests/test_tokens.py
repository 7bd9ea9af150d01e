"""Foreign token providers (async Python methods called from Rust): used before the first
connection, after the server rejects a token (close 4001), and when they fail or sign out."""

import threading

import pytest

from conftest import Recorder, States, new_client, roomcast, run_async

E = roomcast.RoomcastError
CS = roomcast.ConnectionState


class Provider(roomcast.TokenProvider):
    """Hands out the given answers in turn (the last one repeats); an Exception instance is
    raised instead of returned. Counts its calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0
        self.lock = threading.Lock()

    async def fetch_token(self):
        with self.lock:
            answer = self.answers[min(self.calls, len(self.answers) - 1)]
            self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


@run_async
async def test_provider_supplies_the_first_token(server):
    provider = Provider(server.token("alice"))
    client = new_client(server.config("alice", token=None), provider)
    await client.connect()
    assert provider.calls == 1
    room = await client.join("conv-1", Recorder())
    assert (await room.publish("chat.message", "{}")).seq == 1


@run_async
async def test_provider_is_asked_again_after_a_4001(server):
    # The first token is signed with another secret: the server answers `unauthorized` and
    # closes with 4001; the client must fetch a fresh token and succeed with it.
    wrong = server.token("alice", secret="some-other-secret")
    provider = Provider(wrong, server.token("alice"))
    client = new_client(server.config("alice", token=None), provider)
    await client.connect()
    assert provider.calls == 2
    assert client.state() == CS.CONNECTED()


@run_async
async def test_a_rejected_config_token_falls_back_to_the_provider(server):
    stale = server.token("alice", secret="some-other-secret")
    provider = Provider(server.token("alice"))
    client = new_client(server.config("alice", token=stale), provider)
    await client.connect()
    assert provider.calls == 1


@run_async
async def test_a_provider_failure_is_retried(server):
    provider = Provider(E.TokenProvider("offline"), server.token("alice"))
    client = new_client(server.config("alice", token=None), provider)
    await client.connect()
    assert provider.calls == 2


@run_async
async def test_a_provider_raising_anything_is_retried_too(server):
    # Not a RoomcastError: uniffi reports it as an unexpected callback error, which the
    # FFI maps to a passing token provider failure rather than a crash.
    provider = Provider(ValueError("keychain locked"), server.token("alice"))
    client = new_client(server.config("alice", token=None), provider)
    await client.connect()
    assert provider.calls == 2


@run_async
async def test_a_signed_out_provider_stops_in_unauthorized(server):
    provider = Provider(None)
    client = new_client(server.config("alice", token=None), provider)
    states = States()
    sub = client.add_state_listener(states)
    with pytest.raises(E.Unauthorized):
        await client.connect()
    await states.until(lambda s: s[-1] == CS.UNAUTHORIZED())
    sub.cancel()


@run_async
async def test_set_token_and_reconnect_now_recover_from_unauthorized(server):
    bad = server.token("alice", secret="some-other-secret")
    client = new_client(server.config("alice", token=bad), None)
    with pytest.raises(E.Unauthorized):
        await client.connect()
    client.set_token(server.token("alice"))
    await client.connect()
    assert client.state() == CS.CONNECTED()
