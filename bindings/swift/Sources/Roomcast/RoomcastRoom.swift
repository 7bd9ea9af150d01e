import Foundation

/// A decoded message and its metadata, as yielded by `RoomcastRoom.messages(_:event:)`.
public struct Received<T> {
    public let value: T
    public let meta: MessageMeta

    public init(value: T, meta: MessageMeta) {
        self.value = value
        self.meta = meta
    }
}

extension Received: Sendable where T: Sendable {}

/// A room with typed handlers. Get one from `RoomcastClient.room(_:)`, register handlers,
/// then `join()`: handlers registered before the join also see what a resume replays.
///
/// A thin layer over the FFI's room handle (`ffi`): each handler and each stream is one
/// `Room.subscribe` registration, so Rust owns delivery, ordering and lifetimes; this type adds
/// Codable decoding and `AsyncStream`s.
///
/// Handlers run on the SDK's background threads, one at a time per room and in order, never on
/// the thread that runs the connection: they may block without delaying pings or other rooms.
/// For UI, register through `onMain` instead: the same handlers, run on the main actor. Capture
/// view models `[weak self]`. Handlers stay registered as long as this object lives (across
/// `leave()` and a later `join()`) unless cancelled with their `HandlerToken`; streams end at
/// `leave()`.
public final class RoomcastRoom: @unchecked Sendable {
    public let name: String
    /// The FFI room handle, for anything this layer does not wrap.
    public let ffi: Room

    private let lock = NSLock()
    /// Registrations of the handlers (not the streams: those hold their own).
    private var subscriptions: [UUID: Subscription] = [:]
    /// Decoding failures come from Swift (typed handlers), not from Rust.
    private var decodingErrorHandlers: [UUID: @Sendable (any Error) -> Void] = [:]

    init(name: String, client: Client) {
        self.name = name
        self.ffi = client.room(room: name)
    }

    /// Joins the room, returning at the server's `joined`. After a reconnect the SDK rejoins
    /// and resumes on its own; you see `.joined` again, never duplicates. With `.full` (the
    /// default) every missed message is delivered, paged in past the server's replay limit;
    /// `.latest` takes only the newest and reports the rest as a gap.
    @discardableResult
    public func join(resume: ResumeMode = .full) async throws -> JoinInfo {
        try await ffi.join(resume: resume)
    }

    /// Leaves: messages stop, queued publishes to the room fail, streams end. Handlers stay
    /// registered for a later `join()`.
    public func leave() async throws {
        try await ffi.leave()
    }

    // MARK: Publishing

    /// Publishes `value` as JSON under `event`. Stored and given a `seq`; while offline it is
    /// queued and sent after reconnecting, exactly once. Returns the server's ack.
    @discardableResult
    public func publish<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws -> PublishAck {
        let json = try encodeJSON(value, using: encoder)
        return try await ffi.publish(event: event, dataJson: json)
    }

    /// Publishes to whoever is in the room now (typing indicators, cursors): not stored, not
    /// queued; throws `RoomcastError.NotConnected` while offline.
    public func publishEphemeral<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws {
        let json = try encodeJSON(value, using: encoder)
        try await ffi.publishEphemeral(event: event, dataJson: json)
    }

    /// Stored messages with `seq < before` (the newest without it), ascending.
    public func history(before: UInt64? = nil, limit: UInt32 = 50) async throws -> HistoryPage {
        try await ffi.history(before: before, limit: limit)
    }

    // MARK: Handlers

    /// Registers `handler` with Rust for as long as this room lives or until cancelled.
    private func add(_ handler: @escaping @Sendable (RoomEvent) -> Void) -> HandlerToken {
        let id = UUID()
        let subscription = ffi.subscribe(listener: EventListener(handler))
        lock.locked { subscriptions[id] = subscription }
        return HandlerToken { [weak self] in
            guard let self else { return }
            let removed = self.lock.locked { self.subscriptions.removeValue(forKey: id) }
            removed?.cancel()
        }
    }

    private func emitDecodingError(_ error: RoomcastDecodingError) {
        let current = lock.locked { Array(decodingErrorHandlers.values) }
        current.forEach { $0(error) }
    }

    /// Calls `handler` with each `event` message decoded as `T`. A payload that does not
    /// decode goes to the `onError` handlers as a `RoomcastDecodingError`. `T` is `Sendable`:
    /// it is decoded on the SDK's thread and handed to a `@Sendable` handler.
    @discardableResult
    public func on<T: Decodable & Sendable>(
        _ type: T.Type,
        event: String,
        decoder: JSONDecoder = JSONDecoder(),
        _ handler: @escaping @Sendable (T, MessageMeta) -> Void
    ) -> HandlerToken {
        let shared = SharedDecoder(decoder)
        return add { [weak self] roomEvent in
            guard case let .message(message) = roomEvent, message.event == event else { return }
            do {
                let value = try message.decode(T.self, using: shared.decoder)
                handler(value, MessageMeta(message))
            } catch {
                self?.emitDecodingError(
                    RoomcastDecodingError(meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                )
            }
        }
    }

    /// Every message, undecoded.
    @discardableResult
    public func onMessage(_ handler: @escaping @Sendable (Message) -> Void) -> HandlerToken {
        add { if case let .message(message) = $0 { handler(message) } }
    }

    /// Members joining and leaving.
    @discardableResult
    public func onPresence(_ handler: @escaping @Sendable (PresenceEvent) -> Void) -> HandlerToken {
        add { if case let .presence(presence) = $0 { handler(presence) } }
    }

    /// The room was joined, first and after each reconnect; `info.presence` is everyone now.
    @discardableResult
    public func onJoined(_ handler: @escaping @Sendable (JoinInfo) -> Void) -> HandlerToken {
        add { if case let .joined(info) = $0 { handler(info) } }
    }

    /// Messages were missed and could not be replayed.
    @discardableResult
    public func onGap(_ handler: @escaping @Sendable (Gap) -> Void) -> HandlerToken {
        add { if case let .gap(gap) = $0 { handler(gap) } }
    }

    /// Payloads a typed handler could not decode (`RoomcastDecodingError`), and the room
    /// being lost (`RoomcastError`).
    @discardableResult
    public func onError(_ handler: @escaping @Sendable (any Error) -> Void) -> HandlerToken {
        let lost = add { if case let .lost(error) = $0 { handler(error) } }
        let id = UUID()
        lock.locked { decodingErrorHandlers[id] = handler }
        return HandlerToken { [weak self] in
            lost.cancel()
            guard let self else { return }
            _ = self.lock.locked { self.decodingErrorHandlers.removeValue(forKey: id) }
        }
    }

    // MARK: Streams

    /// A stream fed by its own subscription: it ends when the room's events end (`leave()`,
    /// the room lost, the client closed), and cancelling its task unsubscribes.
    private func stream<Element: Sendable>(
        _ each: @escaping @Sendable (RoomEvent, AsyncStream<Element>.Continuation) -> Void
    ) -> AsyncStream<Element> {
        AsyncStream { continuation in
            let listener = EventListener({ each($0, continuation) }, onEnd: { continuation.finish() })
            let subscription = self.ffi.subscribe(listener: listener)
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// Every room event from now on; ends when the room is left.
    public func events() -> AsyncStream<RoomEvent> {
        stream { event, continuation in continuation.yield(event) }
    }

    /// Every message from now on, undecoded.
    public func messages() -> AsyncStream<Message> {
        stream { event, continuation in
            if case let .message(message) = event { continuation.yield(message) }
        }
    }

    /// `event` messages from now on, decoded as `T`; payloads that do not decode are skipped
    /// here and reported to `onError` handlers.
    public func messages<T: Decodable & Sendable>(
        _ type: T.Type, event: String, decoder: JSONDecoder = JSONDecoder()
    ) -> AsyncStream<Received<T>> {
        let shared = SharedDecoder(decoder)
        return stream { [weak self] roomEvent, continuation in
            guard case let .message(message) = roomEvent, message.event == event else { return }
            do {
                let value = try message.decode(T.self, using: shared.decoder)
                continuation.yield(Received(value: value, meta: MessageMeta(message)))
            } catch {
                self?.emitDecodingError(
                    RoomcastDecodingError(meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                )
            }
        }
    }
}

/// A `JSONDecoder` handed to the SDK's threads. `JSONDecoder` is `Sendable` on Linux and from
/// iOS 16 / macOS 13 only, and this package supports iOS 15 / macOS 12, where capturing one in a
/// `@Sendable` handler is a Swift 6 error. Decoding only reads the decoder's settings (Foundation
/// declares it `@unchecked Sendable` where it can), so one decoder may decode on any thread.
struct SharedDecoder: @unchecked Sendable {
    let decoder: JSONDecoder

    init(_ decoder: JSONDecoder) {
        self.decoder = decoder
    }
}

// MARK: Main-actor delivery

extension RoomcastRoom {
    /// The handlers again, run on the main actor: for view models and UI.
    ///
    /// ```swift
    /// room.onMain.on(ChatMessage.self, event: "chat.message") { [weak self] message, meta in
    ///     self?.messages.append(...)   // main actor
    /// }
    /// ```
    ///
    /// Guarantee: each handler runs on the main thread, in the room's order (events are
    /// handed to the main dispatch queue, which is first in, first out), after the SDK's
    /// background thread decoded it. The SDK's thread does not wait for the main thread, so a
    /// busy main thread delays these handlers but never the connection; events then queue up
    /// on the main queue. Streams need no variant: a `for await` loop in a `@MainActor` task
    /// already runs its body on the main actor, in order.
    public var onMain: MainActorHandlers { MainActorHandlers(room: self) }

    /// Registration methods whose handlers run on the main actor; see `RoomcastRoom.onMain`.
    public struct MainActorHandlers: Sendable {
        let room: RoomcastRoom

        /// `RoomcastRoom.on(_:event:decoder:_:)` on the main actor.
        @discardableResult
        public func on<T: Decodable & Sendable>(
            _ type: T.Type,
            event: String,
            decoder: JSONDecoder = JSONDecoder(),
            _ handler: @escaping @MainActor @Sendable (T, MessageMeta) -> Void
        ) -> HandlerToken {
            room.on(type, event: event, decoder: decoder) { value, meta in
                onMainActor { handler(value, meta) }
            }
        }

        @discardableResult
        public func onMessage(_ handler: @escaping @MainActor @Sendable (Message) -> Void) -> HandlerToken {
            room.onMessage { message in onMainActor { handler(message) } }
        }

        @discardableResult
        public func onPresence(_ handler: @escaping @MainActor @Sendable (PresenceEvent) -> Void) -> HandlerToken {
            room.onPresence { presence in onMainActor { handler(presence) } }
        }

        @discardableResult
        public func onJoined(_ handler: @escaping @MainActor @Sendable (JoinInfo) -> Void) -> HandlerToken {
            room.onJoined { info in onMainActor { handler(info) } }
        }

        @discardableResult
        public func onGap(_ handler: @escaping @MainActor @Sendable (Gap) -> Void) -> HandlerToken {
            room.onGap { gap in onMainActor { handler(gap) } }
        }

        @discardableResult
        public func onError(_ handler: @escaping @MainActor @Sendable (any Error) -> Void) -> HandlerToken {
            room.onError { error in onMainActor { handler(error) } }
        }
    }
}

/// Runs `body` on the main actor after everything handed to the main queue before it.
func onMainActor(_ body: @escaping @MainActor @Sendable () -> Void) {
    DispatchQueue.main.async {
        MainActor.assumeIsolated { body() }
    }
}
