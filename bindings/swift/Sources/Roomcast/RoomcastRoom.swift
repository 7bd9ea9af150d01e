import Foundation

/// A decoded message and its metadata, as yielded by `RoomcastRoom.messages(_:event:)`.
public struct Received<T> {
    public let value: T
    public let meta: MessageMeta
}

extension Received: Sendable where T: Sendable {}

/// A room with typed handlers. Get one from `RoomcastClient.room(_:)`, register handlers,
/// then `join()`: handlers registered before the join also see what a resume replays.
///
/// Handlers run on the SDK's background threads, one at a time per room and in order, never on
/// the thread that runs the connection: they may block without delaying pings or other rooms.
/// Hop to the main actor for UI (`Task { @MainActor in ... }`) and capture view models
/// `[weak self]`.
public final class RoomcastRoom: @unchecked Sendable {
    public let name: String

    private let client: Client
    private let relay = RoomRelay()
    private let lock = NSLock()
    private var joined: Room?

    init(name: String, client: Client) {
        self.name = name
        self.client = client
    }

    /// Joins the room, returning at the server's `joined`. After a reconnect the SDK rejoins
    /// and resumes on its own; you see `.joined` again, never duplicates. With `.full` (the
    /// default) every missed message is delivered, paged in past the server's replay limit;
    /// `.latest` takes only the newest and reports the rest as a gap.
    public func join(resume: ResumeMode = .full) async throws {
        let room = try await client.join(room: name, listener: relay, resume: resume)
        lock.locked { joined = room }
    }

    /// Leaves: messages stop, queued publishes to the room fail, handlers and streams end.
    public func leave() async throws {
        let room = lock.locked { () -> Room? in
            defer { joined = nil }
            return joined
        }
        relay.finish()
        guard let room else { throw RoomcastError.NotJoined(room: name) }
        try await room.leave()
    }

    private func ffiRoom() throws -> Room {
        guard let room = lock.locked({ joined }) else {
            throw RoomcastError.NotJoined(room: name)
        }
        return room
    }

    // MARK: Publishing

    /// Publishes `value` as JSON under `event`. Stored and given a `seq`; while offline it is
    /// queued and sent after reconnecting, exactly once. Returns the server's ack.
    @discardableResult
    public func publish<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws -> PublishAck {
        let json = try encodeJSON(value, using: encoder)
        return try await ffiRoom().publish(event: event, dataJson: json)
    }

    /// Publishes to whoever is in the room now (typing indicators, cursors): not stored, not
    /// queued; throws `RoomcastError.NotConnected` while offline.
    public func publishEphemeral<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws {
        let json = try encodeJSON(value, using: encoder)
        try await ffiRoom().publishEphemeral(event: event, dataJson: json)
    }

    /// Stored messages with `seq < before` (the newest without it), ascending.
    public func history(before: UInt64? = nil, limit: UInt32 = 50) async throws -> HistoryPage {
        try await ffiRoom().history(before: before, limit: limit)
    }

    // MARK: Handlers

    /// Calls `handler` with each `event` message decoded as `T`. A payload that does not
    /// decode goes to the `onError` handlers as a `RoomcastDecodingError`.
    @discardableResult
    public func on<T: Decodable>(
        _ type: T.Type,
        event: String,
        decoder: JSONDecoder = JSONDecoder(),
        _ handler: @escaping @Sendable (T, MessageMeta) -> Void
    ) -> HandlerToken {
        // Weak: the relay stores this closure.
        relay.add { [weak relay = self.relay] roomEvent in
            guard case let .message(message) = roomEvent, message.event == event else { return }
            do {
                let value = try message.decode(T.self, using: decoder)
                handler(value, MessageMeta(message))
            } catch {
                relay?.emitDecodingError(
                    RoomcastDecodingError(meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                )
            }
        }
    }

    /// Every message, undecoded.
    @discardableResult
    public func onMessage(_ handler: @escaping @Sendable (Message) -> Void) -> HandlerToken {
        relay.add { if case let .message(message) = $0 { handler(message) } }
    }

    /// Members joining and leaving.
    @discardableResult
    public func onPresence(_ handler: @escaping @Sendable (PresenceEvent) -> Void) -> HandlerToken {
        relay.add { if case let .presence(presence) = $0 { handler(presence) } }
    }

    /// The room was joined, first and after each reconnect; `info.presence` is everyone now.
    @discardableResult
    public func onJoined(_ handler: @escaping @Sendable (JoinInfo) -> Void) -> HandlerToken {
        relay.add { if case let .joined(info) = $0 { handler(info) } }
    }

    /// Messages were missed and could not be replayed.
    @discardableResult
    public func onGap(_ handler: @escaping @Sendable (Gap) -> Void) -> HandlerToken {
        relay.add { if case let .gap(gap) = $0 { handler(gap) } }
    }

    /// Payloads a typed handler could not decode (`RoomcastDecodingError`), and the room
    /// being lost (`RoomcastError`).
    @discardableResult
    public func onError(_ handler: @escaping @Sendable (any Error) -> Void) -> HandlerToken {
        let lost = relay.add { if case let .lost(error) = $0 { handler(error) } }
        let decoding = relay.addDecodingErrorHandler(handler)
        return HandlerToken {
            lost.cancel()
            decoding.cancel()
        }
    }

    // MARK: Streams

    /// Every room event from now on; ends when the room is left.
    public func events() -> AsyncStream<RoomEvent> {
        relay.stream()
    }

    /// Every message from now on, undecoded.
    public func messages() -> AsyncStream<Message> {
        let events = relay.stream()
        return AsyncStream { continuation in
            let task = Task {
                for await case let .message(message) in events {
                    continuation.yield(message)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// `event` messages from now on, decoded as `T`; payloads that do not decode are skipped
    /// here and reported to `onError` handlers.
    public func messages<T: Decodable & Sendable>(
        _ type: T.Type, event: String, decoder: JSONDecoder = JSONDecoder()
    ) -> AsyncStream<Received<T>> {
        let events = relay.stream()
        return AsyncStream { continuation in
            let task = Task { [weak relay = self.relay] in
                for await case let .message(message) in events where message.event == event {
                    do {
                        let value = try message.decode(T.self, using: decoder)
                        continuation.yield(Received(value: value, meta: MessageMeta(message)))
                    } catch {
                        relay?.emitDecodingError(
                            RoomcastDecodingError(
                                meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                        )
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
