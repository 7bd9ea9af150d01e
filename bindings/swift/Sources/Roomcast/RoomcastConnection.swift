#if canImport(Combine)
import Combine
import Foundation

/// Connection status for SwiftUI: bind a badge to `state`, `reconnectingIn` and `queued`.
/// For iOS 15 and 16; from iOS 17 / macOS 14, `RoomcastConnectionModel` (`@Observable`) does the
/// same with Observation.
///
/// ```swift
/// @StateObject var connection = RoomcastConnection(client: client)
/// Text(connection.statusText)
/// ```
@MainActor
public final class RoomcastConnection: ObservableObject {
    @Published public private(set) var state: ConnectionState
    /// Whole seconds until the next reconnect attempt, while `.reconnecting`.
    @Published public private(set) var reconnectingIn: Int? = nil
    /// Publishes not yet acknowledged (queued while offline, or in flight).
    @Published public private(set) var queued: UInt64 = 0

    public let client: RoomcastClient
    private var stateTask: Task<Void, Never>?
    private var countdownTask: Task<Void, Never>?

    public init(client: RoomcastClient) {
        self.client = client
        state = client.state
        let states = client.states()
        stateTask = Task { [weak self] in
            for await state in states {
                guard let self else { return }
                self.apply(state)
            }
        }
    }

    deinit {
        stateTask?.cancel()
        countdownTask?.cancel()
    }

    /// "Connected", "Reconnecting in 3 s", "Paused · 2 queued", ...
    public var statusText: String {
        ConnectionStatus.text(state: state, reconnectingIn: reconnectingIn, queued: queued)
    }

    public var isConnected: Bool { state == .connected }

    /// Reads the queue length again; call after publishing to keep the badge current.
    public func refreshQueued() async {
        queued = await client.queued()
    }

    /// Wire to `scenePhase`: pause in the background, resume in the foreground, at once.
    /// `RoomcastConnectivity` with `roomcastLifecycle` does it with a grace period.
    public func setActive(_ active: Bool) {
        if active {
            client.resume()
        } else {
            client.pause()
        }
    }

    private func apply(_ state: ConnectionState) {
        self.state = state
        countdownTask?.cancel()
        reconnectingIn = nil
        if case let .reconnecting(_, delayMs) = state {
            countdownTask = reconnectCountdown(delayMs: delayMs) { [weak self] left in
                guard let self else { return false }
                self.reconnectingIn = left
                await self.refreshQueued()
                return true
            }
        } else {
            Task { await refreshQueued() }
        }
    }
}
#endif
