// The app-lifecycle and network helpers, on a virtual clock with fake AppState and NetInfo
// sources (what React Native's and @react-native-community/netinfo's objects look like).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ConnectionPolicy,
  Connectivity,
  watchConnectivity,
  type AppStateSource,
  type Clock,
  type NetInfoSource,
} from "../src/connectivity";

test("the policy: grace period in the background, resume or probe in the foreground", () => {
  const p = new ConnectionPolicy(25_000);
  assert.deepEqual(p.enteredBackground(1_000), []);
  assert.equal(p.pauseAt, 26_000);
  assert.deepEqual(p.gracePeriodEnded(10_000), [], "not yet");
  assert.deepEqual(p.enteredForeground(), ["reconnectNow"], "back within the grace period: probe");
  p.enteredBackground(30_000);
  assert.deepEqual(p.gracePeriodEnded(55_000), ["pause"]);
  assert.deepEqual(p.enteredForeground(), ["resume"]);
  assert.deepEqual(p.enteredForeground(), [], "already in the foreground");
});

test("the policy: no network pauses, network back resumes; a new kind of network probes", () => {
  const p = new ConnectionPolicy();
  assert.deepEqual(p.networkChanged(true, "wifi"), ["reconnectNow"]);
  assert.deepEqual(p.networkChanged(true, "wifi"), [], "nothing changed");
  assert.deepEqual(p.networkChanged(true, "cellular"), ["reconnectNow"]);
  assert.deepEqual(p.networkChanged(false), ["pause"]);
  assert.deepEqual(p.networkChanged(false), [], "paused once");
  assert.deepEqual(p.networkChanged(true, "wifi"), ["resume"]);
  // Paused in the background (after the grace period), the network coming back waits for
  // the foreground.
  p.enteredBackground(0);
  assert.deepEqual(p.gracePeriodEnded(25_000), ["pause"]);
  assert.deepEqual(p.networkChanged(true, "cellular"), []);
  assert.deepEqual(p.enteredForeground(), ["resume"]);
  // No network in the foreground: stays paused until it is back.
  assert.deepEqual(p.networkChanged(false), ["pause"]);
  p.enteredBackground(100_000);
  assert.deepEqual(p.enteredForeground(), []);
  assert.deepEqual(p.networkChanged(true, "wifi"), ["resume"]);
});

class FakeClock implements Clock {
  t = 0;
  timers: { at: number; f: () => void; id: number }[] = [];
  private next = 0;
  now(): number {
    return this.t;
  }
  setTimeout(f: () => void, ms: number): unknown {
    const id = ++this.next;
    this.timers.push({ at: this.t + ms, f, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((t) => t.at <= this.t);
    this.timers = this.timers.filter((t) => t.at > this.t);
    for (const t of due) t.f();
  }
}

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    pause: () => calls.push("pause"),
    resume: () => calls.push("resume"),
    reconnectNow: () => calls.push("reconnectNow"),
  };
}

test("Connectivity applies the commands with a grace timer", () => {
  const clock = new FakeClock();
  const client = recorder();
  const c = new Connectivity(client, { graceMs: 25_000, clock });
  c.appStateChanged("inactive");
  c.appStateChanged("background");
  clock.advance(24_000);
  assert.deepEqual(client.calls, []);
  c.appStateChanged("active");
  assert.deepEqual(client.calls, ["reconnectNow"]);
  assert.equal(clock.timers.length, 0, "the timer is cancelled");
  c.appStateChanged("background");
  clock.advance(25_000);
  assert.deepEqual(client.calls, ["reconnectNow", "pause"]);
  c.appStateChanged("active");
  assert.deepEqual(client.calls, ["reconnectNow", "pause", "resume"]);
});

test("watchConnectivity feeds AppState and NetInfo, and stops", () => {
  const client = recorder();
  let appListener: ((s: "active" | "background") => void) | undefined;
  let removed = 0;
  const appState: AppStateSource = {
    currentState: "active",
    addEventListener: (_type, handler) => {
      appListener = handler;
      return { remove: () => removed++ };
    },
  };
  let netListener: ((s: { isConnected: boolean | null; type?: string }) => void) | undefined;
  let unsubscribed = 0;
  const netInfo: NetInfoSource = {
    addEventListener: (listener) => {
      netListener = listener;
      listener({ isConnected: null, type: "unknown" });
      return () => unsubscribed++;
    },
  };
  const stop = watchConnectivity(client, { appState, netInfo, graceMs: 0 });
  assert.deepEqual(client.calls, [], "an unknown network state changes nothing");
  netListener?.({ isConnected: true, type: "wifi" });
  netListener?.({ isConnected: false, type: "none" });
  netListener?.({ isConnected: true, type: "wifi" });
  assert.deepEqual(client.calls, ["reconnectNow", "pause", "resume"]);
  appListener?.("background");
  appListener?.("active");
  assert.deepEqual(client.calls.slice(3), ["reconnectNow"]);
  stop();
  assert.equal(removed, 1);
  assert.equal(unsubscribed, 1);
});
