import Foundation

/// The status line and member list logic shared by `RoomcastConnection` (ObservableObject)
/// and the `@Observable` models: plain values, tested on every platform.
public enum ConnectionStatus {
    /// "Connected", "Reconnecting in 3 s", "Paused · 2 queued", ...
    public static func text(state: ConnectionState, reconnectingIn: Int?, queued: UInt64) -> String {
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
}

/// Counts down to a reconnect attempt `delayMs` away: `tick` gets the whole seconds left at
/// once and every second until 0 (publishes made offline join the queue meanwhile, so the
/// models re-read its length on each tick); it returns false once its owner is gone.
@MainActor
func reconnectCountdown(delayMs: UInt64, _ tick: @escaping @MainActor @Sendable (Int) async -> Bool) -> Task<Void, Never> {
    let deadline = Date().addingTimeInterval(TimeInterval(delayMs) / 1000)
    return Task {
        while !Task.isCancelled {
            let left = max(0, Int(deadline.timeIntervalSinceNow.rounded(.up)))
            guard await tick(left), left > 0 else { return }
            try? await Task.sleep(nanoseconds: 1_000_000_000)
        }
    }
}

/// Who is in a room: replaced at every join (leaves during an outage were never seen), then
/// kept current by presence events. One entry per connection, in arrival order.
public struct MemberList: Sendable, Equatable {
    public private(set) var members: [Member] = []

    public init() {}

    public mutating func apply(_ event: RoomEvent) {
        switch event {
        case .joined(let info):
            members = info.presence
        case .presence(let presence):
            members.removeAll { $0.client == presence.member.client && $0.user == presence.member.user }
            if presence.kind == .join { members.append(presence.member) }
        case .lost:
            members = []
        case .message, .gap:
            break
        }
    }
}
