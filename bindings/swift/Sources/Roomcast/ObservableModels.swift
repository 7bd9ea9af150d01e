import Foundation
#if canImport(Observation)
import Observation

/// Connection status with Observation (iOS 17+, macOS 14+): the same as `RoomcastConnection`
/// without Combine. Updated on the main actor.
///
/// ```swift
/// @State var connection = RoomcastConnectionModel(client: client)
/// Text(connection.statusText)
/// ```
@available(iOS 17.0, macOS 14.0, tvOS 17.0, watchOS 10.0, *)
@MainActor
@Observable
public final class RoomcastConnectionModel {
    public private(set) var state: ConnectionState
    /// Whole seconds until the next reconnect attempt, while `.reconnecting`.
    public private(set) var reconnectingIn: Int? = nil
    /// Publishes not yet acknowledged (queued while offline, or in flight).
    public private(set) var queued: UInt64 = 0

    public let client: RoomcastClient
    private let tasks = CancelBag()
    @ObservationIgnored private var countdown: Task<Void, Never>? = nil

    public init(client: RoomcastClient) {
        self.client = client
        state = client.state
        let states = client.states()
        tasks.add(Task { [weak self] in
            for await state in states {
                guard let self else { return }
                self.apply(state)
            }
        })
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

    private func apply(_ state: ConnectionState) {
        self.state = state
        countdown?.cancel()
        reconnectingIn = nil
        guard case let .reconnecting(_, delayMs) = state else {
            Task { [weak self] in await self?.refreshQueued() }
            return
        }
        let countdown = reconnectCountdown(delayMs: delayMs) { [weak self] left in
            guard let self else { return false }
            self.reconnectingIn = left
            await self.refreshQueued()
            return true
        }
        self.countdown = countdown  // ends by itself within the delay once the model is gone
    }
}

/// One room's live view with Observation (iOS 17+, macOS 14+): its `event` messages decoded
/// as `T`, who is present, and whether it is joined. Subscribes at once, so create it before
/// `join()` to also see what a resume replays. Updated on the main actor, in the room's order.
///
/// It stays live for as long as it exists: after `leave()` (`isJoined` false, no members) a
/// later `join()` of the same room shows as joined again and new messages keep arriving, like
/// the room's handlers. Messages are decoded on the main actor, so `T` may be a payload type
/// whose `Decodable` conformance is main-actor isolated (an Xcode 26 app module's default).
///
/// ```swift
/// @State var chat = RoomcastRoomModel(room: room, ChatMessage.self, event: "chat.message")
/// List(chat.messages, id: \.meta.id) { Text($0.value.content) }
/// ```
@available(iOS 17.0, macOS 14.0, tvOS 17.0, watchOS 10.0, *)
@MainActor
@Observable
public final class RoomcastRoomModel<T: Decodable> {
    /// Messages in `seq` order (ephemeral ones where they arrived), at most `limit`.
    public private(set) var messages: [Received<T>] = []
    /// Everyone present, this client included, while joined.
    public private(set) var members: [Member] = []
    public private(set) var isJoined = false
    /// The last of this model's payloads that did not decode (`RoomcastDecodingError`), or
    /// the room being lost (`RoomcastError`).
    public private(set) var lastError: (any Error)? = nil

    /// The text so far of each streamed message among `messages` (by message id), growing as
    /// its pieces arrive: a view shows `streams[received.meta.id]?.text` in place of a reply's
    /// payload, and SwiftUI redraws the bubble as it grows.
    public private(set) var streams: [String: StreamText] = [:]

    public let room: RoomcastRoom
    private let eventName: String
    private let limit: Int
    private let decoder: JSONDecoder
    @ObservationIgnored private var memberList = MemberList()
    private let tasks = CancelBag()

    /// - Parameter limit: the most messages kept (the oldest go first).
    public init(
        room: RoomcastRoom, _ type: T.Type, event: String, limit: Int = 500,
        decoder: JSONDecoder = JSONDecoder()
    ) {
        self.room = room
        eventName = event
        self.limit = limit
        self.decoder = decoder
        // Handlers, not streams: they stay registered across leave() and later joins.
        // Only non-Sendable closures (made and run on the main actor) see `self`, whose type
        // involves `T`: nothing that crosses threads carries `T`'s conformances.
        tasks.add(room.addMain({ [weak self] roomEvent in
            self?.apply(roomEvent)
        }, ended: { [weak self] in
            self?.ended()
        }))
        tasks.add(room.addMainPieces { [weak self] piece in
            self?.grow(piece)
        })
    }

    /// A piece of a streamed message this model shows.
    private func grow(_ piece: StreamPiece) {
        guard var stream = streams[piece.id], piece.n >= stream.pieces else { return }
        stream.text += piece.text
        stream.pieces = piece.n + 1
        if let end = piece.end { stream.state = end }
        streams[piece.id] = stream
    }

    /// Older messages before the oldest stored one shown (ephemeral ones have no `seq`), from
    /// the server's history; returns whether more remain. Messages already shown (live ones
    /// that arrived meanwhile) are not added again.
    public func loadEarlier(event: String, pageSize: UInt32 = 50, decoder: JSONDecoder = JSONDecoder()) async throws -> Bool {
        let before = messages.compactMap { $0.meta.seq }.min()
        let page = try await room.history(before: before, limit: pageSize)
        let shown = Set(messages.compactMap { $0.meta.seq })  // read after the await
        let earlier = page.decoded(T.self, event: event, using: decoder)
            .filter { item in item.meta.seq.map { !shown.contains($0) } ?? true }
            .map { Received(value: $0.value, meta: $0.meta) }
        messages.insert(contentsOf: earlier, at: 0)
        return page.more
    }

    private func apply(_ event: RoomEvent) {
        memberList.apply(event)
        if members != memberList.members { members = memberList.members }
        switch event {
        case .message(let message):
            guard message.event == eventName else { return }
            do {
                let value = try message.decode(T.self, using: decoder)
                if let stream = message.stream {
                    streams[message.id] = StreamText(stream)
                }
                messages.append(Received(value: value, meta: MessageMeta(message)))
                if messages.count > limit {
                    messages.removeFirst(messages.count - limit)
                }
            } catch {
                let failure = RoomcastDecodingError(
                    meta: MessageMeta(message), dataJSON: message.dataJson, underlying: error
                )
                lastError = failure
                room.emitDecodingError(failure)  // and to the room's onError handlers
            }
        case .joined:
            isJoined = true
        case .lost(let error):
            isJoined = false
            lastError = error
        case .presence, .gap:
            break
        }
    }

    /// The room's events ended (left, lost or the client closed); a later join starts them
    /// again, and this model with them.
    private func ended() {
        isJoined = false
        memberList = MemberList()
        if !members.isEmpty { members = [] }
    }
}
/// A streamed message for a SwiftUI view: its text grows as the pieces arrive, once each
/// and in order, and `state` says when it ended. Make one from the stream's opening message
/// (`message.stream`), or by id for a reply this client writes or was told about.
@available(iOS 17.0, macOS 14.0, tvOS 17.0, watchOS 10.0, *)
@MainActor
@Observable
public final class RoomcastReply {
    /// The stream's id (its opening message's).
    public let id: String
    public private(set) var text: String
    public private(set) var state: StreamState
    /// Pieces the text holds.
    public private(set) var pieces: UInt64
    @ObservationIgnored private let tasks = CancelBag()

    /// Follows stream `id` in `room` from `text` (holding `pieces` pieces) on.
    public init(room: RoomcastRoom, id: String, text: String = "", pieces: UInt64 = 0, state: StreamState = .open) {
        self.id = id
        self.text = text
        self.pieces = pieces
        self.state = state
        tasks.add(room.addMainPieces { [weak self] piece in
            guard piece.id == id else { return }
            self?.grow(piece)
        })
    }

    /// Follows the stream `message` opens, from the text it carries.
    public convenience init(room: RoomcastRoom, message: Message) {
        let stream = message.stream
        self.init(
            room: room, id: message.id, text: stream?.text ?? "", pieces: stream?.n ?? 0,
            state: stream?.state ?? .open
        )
    }

    public var isOpen: Bool { state == .open }

    private func grow(_ piece: StreamPiece) {
        guard piece.n >= pieces, state == .open else { return }
        text += piece.text
        pieces = piece.n + 1
        if let end = piece.end { state = end }
    }
}
#endif

/// Loops and registrations stopped together when their owner is released: lets main-actor
/// models end their stream loops and handlers without a `deinit` touching actor-isolated state.
final class CancelBag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancels: [@Sendable () -> Void] = []

    func add(_ task: Task<Void, Never>) {
        lock.locked { cancels.append { task.cancel() } }
    }

    func add(_ token: HandlerToken) {
        lock.locked { cancels.append { token.cancel() } }
    }

    deinit {
        cancels.forEach { $0() }
    }
}
