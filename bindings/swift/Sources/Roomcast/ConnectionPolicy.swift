import Foundation
import RoomcastFFI

/// What the app's situation asks of its connection: in the foreground or not, network path
/// usable or not. No timers and no Apple types, so the same rules run (and are
/// tested) everywhere; `RoomcastConnectivity` applies its commands to a client, and the
/// scenePhase, UIApplication and NWPathMonitor helpers feed it. The rules are the Rust core's
/// (`roomcast_core::connectivity`, run through the FFI), the same React Native runs.
///
/// The rules:
/// - Background: stay connected for `gracePeriod`, then pause (rooms and queue are kept). A
///   quick trip to another app comes back to a live connection with nothing to resume.
/// - Foreground: resume if paused (a fresh connection), otherwise check the connection is
///   still alive at once (`reconnectNow()`: a probe when connected, the end of a backoff wait
///   otherwise) rather than waiting for the heartbeat to notice a socket that died while the
///   app was suspended.
/// - Network path unsatisfied (no route at all): pause, since every reconnect attempt would
///   fail. Satisfied again, or a different interface (Wi-Fi to cellular): resume or
///   `reconnectNow()` at once, whatever the backoff was waiting for.
public struct ConnectionPolicy: Sendable, Equatable {
    /// What to do to the client.
    public enum Command: Sendable, Equatable {
        case pause
        case resume
        case reconnectNow
    }

    /// 25 s: long enough for a quick trip to another app (reading a notification, copying a
    /// code) to come back to a live connection; short enough to end, with the pause writing
    /// room positions to the store, inside the ~30 s of background time iOS grants an app
    /// that asks for it (the lifecycle helpers do), before the app is suspended with an open
    /// socket it can no longer serve.
    public static let defaultGracePeriod: TimeInterval = 25

    /// The rules' state (times as `Date`'s own seconds since its reference date, so they go
    /// back and forth without rounding); the rules are the Rust core's, shared with React
    /// Native.
    private var state: ConnectionPolicyState

    public var gracePeriod: TimeInterval { state.grace }
    public var isForeground: Bool { state.isForeground }
    public var isPathSatisfied: Bool { state.isPathSatisfied }
    /// The interfaces of the last satisfied path (`wifi`, `cellular`, ...).
    public var interfaces: Set<String> { Set(state.interfaces) }
    /// When the background grace period ends; `nil` unless in it.
    public var pauseAt: Date? { state.pauseAt.map { Date(timeIntervalSinceReferenceDate: $0) } }
    /// Whether this policy paused the client (it only resumes what it paused).
    public var isPaused: Bool { state.isPaused }

    public init(gracePeriod: TimeInterval = ConnectionPolicy.defaultGracePeriod) {
        state = connectionPolicyNew(grace: gracePeriod)
    }

    /// The app went to the background: the grace period starts (wait until `pauseAt`, then
    /// call `gracePeriodEnded`).
    public mutating func enteredBackground(at now: Date) -> [Command] {
        step(.enteredBackground(now: now.timeIntervalSinceReferenceDate))
    }

    /// The grace period's timer fired.
    public mutating func gracePeriodEnded(at now: Date) -> [Command] {
        step(.gracePeriodEnded(now: now.timeIntervalSinceReferenceDate))
    }

    /// The app is in the foreground again.
    public mutating func enteredForeground() -> [Command] {
        step(.enteredForeground)
    }

    /// The network path changed: `satisfied` when there is a route, with the interfaces it
    /// uses.
    public mutating func pathChanged(satisfied: Bool, interfaces: Set<String>) -> [Command] {
        step(.pathChanged(satisfied: satisfied, interfaces: Array(interfaces)))
    }

    private mutating func step(_ input: PolicyInput) -> [Command] {
        let result = connectionPolicyStep(state: state, input: input)
        state = result.state
        return result.commands.map { command in
            switch command {
            case .pause: return .pause
            case .resume: return .resume
            case .reconnectNow: return .reconnectNow
            }
        }
    }
}
