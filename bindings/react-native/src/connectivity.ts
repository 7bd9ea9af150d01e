/**
 * What a React Native app needs around the connection, and what Hermes lacks:
 *
 * - `ConnectionPolicy`: the rules, the Rust core's (`roomcast_core::connectivity`, which the
 *   Swift package runs too) through the FFI: no timers and no React Native types, so the Node
 *   tests run it.
 * - `Connectivity`: applies the policy's commands to a client, with the grace timer.
 * - `watchAppState` / `watchNetInfo`: feed it from React Native's `AppState` and from a
 *   NetInfo-style network source (`@react-native-community/netinfo`'s `NetInfo` fits).
 *
 * Nothing here imports `react-native` at module load: `watchAppState` takes `AppState` as an
 * argument and only `require`s it when none is given, inside an app.
 */
import type { AppStateStatus } from "react-native";
import * as ffi from "./ffi";

/** Metro's (and Node's) `require`, used only when no `AppState` is passed. */
declare function require(id: string): unknown;

/** What to do to the client. */
export type Command = "pause" | "resume" | "reconnectNow";

/**
 * What the app's situation asks of its connection: in the foreground or not, network usable
 * or not.
 *
 * - Background: stay connected for `graceMs`, then pause (rooms and queue are kept). A quick
 *   trip to another app comes back to a live connection with nothing to resume.
 * - Foreground: resume if paused (a fresh connection), otherwise check at once that the
 *   connection is still alive (`reconnectNow()`: a probe when connected, the end of a backoff
 *   wait otherwise) rather than waiting for the heartbeat to notice a socket that died while
 *   the app was suspended.
 * - No network at all: pause, since every reconnect attempt would fail. Network back, or a
 *   different kind of network (Wi-Fi to cellular): resume or `reconnectNow()` at once,
 *   whatever the backoff was waiting for.
 */
export class ConnectionPolicy {
  /** 25 s: a quick trip to another app comes back live; the pause (which writes room
   * positions to the store) still happens inside the ~30 s iOS grants in the background. */
  static readonly defaultGraceMs = 25_000;

  /** The rules' state; the rules themselves are the Rust core's, shared with Swift. */
  private state: ffi.ConnectionPolicyState;

  constructor(readonly graceMs: number = ConnectionPolicy.defaultGraceMs) {
    this.state = ffi.connectionPolicyNew(graceMs);
  }

  get isForeground(): boolean {
    return this.state.isForeground;
  }

  get isNetworkUp(): boolean {
    return this.state.isPathSatisfied;
  }

  /** The kind of the last usable network (`wifi`, `cellular`, ...). */
  get networkType(): string | undefined {
    return this.state.interfaces[0];
  }

  /** When the background grace period ends (ms, the caller's clock); `undefined` unless in it. */
  get pauseAt(): number | undefined {
    return this.state.pauseAt ?? undefined;
  }

  /** Whether this policy paused the client (it only resumes what it paused). */
  get isPaused(): boolean {
    return this.state.isPaused;
  }

  /** The app went to the background: wait until `pauseAt`, then call `gracePeriodEnded`. */
  enteredBackground(now: number): Command[] {
    return this.step(new ffi.PolicyInput.EnteredBackground({ now }));
  }

  /** The grace period's timer fired. */
  gracePeriodEnded(now: number): Command[] {
    return this.step(new ffi.PolicyInput.GracePeriodEnded({ now }));
  }

  /** The app is in the foreground again. */
  enteredForeground(): Command[] {
    return this.step(new ffi.PolicyInput.EnteredForeground());
  }

  /** The network changed: `up` when there is a usable one, of kind `type`. */
  networkChanged(up: boolean, type?: string): Command[] {
    const interfaces = up && type !== undefined ? [type] : [];
    return this.step(new ffi.PolicyInput.PathChanged({ satisfied: up, interfaces }));
  }

  private step(input: ffi.PolicyInput): Command[] {
    const { state, commands } = ffi.connectionPolicyStep(this.state, input);
    this.state = state;
    return commands.map((c) =>
      c === ffi.PolicyCommand.Pause ? "pause" : c === ffi.PolicyCommand.Resume ? "resume" : "reconnectNow",
    );
  }
}

/** What `Connectivity` drives: a `Client` has these. */
export interface Controllable {
  pause(): void;
  resume(): void;
  reconnectNow(): void;
}

/** Timers, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Applies a `ConnectionPolicy` to a client: feed it app state and network changes. */
export class Connectivity {
  readonly policy: ConnectionPolicy;
  private timer: unknown;

  constructor(
    private readonly client: Controllable,
    options: { graceMs?: number; clock?: Clock } = {},
  ) {
    this.policy = new ConnectionPolicy(options.graceMs);
    this.clock = options.clock ?? realClock;
  }

  private readonly clock: Clock;

  /** React Native's `AppState` values: `active` is the foreground, `background` is not;
   * `inactive` (iOS: the app switcher, a call banner) changes nothing. */
  appStateChanged(state: AppStateStatus | string): void {
    if (state === "active") this.apply(this.policy.enteredForeground());
    else if (state === "background") {
      this.apply(this.policy.enteredBackground(this.clock.now()));
      this.armTimer();
    }
  }

  networkChanged(up: boolean, type?: string): void {
    this.apply(this.policy.networkChanged(up, type));
  }

  /** Stops the grace timer (the helpers' unsubscribe functions call it). */
  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private armTimer(): void {
    this.dispose();
    const at = this.policy.pauseAt;
    if (at === undefined) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.apply(this.policy.gracePeriodEnded(this.clock.now()));
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private apply(commands: Command[]): void {
    if (this.policy.pauseAt === undefined) this.dispose();
    for (const c of commands) this.client[c]();
  }
}

/** The part of React Native's `AppState` used here. */
export interface AppStateSource {
  currentState: string | null | undefined;
  addEventListener(type: "change", handler: (state: AppStateStatus) => void): { remove(): void };
}

/** The part of a NetInfo-style source used here (`@react-native-community/netinfo`'s default
 * export fits): a listener called with the current state at once and on every change. */
export interface NetInfoSource {
  addEventListener(listener: (state: { isConnected: boolean | null; type?: string }) => void): () => void;
}

/**
 * Pauses a client after `graceMs` in the background and resumes (or probes) it back in the
 * foreground, from React Native's `AppState` (pass it, or it is `require`d from
 * `react-native`). Returns a function that stops watching.
 */
export function watchAppState(
  client: Controllable,
  options: { appState?: AppStateSource; graceMs?: number; connectivity?: Connectivity } = {},
): () => void {
  const connectivity = options.connectivity ?? new Connectivity(client, { graceMs: options.graceMs });
  const appState = options.appState ?? (require("react-native") as { AppState: AppStateSource }).AppState;
  if (appState.currentState === "background") connectivity.appStateChanged("background");
  const subscription = appState.addEventListener("change", (s) => connectivity.appStateChanged(s));
  return () => {
    subscription.remove();
    connectivity.dispose();
  };
}

/**
 * Reconnects at once when the network comes back (and pauses while there is none), from a
 * NetInfo-style source: `watchNetInfo(client, NetInfo)`. Returns a function that stops.
 */
export function watchNetInfo(
  client: Controllable,
  netInfo: NetInfoSource,
  options: { connectivity?: Connectivity } = {},
): () => void {
  const connectivity = options.connectivity ?? new Connectivity(client);
  // `null`: not known yet, which is no reason to pause.
  return netInfo.addEventListener((s) => {
    if (s.isConnected !== null) connectivity.networkChanged(s.isConnected, s.type);
  });
}

/** Both helpers on one policy (one grace period, one idea of who paused the client). */
export function watchConnectivity(
  client: Controllable,
  options: { appState?: AppStateSource; netInfo?: NetInfoSource; graceMs?: number } = {},
): () => void {
  const connectivity = new Connectivity(client, { graceMs: options.graceMs });
  const stopApp = watchAppState(client, { appState: options.appState, connectivity });
  const stopNet = options.netInfo ? watchNetInfo(client, options.netInfo, { connectivity }) : () => {};
  return () => {
    stopApp();
    stopNet();
  };
}
