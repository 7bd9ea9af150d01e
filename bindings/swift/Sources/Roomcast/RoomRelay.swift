import Foundation

/// Everything that happens in a room, as delivered to `RoomcastRoom.events()`.
public enum RoomEvent: Sendable {
    case message(Message)
    case presence(PresenceEvent)
    /// Joined, first and again after each reconnect: `presence` replaces any member list.
    case joined(JoinInfo)
    /// Missed messages could not all be replayed; page them in with `history` if needed.
    case gap(Gap)
    /// The room is no longer joined (the server refused the automatic rejoin).
    case lost(RoomcastError)
}

/// Keeps nothing alive; `cancel()` unregisters the handler it was returned for. Handlers
/// otherwise live as long as the room (until `leave()`).
public final class HandlerToken: Sendable {
    private let action: @Sendable () -> Void

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    public func cancel() {
        action()
    }
}

/// The one `RoomListener` Rust holds for a room. It fans events out to Swift handlers and
/// streams, in order, on the SDK's background thread.
///
/// It holds handlers and stream continuations only, never a room or client: Rust keeps it
/// alive while the room is joined, and a reference back would be a retain cycle. Handlers
/// that capture a view model should capture it `[weak self]` for the same reason.
final class RoomRelay: RoomListener, @unchecked Sendable {
    typealias Handler = @Sendable (RoomEvent) -> Void

    private let lock = NSLock()
    private var handlers: [(id: UUID, handler: Handler)] = []
    private var streams: [UUID: AsyncStream<RoomEvent>.Continuation] = [:]
    private var decodingErrorHandlers: [(id: UUID, handler: @Sendable (any Error) -> Void)] = []

    func add(_ handler: @escaping Handler) -> HandlerToken {
        let id = UUID()
        lock.locked { handlers.append((id, handler)) }
        return HandlerToken { [weak self] in self?.remove(id) }
    }

    /// Decoding failures come from Swift (typed handlers), not from Rust, so they have
    /// their own list rather than a `RoomEvent` case.
    func addDecodingErrorHandler(_ handler: @escaping @Sendable (any Error) -> Void) -> HandlerToken {
        let id = UUID()
        lock.locked { decodingErrorHandlers.append((id, handler)) }
        return HandlerToken { [weak self] in self?.remove(id) }
    }

    func emitDecodingError(_ error: RoomcastDecodingError) {
        let current = lock.locked { decodingErrorHandlers.map(\.handler) }
        current.forEach { $0(error) }
    }

    private func remove(_ id: UUID) {
        lock.locked {
            handlers.removeAll { $0.id == id }
            decodingErrorHandlers.removeAll { $0.id == id }
        }
    }

    func stream() -> AsyncStream<RoomEvent> {
        AsyncStream { continuation in
            let id = UUID()
            lock.locked { streams[id] = continuation }
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                _ = self.lock.locked { self.streams.removeValue(forKey: id) }
            }
        }
    }

    /// The room was left: drop every handler and end every stream.
    func finish() {
        let ended = lock.locked { () -> [AsyncStream<RoomEvent>.Continuation] in
            handlers.removeAll()
            decodingErrorHandlers.removeAll()
            defer { streams.removeAll() }
            return Array(streams.values)
        }
        ended.forEach { $0.finish() }
    }

    /// Delivers `event` to handlers and streams. Handlers may register or cancel others
    /// while running: they run on a snapshot, outside the lock.
    func emit(_ event: RoomEvent) {
        let (current, open) = lock.locked { (handlers.map(\.handler), Array(streams.values)) }
        current.forEach { $0(event) }
        open.forEach { $0.yield(event) }
    }

    // RoomListener, called by Rust.
    func onMessage(message: Message) { emit(.message(message)) }
    func onPresence(presence: PresenceEvent) { emit(.presence(presence)) }
    func onJoined(info: JoinInfo) { emit(.joined(info)) }
    func onGap(gap: Gap) { emit(.gap(gap)) }
    func onError(error: RoomcastError) { emit(.lost(error)) }
}

/// A `StateListener` forwarding to a closure.
final class StateRelay: StateListener {
    private let handler: @Sendable (ConnectionState) -> Void

    init(_ handler: @escaping @Sendable (ConnectionState) -> Void) {
        self.handler = handler
    }

    func onState(state: ConnectionState) { handler(state) }
}

/// A `TokenProvider` backed by an async closure (say, a call to your auth backend).
final class ClosureTokenProvider: TokenProvider {
    private let fetch: @Sendable () async throws -> String?

    init(_ fetch: @escaping @Sendable () async throws -> String?) {
        self.fetch = fetch
    }

    func fetchToken() async throws -> String? { try await fetch() }
}
