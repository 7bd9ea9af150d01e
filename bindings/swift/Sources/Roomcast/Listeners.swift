import Foundation
import RoomcastFFI

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

/// `cancel()` unregisters the handler it was returned for. Without it, a handler stays
/// registered as long as its room object lives, across `leave()` and later joins.
public final class HandlerToken: Sendable {
    private let action: @Sendable () -> Void

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = action
    }

    public func cancel() {
        action()
    }
}

/// One `RoomListener` per handler or stream, registered with `Room.subscribe`: Rust runs it on
/// the SDK's background threads, one event at a time per room, in order, and calls `onEnd`
/// when the room's events end (left, lost, or the client closed).
///
/// It holds closures only, never a room or client: Rust keeps it alive while subscribed, and
/// a reference back would be a retain cycle. Handlers that capture a view model should
/// capture it `[weak self]` for the same reason.
final class EventListener: RoomListener, Sendable {
    private let handler: @Sendable (RoomEvent) -> Void
    private let end: @Sendable () -> Void

    init(_ handler: @escaping @Sendable (RoomEvent) -> Void, onEnd: @escaping @Sendable () -> Void = {}) {
        self.handler = handler
        self.end = onEnd
    }

    func onMessage(message: Message) { handler(.message(message)) }
    func onPresence(presence: PresenceEvent) { handler(.presence(presence)) }
    func onJoined(info: JoinInfo) { handler(.joined(info)) }
    func onGap(gap: Gap) { handler(.gap(gap)) }
    func onError(error: RoomcastError) { handler(.lost(error)) }
    func onEnd() { end() }
}

/// A `StreamListener` forwarding each piece of a room's streamed messages to a closure (on the
/// SDK's background threads, in the room's order).
final class PieceListener: StreamListener, Sendable {
    private let handler: @Sendable (StreamPiece) -> Void

    init(_ handler: @escaping @Sendable (StreamPiece) -> Void) {
        self.handler = handler
    }

    func onAppend(piece: StreamPiece) { handler(piece) }
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
