import Foundation

/// What the app's situation asks of its connection: in the foreground or not, network path
/// usable or not. Plain Swift, no timers and no Apple types, so the same rules run (and are
/// tested) everywhere; `RoomcastConnectivity` applies its commands to a client, and the
/// scenePhase, UIApplication and NWPathMonitor helpers feed it.
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

    public let gracePeriod: TimeInterval
    public private(set) var isForeground = true
    public private(set) var isPathSatisfied = true
    /// The interfaces of the last satisfied path (`wifi`, `cellular`, ...).
    public private(set) var interfaces: Set<String> = []
    /// When the background grace period ends; `nil` unless in it.
    public private(set) var pauseAt: Date?
    /// Whether this policy paused the client (it only resumes what it paused).
    public private(set) var isPaused = false

    public init(gracePeriod: TimeInterval = ConnectionPolicy.defaultGracePeriod) {
        self.gracePeriod = gracePeriod
    }

    /// The app went to the background: the grace period starts (wait until `pauseAt`, then
    /// call `gracePeriodEnded`).
    public mutating func enteredBackground(at now: Date) -> [Command] {
        guard isForeground else { return [] }
        isForeground = false
        pauseAt = isPaused ? nil : now.addingTimeInterval(gracePeriod)
        return []
    }

    /// The grace period's timer fired.
    public mutating func gracePeriodEnded(at now: Date) -> [Command] {
        guard !isForeground, let deadline = pauseAt, now >= deadline else { return [] }
        pauseAt = nil
        return pause()
    }

    /// The app is in the foreground again.
    public mutating func enteredForeground() -> [Command] {
        guard !isForeground else { return [] }
        isForeground = true
        pauseAt = nil
        if isPaused {
            return isPathSatisfied ? resume() : []
        }
        return [.reconnectNow]
    }

    /// The network path changed: `satisfied` when there is a route, with the interfaces it
    /// uses.
    public mutating func pathChanged(satisfied: Bool, interfaces: Set<String>) -> [Command] {
        guard satisfied else {
            isPathSatisfied = false
            return pause()
        }
        let changed = !isPathSatisfied || interfaces != self.interfaces
        isPathSatisfied = true
        self.interfaces = interfaces
        if isPaused {
            // Back in the background grace period counts as foreground enough to reconnect.
            return isForeground || pauseAt != nil ? resume() : []
        }
        return changed ? [.reconnectNow] : []
    }

    private mutating func pause() -> [Command] {
        guard !isPaused else { return [] }
        isPaused = true
        return [.pause]
    }

    private mutating func resume() -> [Command] {
        isPaused = false
        return [.resume]
    }
}
