"""The lifecycle policy Swift and React Native run through the FFI: a value and one step
function, so each platform keeps value semantics and its own timers."""

from conftest import roomcast

Input = roomcast.PolicyInput
Cmd = roomcast.PolicyCommand


def step(state, input):
    result = roomcast.connection_policy_step(state, input)
    return result.state, result.commands


def test_background_grace_period_then_foreground():
    s = roomcast.connection_policy_new(25.0)
    s, cmds = step(s, Input.ENTERED_BACKGROUND(now=100.0))
    assert cmds == [] and s.pause_at == 125.0 and not s.is_foreground
    s, cmds = step(s, Input.GRACE_PERIOD_ENDED(now=124.0))
    assert cmds == []
    s, cmds = step(s, Input.GRACE_PERIOD_ENDED(now=125.0))
    assert cmds == [Cmd.PAUSE] and s.is_paused and s.pause_at is None
    s, cmds = step(s, Input.ENTERED_FOREGROUND())
    assert cmds == [Cmd.RESUME] and not s.is_paused


def test_paths_pause_resume_and_probe():
    s = roomcast.connection_policy_new(25.0)
    s, cmds = step(s, Input.PATH_CHANGED(satisfied=True, interfaces=["wifi"]))
    assert cmds == [Cmd.RECONNECT_NOW]
    s, cmds = step(s, Input.PATH_CHANGED(satisfied=True, interfaces=["wifi"]))
    assert cmds == []
    s, cmds = step(s, Input.PATH_CHANGED(satisfied=False, interfaces=[]))
    assert cmds == [Cmd.PAUSE]
    s, cmds = step(s, Input.PATH_CHANGED(satisfied=True, interfaces=["cellular", "wifi"]))
    assert cmds == [Cmd.RESUME] and s.interfaces == ["cellular", "wifi"]
    s, cmds = step(s, Input.PATH_CHANGED(satisfied=True, interfaces=["wifi", "cellular"]))
    assert cmds == [], "interfaces are a set"
