import Foundation

/// What `RoomcastConnectivity` drives: a `RoomcastClient`, or a stand-in in tests.
public protocol ConnectionControl: AnyObject, Sendable {
    func pause()
    func resume()
    func reconnectNow()
}

extension RoomcastClient: ConnectionControl {}

/// Keeps the app running while a background grace period lasts (UIKit: a background task);
/// the default does nothing.
@MainActor
public protocol BackgroundActivity: AnyObject {
    func begin()
    func end()
}

/// Applies `ConnectionPolicy` to a client: app lifecycle and network path in, `pause()`,
/// `resume()` and `reconnectNow()` out, with the background grace period timed here.
/// On Apple platforms a `RoomcastClient` runs one by itself (`automaticLifecycle`, on by
/// default: UIKit's lifecycle, the network path, macOS sleep and wake; `client.connectivity`).
/// Elsewhere, or with `automaticLifecycle: false`, create one per client and feed it, or let
/// the helpers do (the SwiftUI `roomcastLifecycle` modifier, `RoomcastAppLifecycle` for UIKit,
/// `RoomcastPathMonitor`).
///
/// ```swift
/// let connectivity = RoomcastConnectivity(client: client)
/// RoomcastPathMonitor(connectivity: connectivity).start()   // Network framework
/// ContentView().roomcastLifecycle(connectivity)              // scenePhase
/// ```
@MainActor
public final class RoomcastConnectivity {
    public private(set) var policy: ConnectionPolicy
    /// What was applied, newest last (the last 32), for diagnostics and tests.
    public private(set) var applied: [ConnectionPolicy.Command] = []
    /// Set by the UIKit helper to request background time during the grace period.
    public weak var backgroundActivity: (any BackgroundActivity)?

    private let control: any ConnectionControl
    private var graceTimer: Task<Void, Never>?

    public init(control: any ConnectionControl, gracePeriod: TimeInterval = ConnectionPolicy.defaultGracePeriod) {
        self.control = control
        policy = ConnectionPolicy(gracePeriod: gracePeriod)
    }

    public convenience init(client: RoomcastClient, gracePeriod: TimeInterval = ConnectionPolicy.defaultGracePeriod) {
        self.init(control: client as any ConnectionControl, gracePeriod: gracePeriod)
    }

    public func enteredBackground() {
        apply(policy.enteredBackground(at: Date()))
        guard let deadline = policy.pauseAt else { return }
        backgroundActivity?.begin()
        graceTimer?.cancel()
        graceTimer = Task { [weak self] in
            let wait = max(0, deadline.timeIntervalSinceNow)
            try? await Task.sleep(nanoseconds: UInt64(wait * 1_000_000_000))
            guard !Task.isCancelled, let self else { return }
            // Task.sleep runs on a monotonic clock, Date on the wall clock: the wall clock can
            // read a little short of `deadline` here (clock adjustment), and the policy would
            // then ignore the timer and never pause. This timer is the one for `deadline`
            // (any other was cancelled), so it ends the grace period whatever Date says.
            self.apply(self.policy.gracePeriodEnded(at: max(Date(), deadline)))
            self.backgroundActivity?.end()
        }
    }

    /// Ends a grace period now (a Mac going to sleep): the client pauses at once.
    public func endGracePeriod() {
        graceTimer?.cancel()
        graceTimer = nil
        apply(policy.gracePeriodEnded(at: policy.pauseAt ?? Date()))
        backgroundActivity?.end()
    }

    public func enteredForeground() {
        graceTimer?.cancel()
        graceTimer = nil
        apply(policy.enteredForeground())
        backgroundActivity?.end()
    }

    /// The network path changed; `interfaces` names the interface types in use.
    public func pathChanged(satisfied: Bool, interfaces: Set<String>) {
        apply(policy.pathChanged(satisfied: satisfied, interfaces: interfaces))
    }

    private func apply(_ commands: [ConnectionPolicy.Command]) {
        for command in commands {
            switch command {
            case .pause: control.pause()
            case .resume: control.resume()
            case .reconnectNow: control.reconnectNow()
            }
            applied.append(command)
        }
        if applied.count > 32 { applied.removeFirst(applied.count - 32) }
    }
}
