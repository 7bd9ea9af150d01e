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
export declare class ConnectionPolicy {
    readonly graceMs: number;
    /** 25 s: a quick trip to another app comes back live; the pause (which writes room
     * positions to the store) still happens inside the ~30 s iOS grants in the background. */
    static readonly defaultGraceMs = 25000;
    /** The rules' state; the rules themselves are the Rust core's, shared with Swift. */
    private state;
    constructor(graceMs?: number);
    get isForeground(): boolean;
    get isNetworkUp(): boolean;
    /** The kind of the last usable network (`wifi`, `cellular`, ...). */
    get networkType(): string | undefined;
    /** When the background grace period ends (ms, the caller's clock); `undefined` unless in it. */
    get pauseAt(): number | undefined;
    /** Whether this policy paused the client (it only resumes what it paused). */
    get isPaused(): boolean;
    /** The app went to the background: wait until `pauseAt`, then call `gracePeriodEnded`. */
    enteredBackground(now: number): Command[];
    /** The grace period's timer fired. */
    gracePeriodEnded(now: number): Command[];
    /** The app is in the foreground again. */
    enteredForeground(): Command[];
    /** The network changed: `up` when there is a usable one, of kind `type`. */
    networkChanged(up: boolean, type?: string): Command[];
    private step;
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
/** Applies a `ConnectionPolicy` to a client: feed it app state and network changes. */
export declare class Connectivity {
    private readonly client;
    readonly policy: ConnectionPolicy;
    private timer;
    constructor(client: Controllable, options?: {
        graceMs?: number;
        clock?: Clock;
    });
    private readonly clock;
    /** React Native's `AppState` values: `active` is the foreground, `background` is not;
     * `inactive` (iOS: the app switcher, a call banner) changes nothing. */
    appStateChanged(state: AppStateStatus | string): void;
    networkChanged(up: boolean, type?: string): void;
    /** Stops the grace timer (the helpers' unsubscribe functions call it). */
    dispose(): void;
    private armTimer;
    private apply;
}
/** The part of React Native's `AppState` used here. */
export interface AppStateSource {
    currentState: string | null | undefined;
    addEventListener(type: "change", handler: (state: AppStateStatus) => void): {
        remove(): void;
    };
}
/** The part of a NetInfo-style source used here (`@react-native-community/netinfo`'s default
 * export fits): a listener called with the current state at once and on every change. */
export interface NetInfoSource {
    addEventListener(listener: (state: {
        isConnected: boolean | null;
        type?: string;
    }) => void): () => void;
}
/**
 * Pauses a client after `graceMs` in the background and resumes (or probes) it back in the
 * foreground, from React Native's `AppState` (pass it, or it is `require`d from
 * `react-native`). Returns a function that stops watching.
 */
export declare function watchAppState(client: Controllable, options?: {
    appState?: AppStateSource;
    graceMs?: number;
    connectivity?: Connectivity;
}): () => void;
/**
 * Reconnects at once when the network comes back (and pauses while there is none), from a
 * NetInfo-style source: `watchNetInfo(client, NetInfo)`. Returns a function that stops.
 */
export declare function watchNetInfo(client: Controllable, netInfo: NetInfoSource, options?: {
    connectivity?: Connectivity;
}): () => void;
/** Both helpers on one policy (one grace period, one idea of who paused the client). */
export declare function watchConnectivity(client: Controllable, options?: {
    appState?: AppStateSource;
    netInfo?: NetInfoSource;
    graceMs?: number;
}): () => void;
