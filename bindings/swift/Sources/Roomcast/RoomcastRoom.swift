import Foundation
import RoomcastFFI

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
/// Codable decoding and async sequences.
///
/// Handlers run on the SDK's background threads, one at a time per room and in order, never on
/// the thread that runs the connection: they may block without delaying pings or other rooms.
/// For UI, register through `onMain` instead: the same handlers, run on the main actor. Capture
/// view models `[weak self]`. Handlers stay registered as long as this object lives (across
/// `leave()` and a later `join()`) unless cancelled with their `HandlerToken`; streams end at
/// `leave()`.
///
/// Payload types and isolation: what runs on the main actor (`onMain.on`, `messages(_:event:)`
/// consumed by main-actor code, `RoomcastRoomModel`) decodes there, so a payload type declared
/// in an app module with main-actor default isolation (Xcode 26's new projects), whose Codable
/// conformance is main-actor isolated, works as declared. `on(_:event:)` decodes on the SDK's
/// thread and needs a nonisolated conformance: `nonisolated struct ChatMessage: Codable,
/// Sendable { ... }` in such a module.
public final class RoomcastRoom: @unchecked Sendable {
    public let name: String
    /// The FFI room handle, for anything this layer does not wrap (`import RoomcastFFI` to name
    /// its type).
    public let ffi: Room

    private let lock = NSLock()
    /// Registrations of the handlers (not the streams: those hold their own).
    private var subscriptions: [UUID: Subscription] = [:]
    /// Decoding failures come from Swift (typed handlers), not from Rust.
    private var decodingErrorHandlers: [UUID: @Sendable (any Error) -> Void] = [:]

    init(name: String, ffi: Room) {
        self.name = name
        self.ffi = ffi
    }

    /// Joins the room, returning at the server's `joined`. After a reconnect the SDK rejoins
    /// and resumes on its own; you see `.joined` again, never duplicates. With `.full` (the
    /// default) every missed message is delivered, paged in past the server's replay limit;
    /// `.latest` takes only the newest and reports the rest as a gap.
    ///
    /// On a client that is not connected yet, the first join connects it (as `connect()`
    /// would); offline, the join waits for the connection.
    ///
    /// Cancelling the calling task (a SwiftUI `.task` whose view went away) returns at once
    /// with `CancellationError`, but the join itself goes on: once the server answers, the room
    /// is joined as if this call had returned (handlers see `.joined`, messages flow, it is
    /// rejoined after reconnects). Call `leave()` if the room is no longer wanted.
    @discardableResult
    public func join(resume: ResumeMode = .full) async throws -> JoinInfo {
        let ffi = self.ffi
        return try await untilCancelled { try await ffi.join(resume: resume) }
    }

    /// Leaves: messages stop, queued publishes to the room fail, streams end. Handlers (and
    /// the `RoomcastRoomModel`s of this room) stay registered for a later `join()`.
    ///
    /// Cancelling the calling task returns at once with `CancellationError`; the leave goes on.
    public func leave() async throws {
        let ffi = self.ffi
        try await untilCancelled { try await ffi.leave() }
    }

    // MARK: Publishing

    /// Publishes `value` as JSON under `event`. Stored and given a `seq`; while offline it is
    /// queued and sent after reconnecting, exactly once. Returns the server's ack. On a client
    /// that is not connected yet, the first publish connects it.
    ///
    /// `value` is encoded in the caller's isolation (on the main actor when called from there),
    /// so a payload type whose `Encodable` conformance is main-actor isolated works.
    ///
    /// Cancelling the task that awaits the ack does not withdraw the publish: once this call
    /// has started, the message is queued and sent once, like any other (`pending()` lists it
    /// until its ack). This call keeps waiting for that ack (offline: until the connection is
    /// back, or `close()`), so that publishes stay in call order; don't publish the same
    /// message again.
    @discardableResult
    public nonisolated(nonsending) func publish<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws -> PublishAck {
        let json = try encodeJSON(value, using: encoder)
        return try await ffi.publish(event: event, dataJson: json)
    }

    /// Publishes to whoever is in the room now (typing indicators, cursors): not stored, not
    /// queued; throws `RoomcastError.NotConnected` while offline. Encoded in the caller's
    /// isolation, like `publish`.
    public nonisolated(nonsending) func publishEphemeral<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws {
        let json = try encodeJSON(value, using: encoder)
        try await ffi.publishEphemeral(event: event, dataJson: json)
    }

    // MARK: Streamed messages

    /// Opens a streamed message (an assistant's reply growing word by word): `value` is
    /// published as its opening message, and its text grows with the writer's
    /// `append(text:)`, ending with `finish()`, `fail()` or `cancel()`. Readers see the
    /// opening message with the text so far (`message.stream`), then each piece once and in
    /// order (`onAppend`), then the end, across reconnects, restarts and late joins. Every
    /// piece is queued when its call starts (also offline), like a publish.
    public nonisolated(nonsending) func stream<T: Encodable>(
        _ event: String, _ value: T, encoder: JSONEncoder = JSONEncoder()
    ) async throws -> StreamWriter {
        let json = try encodeJSON(value, using: encoder)
        return try ffi.stream(event: event, dataJson: json)
    }

    /// Ends another member's stream `id` (its opening message's id) as cancelled. Returns the
    /// ack of the stream's final piece, also when it had ended already.
    @discardableResult
    public func cancelStream(_ id: String) async throws -> PublishAck {
        let ffi = self.ffi
        return try await untilCancelled { try await ffi.cancelStream(id: id) }
    }

    /// Calls `handler` with each piece of the room's streamed messages, on the SDK's
    /// background threads, in the room's order: a piece's `text` goes after what its stream's
    /// opening message (`message.stream?.text`) and earlier pieces had; the last one has `end`.
    @discardableResult
    public func onAppend(_ handler: @escaping @Sendable (StreamPiece) -> Void) -> HandlerToken {
        let id = UUID()
        let subscription = ffi.onAppend(listener: PieceListener(handler))
        lock.locked { subscriptions[id] = subscription }
        return HandlerToken { [weak self] in
            guard let self else { return }
            let removed = self.lock.locked { self.subscriptions.removeValue(forKey: id) }
            removed?.cancel()
        }
    }

    /// The pieces of stream `id` from now on, each once and in order, ending after its last
    /// piece (the one with `end`). A reply's text so far is in its opening message
    /// (`message.stream?.text`); cancelling the consuming task unsubscribes.
    public func pieces(of id: String) -> AsyncStream<StreamPiece> {
        AsyncStream { continuation in
            let token = self.onAppend { piece in
                guard piece.id == id else { return }
                continuation.yield(piece)
                if piece.end != nil { continuation.finish() }
            }
            continuation.onTermination = { _ in token.cancel() }
        }
    }

    /// Stored messages with `seq < before` (the newest without it), ascending. On a client
    /// that is not connected yet, this connects it. Cancelling the calling task returns at
    /// once with `CancellationError`.
    public func history(before: UInt64? = nil, limit: UInt32 = 50) async throws -> HistoryPage {
        let ffi = self.ffi
        return try await untilCancelled { try await ffi.history(before: before, limit: limit) }
    }

    // MARK: Handlers

    /// Registers `handler` with Rust for as long as this room lives or until cancelled;
    /// `onEnd` runs each time the room's events end (left, lost, closed). Both stay registered
    /// across `leave()` and later joins.
    func add(
        _ handler: @escaping @Sendable (RoomEvent) -> Void, onEnd: @escaping @Sendable () -> Void = {}
    ) -> HandlerToken {
        let id = UUID()
        let subscription = ffi.subscribe(listener: EventListener(handler, onEnd: onEnd))
        lock.locked { subscriptions[id] = subscription }
        return HandlerToken { [weak self] in
            guard let self else { return }
            let removed = self.lock.locked { self.subscriptions.removeValue(forKey: id) }
            removed?.cancel()
        }
    }

    /// Main-actor delivery for code that is generic over a payload type (`onMain.on`,
    /// `RoomcastRoomModel`): `deliver` and `ended` are made on the main actor and only ever run
    /// there, in the room's order. Only the `RoomEvent` (Sendable) crosses from the SDK's
    /// thread, never a payload type or its conformances, so those may be main-actor isolated.
    @MainActor
    func addMain(_ deliver: @escaping (RoomEvent) -> Void, ended: @escaping () -> Void = {}) -> HandlerToken {
        let sink = MainActorSink(deliver: deliver, ended: ended)
        return add({ event in onMainActor { sink.receive(event) } }, onEnd: { onMainActor { sink.end() } })
    }

    func emitDecodingError(_ error: RoomcastDecodingError) {
        let current = lock.locked { Array(decodingErrorHandlers.values) }
        current.forEach { $0(error) }
    }

    /// Calls `handler` with each `event` message decoded as `T`, on the SDK's background
    /// threads. A payload that does not decode goes to the `onError` handlers as a
    /// `RoomcastDecodingError`. `T` is `Sendable` with a nonisolated `Decodable` conformance:
    /// it is decoded on the SDK's thread and handed to a `@Sendable` handler. In a module with
    /// main-actor default isolation, declare it `nonisolated struct ChatMessage: Codable,
    /// Sendable`, or use `onMain.on`, which takes the type as declared.
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

    /// Payloads a typed handler, stream or model could not decode (`RoomcastDecodingError`),
    /// and the room being lost (`RoomcastError`).
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

    /// `event` messages from now on, decoded as `T`; ends when the room is left. Payloads
    /// that do not decode are skipped here and reported to `onError` handlers.
    ///
    /// Each message is decoded where the loop consuming the sequence runs: on the main actor
    /// in main-actor code, so `T` may have a main-actor-isolated `Decodable` conformance (a
    /// payload type in an Xcode 26 app module). Create it before `join()` to also see what a
    /// resume replays; one loop consumes it.
    public func messages<T: Decodable>(
        _ type: T.Type, event: String, decoder: JSONDecoder = JSONDecoder()
    ) -> RoomcastMessages<T> {
        let channel = MessageChannel()
        let listener = EventListener({ roomEvent in
            guard case let .message(message) = roomEvent, message.event == event else { return }
            channel.send(message)
        }, onEnd: { channel.finish() })
        let subscription = ffi.subscribe(listener: listener)
        channel.setCancel { subscription.cancel() }
        return RoomcastMessages(consumer: ChannelConsumer(channel), decoder: decoder, room: self)
    }
}

/// `RoomcastRoom.messages(_:event:)`: an async sequence of `Received<T>`, decoded in the
/// isolation of the loop that consumes it. It ends when the room is left (or lost, or the
/// client closed); cancelling the consuming task, or releasing the sequence, unsubscribes.
/// Not `Sendable`: made in main-actor code with a main-actor-isolated conformance, it stays
/// there.
public struct RoomcastMessages<T: Decodable>: AsyncSequence {
    public typealias Element = Received<T>
    public typealias AsyncIterator = Iterator

    let consumer: ChannelConsumer
    let decoder: JSONDecoder
    let room: RoomcastRoom

    public func makeAsyncIterator() -> Iterator {
        Iterator(consumer: consumer, decoder: decoder, room: room)
    }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = Received<T>

        let consumer: ChannelConsumer
        let decoder: JSONDecoder
        let room: RoomcastRoom

        /// The next message that decodes, decoded in `actor`'s isolation (the consuming
        /// loop's); `nil` once the room's events ended.
        public func next(isolation actor: isolated (any Actor)?) async -> Received<T>? {
            while let message = await consumer.channel.receive() {
                do {
                    let value = try message.decode(T.self, using: decoder)
                    return Received(value: value, meta: MessageMeta(message))
                } catch {
                    room.emitDecodingError(
                        RoomcastDecodingError(meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                    )
                }
            }
            return nil
        }

        /// For loops built for deployment targets before iOS 18 / macOS 15 (which call
        /// `next()`): runs in the caller's isolation too.
        public nonisolated(nonsending) func next() async -> Received<T>? {
            await next(isolation: #isolation)
        }
    }
}

/// A buffered channel of one room's messages: the SDK's thread sends, one consumer receives.
/// Unlike `AsyncStream`'s iterator (advanced in the consumer's isolation only from iOS 18 /
/// macOS 15), `receive()` is `Sendable` and may be awaited from any isolation, so typed
/// sequences decode where they are consumed on every OS version.
final class MessageChannel: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [Message] = []
    private var head = 0
    private var waiter: CheckedContinuation<Message?, Never>?
    private var finished = false
    private var cancel: (@Sendable () -> Void)?

    /// What unsubscribes the channel's listener (called once, when the consumer goes away).
    func setCancel(_ cancel: @escaping @Sendable () -> Void) {
        lock.locked { self.cancel = cancel }
    }

    func send(_ message: Message) {
        let waiting: CheckedContinuation<Message?, Never>? = lock.locked {
            guard !finished else { return nil }
            if let waiter {
                self.waiter = nil
                return waiter
            }
            buffer.append(message)
            return nil
        }
        waiting?.resume(returning: message)
    }

    /// No more messages (the room's events ended): the consumer gets what is buffered, then
    /// `nil`; the listener is unsubscribed.
    func finish() {
        end(dropBuffered: false)
    }

    /// The consumer is gone (its task cancelled, or the sequence released): unsubscribe and
    /// drop what is buffered.
    func close() {
        end(dropBuffered: true)
    }

    private func end(dropBuffered: Bool) {
        let (pending, unsubscribe): (CheckedContinuation<Message?, Never>?, (@Sendable () -> Void)?) = lock.locked {
            finished = true
            if dropBuffered {
                buffer = []
                head = 0
            }
            let waiting = waiter
            waiter = nil
            let cancelling = cancel
            cancel = nil
            return (waiting, cancelling)
        }
        pending?.resume(returning: nil)
        unsubscribe?()
    }

    /// The next message, waiting for one; `nil` once finished or closed. Cancelling the
    /// waiting task closes the channel (as `AsyncStream` ends at cancellation).
    func receive() async -> Message? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Message?, Never>) in
                let ready: Message?? = lock.locked {
                    if head < buffer.count {
                        let message = buffer[head]
                        head += 1
                        if head == buffer.count {
                            buffer.removeAll(keepingCapacity: true)
                            head = 0
                        }
                        return .some(message)
                    }
                    if finished { return .some(nil) }
                    waiter = continuation
                    return .none
                }
                if case let .some(message) = ready {
                    continuation.resume(returning: message)
                }
            }
        } onCancel: {
            self.close()
        }
    }
}

/// Held by a `RoomcastMessages` and its iterator only: when the last of them is released the
/// channel is closed and its listener unsubscribed (the listener, held by Rust, keeps the
/// channel itself alive).
final class ChannelConsumer: Sendable {
    let channel: MessageChannel

    init(_ channel: MessageChannel) {
        self.channel = channel
    }

    deinit {
        channel.close()
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

/// Main-actor-only closures behind a main-actor reference that the SDK's threads may hold
/// (it is `Sendable`; the closures are not, and never leave the main actor).
@MainActor
final class MainActorSink {
    private let deliver: (RoomEvent) -> Void
    private let ended: () -> Void

    init(deliver: @escaping (RoomEvent) -> Void, ended: @escaping () -> Void) {
        self.deliver = deliver
        self.ended = ended
    }

    func receive(_ event: RoomEvent) {
        deliver(event)
    }

    func end() {
        ended()
    }
}

/// The same for the pieces of streamed messages.
@MainActor
final class MainActorPieceSink {
    private let deliver: (StreamPiece) -> Void

    init(deliver: @escaping (StreamPiece) -> Void) {
        self.deliver = deliver
    }

    func receive(_ piece: StreamPiece) {
        deliver(piece)
    }
}

// MARK: Main-actor delivery

extension RoomcastRoom {
    /// Main-actor delivery of stream pieces for code generic over a payload type (the
    /// models): `deliver` is made on the main actor and only ever runs there, in the room's
    /// order; only the `StreamPiece` (Sendable) crosses from the SDK's thread.
    @MainActor
    func addMainPieces(_ deliver: @escaping (StreamPiece) -> Void) -> HandlerToken {
        let sink = MainActorPieceSink(deliver: deliver)
        return onAppend { piece in onMainActor { sink.receive(piece) } }
    }

    /// The handlers again, run on the main actor: for view models and UI.
    ///
    /// ```swift
    /// room.onMain.on(ChatMessage.self, event: "chat.message") { [weak self] message, meta in
    ///     self?.messages.append(...)   // main actor
    /// }
    /// ```
    ///
    /// Guarantee: each handler runs on the main thread, in the room's order (events are
    /// handed to the main dispatch queue, which is first in, first out). The SDK's thread does
    /// not wait for the main thread, so a busy main thread delays these handlers but never the
    /// connection; events then queue up on the main queue. Typed handlers decode on the main
    /// actor, so the payload type's `Decodable` conformance may be main-actor isolated.
    /// Streams need no variant: a `for await` loop in main-actor code runs its body, and the
    /// decoding of `messages(_:event:)`, on the main actor, in order.
    public var onMain: MainActorHandlers { MainActorHandlers(room: self) }

    /// Registration methods whose handlers run on the main actor; see `RoomcastRoom.onMain`.
    public struct MainActorHandlers: Sendable {
        let room: RoomcastRoom

        /// `RoomcastRoom.on(_:event:decoder:_:)` on the main actor: each `event` message is
        /// decoded there, then handed to `handler`. Called from the main actor (a view model,
        /// a SwiftUI view), it takes `T` as the app declared it: a main-actor-isolated
        /// `Decodable` conformance, as in Xcode 26's default app settings, is fine.
        @MainActor
        @discardableResult
        public func on<T: Decodable>(
            _ type: T.Type,
            event: String,
            decoder: JSONDecoder = JSONDecoder(),
            _ handler: @escaping @MainActor @Sendable (T, MessageMeta) -> Void
        ) -> HandlerToken {
            let room = self.room
            return room.addMain { roomEvent in
                guard case let .message(message) = roomEvent, message.event == event else { return }
                do {
                    let value = try message.decode(T.self, using: decoder)
                    handler(value, MessageMeta(message))
                } catch {
                    room.emitDecodingError(
                        RoomcastDecodingError(meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error)
                    )
                }
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
