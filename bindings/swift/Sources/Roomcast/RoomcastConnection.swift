import Foundation

/// Connection status for SwiftUI: bind a badge to `state`, `reconnectingIn` and `queued`.
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

    /// "Connected", "Reconnecting in 3 s", "Offline · 2 queued", ...
    public var statusText: String {
        let base: String
        switch state {
        case .idle: base = "Not connected"
        case .connecting(let attempt): base = attempt == 0 ? "Connecting…" : "Reconnecting…"
        case .connected: base = "Connected"
        case .reconnecting: base = reconnectingIn.map { "Reconnecting in \($0) s" } ?? "Reconnecting…"
        case .paused: base = "Paused"
        case .unauthorized: base = "Signed out"
        case .closed: base = "Closed"
        }
        guard queued > 0, state != .connected else { return base }
        return "\(base) · \(queued) queued"
    }

    public var isConnected: Bool { state == .connected }

    /// Reads the queue length again; call after publishing to keep the badge current.
    public func refreshQueued() async {
        queued = await client.queued()
    }

    /// Wire to `scenePhase`: pause in the background, resume in the foreground.
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
            let deadline = Date().addingTimeInterval(TimeInterval(delayMs) / 1000)
            countdownTask = Task { [weak self] in
                while !Task.isCancelled {
                    let left = max(0, Int(deadline.timeIntervalSinceNow.rounded(.up)))
                    self?.reconnectingIn = left
                    // Publishes made while offline join the queue: keep the count live.
                    await self?.refreshQueued()
                    if left == 0 { return }
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                }
            }
        } else {
            Task { await refreshQueued() }
        }
    }
}
