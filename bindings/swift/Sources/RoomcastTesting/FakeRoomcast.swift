import Foundation
import Roomcast
import RoomcastFFI

// FFI names are spelled `RoomcastFFI.X` in this file: `Roomcast` re-exports the records under
// the same names (as typealiases), and both modules are imported here.

/// An in-memory Roomcast for unit tests: no server, no network, no timers.
///
/// `client` is a real `RoomcastClient` whose FFI handle is a fake, so everything built on it
/// works unchanged: `room(_:)`, handlers and `onMain` handlers, typed streams, `states()`,
/// `RoomcastConnection`, `RoomcastConnectionModel`, `RoomcastRoomModel`. Hand `client` to the
/// view model under test, then drive it from the test:
///
/// ```swift
/// let fake = FakeRoomcast()
/// let model = ChatModel(client: fake.client)          // the app's own view model
/// await model.start()                                  // joins "conv-1"
/// try fake.deliver(ChatMessage(content: "hi"), event: "chat.message", room: "conv-1")
/// model.send("hello")
/// XCTAssertEqual(fake.published(ChatMessage.self, event: "chat.message").map(\.content), ["hello"])
/// fake.setState(.reconnecting(attempt: 1, delayMs: 2000))
/// ```
///
/// What it does, like the real client: the first join (or `connect()`) moves an idle client to
/// `.connected`; a join answers `joined` (to the room's handlers too) with this client and
/// whoever `deliverPresence` added; a persisted publish to a joined room is recorded and acked
/// at once with the room's next `seq` (it is not echoed back, as the server sends a publisher
/// its ack only); `history` pages what was delivered and published; `leave()` ends the room's
/// streams and keeps its handlers; `close()` closes everything, and later calls throw
/// `.Closed`. Messages reach handlers only while their room is joined.
///
/// Delivery is synchronous, on the thread that calls `deliver...`, in order: plain handlers
/// have run when it returns; `onMain` handlers, `RoomcastRoomModel`s and streams consumed on
/// the main actor run once the main actor gets to them (await something, e.g. `Task.yield()`
/// in a `@MainActor` test, or poll with a deadline).
public final class FakeRoomcast: @unchecked Sendable {
    /// The client to hand to the code under test.
    public let client: RoomcastClient
    private let fake: FakeClient

    /// - Parameters:
    ///   - user, clientId, source: who this client is (the `from` of its own messages and its
    ///     entry in members).
    ///   - state: where the connection starts; `.idle` like a new client.
    public init(user: String = "me", clientId: String = "me-test", source: String = "test",
                state: RoomcastFFI.ConnectionState = .idle) {
        let me = RoomcastFFI.Member(user: user, client: clientId, source: source, name: nil)
        fake = FakeClient(me: me, state: state)
        client = RoomcastClient(ffi: fake)
    }

    /// A member for `deliver` and `deliverPresence`.
    public static func member(_ user: String, source: String = "web") -> RoomcastFFI.Member {
        RoomcastFFI.Member(user: user, client: "\(user)-\(source)", source: source, name: nil)
    }

    // MARK: Connection

    public var state: RoomcastFFI.ConnectionState { fake.state() }

    /// Sets the connection state; `states()` streams and the connection models see it.
    public func setState(_ state: RoomcastFFI.ConnectionState) {
        fake.setState(state)
    }

    /// What `queued()` answers (the "N queued" badge).
    public var queued: UInt64 {
        get { fake.shared.locked { $0.queued } }
        set { fake.shared.locked { $0.queued = newValue } }
    }

    /// What `pending()` answers.
    public var pending: [RoomcastFFI.PendingPublish] {
        get { fake.shared.locked { $0.pending } }
        set { fake.shared.locked { $0.pending = newValue } }
    }

    /// `pause`, `resume`, `reconnectNow`, `setToken:<token>`, `connect`, `close`, in order.
    public var calls: [String] { fake.shared.locked { $0.calls } }

    // MARK: Rooms

    /// Every persisted and ephemeral publish made through the client, oldest first.
    public var published: [FakePublish] { fake.shared.locked { $0.published } }

    /// The payloads of `event` publishes (to `room`, or any room), decoded as `T`; payloads that
    /// do not decode are skipped.
    public func published<T: Decodable>(
        _ type: T.Type, event: String, room: String? = nil, decoder: JSONDecoder = JSONDecoder()
    ) -> [T] {
        published
            .filter { $0.event == event && (room == nil || $0.room == room) }
            .compactMap { try? decoder.decode(T.self, from: Data($0.dataJson.utf8)) }
    }

    /// Whether `room` is joined now.
    public func isJoined(_ room: String) -> Bool {
        fake.shared.locked { $0.joined.contains(room) }
    }

    /// The next joins (of any room) fail with this error until it is set back to `nil`.
    public var joinError: RoomcastFFI.RoomcastError? {
        get { fake.shared.locked { $0.joinError } }
        set { fake.shared.locked { $0.joinError = newValue } }
    }

    /// Persisted publishes fail with this error (and are not recorded) until set back to `nil`.
    public var publishError: RoomcastFFI.RoomcastError? {
        get { fake.shared.locked { $0.publishError } }
        set { fake.shared.locked { $0.publishError = newValue } }
    }

    /// Delivers `value` as an `event` message from `from` to `room`'s handlers and streams (if
    /// the room is joined; otherwise it is only stored). Persisted messages get the room's next
    /// `seq` and are kept for `history`; ephemeral ones have no `seq`. Returns the message.
    @discardableResult
    public func deliver<T: Encodable>(
        _ value: T, event: String, room: String, from: RoomcastFFI.Member = FakeRoomcast.member("other"),
        persisted: Bool = true, encoder: JSONEncoder = JSONEncoder()
    ) throws -> RoomcastFFI.Message {
        let json = String(decoding: try encoder.encode(value), as: UTF8.self)
        return deliverJSON(json, event: event, room: room, from: from, persisted: persisted)
    }

    /// `deliver` with the payload as JSON text as is (e.g. one that does not decode).
    @discardableResult
    public func deliverJSON(
        _ dataJson: String, event: String, room: String, from: RoomcastFFI.Member = FakeRoomcast.member("other"),
        persisted: Bool = true
    ) -> RoomcastFFI.Message {
        let message = fake.shared.locked { state -> RoomcastFFI.Message in
            let seq: UInt64? = persisted ? state.nextSeq(room) : nil
            let message = RoomcastFFI.Message(
                room: room, seq: seq, id: UUID().uuidString.lowercased(), event: event,
                dataJson: dataJson, from: from, ts: FakeClient.now()
            )
            if persisted { state.history[room, default: []].append(message) }
            return message
        }
        fake.room(named: room).emitIfJoined { $0.onMessage(message: message) }
        return message
    }

    /// `member` joined (`.join`) or left (`.leave`) `room`: presence handlers see it, and the
    /// member list of the next `joined` includes (or drops) them.
    public func deliverPresence(_ kind: RoomcastFFI.PresenceKind, _ member: RoomcastFFI.Member, room: String) {
        fake.shared.locked { state in
            var present = state.present[room, default: []]
            present.removeAll { $0.client == member.client && $0.user == member.user }
            if kind == .join { present.append(member) }
            state.present[room] = present
        }
        let event = RoomcastFFI.PresenceEvent(room: room, kind: kind, member: member)
        fake.room(named: room).emitIfJoined { $0.onPresence(presence: event) }
    }

    /// Messages were missed and cannot be replayed (`onGap`).
    public func deliverGap(room: String, since: UInt64?, head: UInt64) {
        let gap = RoomcastFFI.Gap(room: room, since: since, previousEpoch: nil, head: head, epoch: "fake")
        fake.room(named: room).emitIfJoined { $0.onGap(gap: gap) }
    }

    /// The server refused the automatic rejoin of `room`: `onError` gets `error` and the room's
    /// events end, as when the real client loses a room.
    public func loseRoom(_ room: String, error: RoomcastFFI.RoomcastError = .Forbidden(reason: "fake")) {
        let target = fake.room(named: room)
        guard fake.shared.locked({ $0.joined.remove(room) != nil }) else { return }
        target.emit { $0.onError(error: error) }
        target.emit { $0.onEnd() }
    }
}

/// One publish recorded by `FakeRoomcast`.
public struct FakePublish: Sendable, Equatable {
    public let room: String
    public let event: String
    public let dataJson: String
    /// `nil` for ephemeral publishes.
    public let seq: UInt64?
    public let ephemeral: Bool
}

// MARK: The fake FFI objects

/// The fake's state, behind one lock.
struct FakeState {
    var connection: RoomcastFFI.ConnectionState
    var closed = false
    var queued: UInt64 = 0
    var pending: [RoomcastFFI.PendingPublish] = []
    var calls: [String] = []
    var published: [FakePublish] = []
    var joined: Set<String> = []
    var present: [String: [RoomcastFFI.Member]] = [:]
    var history: [String: [RoomcastFFI.Message]] = [:]
    var seqs: [String: UInt64] = [:]
    var joinError: RoomcastFFI.RoomcastError?
    var publishError: RoomcastFFI.RoomcastError?

    mutating func nextSeq(_ room: String) -> UInt64 {
        let seq = seqs[room, default: 0] + 1
        seqs[room] = seq
        return seq
    }
}

/// A value behind a lock, read and changed only in `locked`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func locked<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

final class FakeClient: RoomcastFFI.Client, @unchecked Sendable {
    let me: RoomcastFFI.Member
    let shared: Locked<FakeState>
    private let rooms = Locked<[String: FakeRoom]>([:])
    private let stateListeners = Locked<[UUID: any RoomcastFFI.StateListener]>([:])

    init(me: RoomcastFFI.Member, state: RoomcastFFI.ConnectionState) {
        self.me = me
        shared = Locked(FakeState(connection: state))
        super.init(noHandle: RoomcastFFI.Client.NoHandle())
    }

    required init(unsafeFromHandle handle: UInt64) {
        fatalError("FakeClient has no Rust handle")
    }

    static func now() -> UInt64 {
        UInt64(Date().timeIntervalSince1970 * 1000)
    }

    func room(named name: String) -> FakeRoom {
        rooms.locked { rooms in
            if let room = rooms[name] { return room }
            let room = FakeRoom(name: name, client: self)
            rooms[name] = room
            return room
        }
    }

    func setState(_ state: RoomcastFFI.ConnectionState) {
        shared.locked { $0.connection = state }
        let listeners = stateListeners.locked { Array($0.values) }
        listeners.forEach { $0.onState(state: state) }
    }

    /// Throws `.Closed` once closed; an idle client starts "connecting" by itself, as the real
    /// one does for the first join, persisted publish or history.
    func ensureConnected() throws {
        let (closed, idle) = shared.locked { ($0.closed, $0.connection == .idle) }
        if closed { throw RoomcastFFI.RoomcastError.Closed }
        if idle { setState(.connected) }
    }

    private func record(_ call: String) {
        shared.locked { $0.calls.append(call) }
    }

    override func addStateListener(listener: any RoomcastFFI.StateListener) -> RoomcastFFI.Subscription {
        let id = UUID()
        stateListeners.locked { $0[id] = listener }
        listener.onState(state: state())
        return FakeSubscription { [weak self] in
            _ = self?.stateListeners.locked { $0.removeValue(forKey: id) }
        }
    }

    override func close() async throws {
        record("close")
        let wasClosed = shared.locked { state -> Bool in
            let was = state.closed
            state.closed = true
            state.joined = []
            return was
        }
        if wasClosed { return }
        let all = rooms.locked { Array($0.values) }
        all.forEach { room in room.emit { $0.onEnd() } }
        setState(.closed)
    }

    override func connect() async throws {
        record("connect")
        try ensureConnected()
    }

    override func join(
        room: String, listener: any RoomcastFFI.RoomListener, resume: RoomcastFFI.ResumeMode?
    ) async throws -> RoomcastFFI.Room {
        let target = self.room(named: room)
        target.attach(target.subscribe(listener: listener))  // for the room's life, as the FFI does
        _ = try await target.join(resume: resume)
        return target
    }

    override func pause() {
        record("pause")
        setState(.paused)
    }

    override func pending() async -> [RoomcastFFI.PendingPublish] {
        shared.locked { $0.pending }
    }

    override func queued() async -> UInt64 {
        shared.locked { $0.queued }
    }

    override func reconnectNow() {
        record("reconnectNow")
    }

    override func resume() {
        record("resume")
        if state() == .paused { setState(.connected) }
    }

    override func room(room: String) -> RoomcastFFI.Room {
        self.room(named: room)
    }

    override func setToken(token: String) {
        record("setToken:\(token)")
    }

    override func state() -> RoomcastFFI.ConnectionState {
        shared.locked { $0.connection }
    }

    override func storeDamage() -> RoomcastFFI.RoomcastError? {
        nil
    }
}

final class FakeRoom: RoomcastFFI.Room, @unchecked Sendable {
    let roomName: String
    // Strong: a room may outlive the test's other references to the client (a small cycle,
    // test-only).
    let client: FakeClient
    private let listeners = Locked<[UUID: any RoomcastFFI.RoomListener]>([:])
    /// Subscriptions made by `Client.join(room:listener:resume:)`, kept as long as the room.
    private let attached = Locked<[RoomcastFFI.Subscription]>([])

    init(name: String, client: FakeClient) {
        roomName = name
        self.client = client
        super.init(noHandle: RoomcastFFI.Room.NoHandle())
    }

    required init(unsafeFromHandle handle: UInt64) {
        fatalError("FakeRoom has no Rust handle")
    }

    func attach(_ subscription: RoomcastFFI.Subscription) {
        attached.locked { $0.append(subscription) }
    }

    /// Calls `body` on every listener, in registration order of no importance (each one is a
    /// separate handler), outside the lock.
    func emit(_ body: (any RoomcastFFI.RoomListener) -> Void) {
        let current = listeners.locked { Array($0.values) }
        current.forEach(body)
    }

    func emitIfJoined(_ body: (any RoomcastFFI.RoomListener) -> Void) {
        guard client.shared.locked({ $0.joined.contains(roomName) }) else { return }
        emit(body)
    }

    override func history(before: UInt64?, limit: UInt32) async throws -> RoomcastFFI.HistoryPage {
        try client.ensureConnected()
        let stored = client.shared.locked { $0.history[roomName] ?? [] }
        let older = stored.filter { message in
            guard let before else { return true }
            return (message.seq ?? 0) < before
        }
        let page = Array(older.suffix(Int(limit)))
        return RoomcastFFI.HistoryPage(room: roomName, messages: page, more: older.count > page.count)
    }

    override func join(resume: RoomcastFFI.ResumeMode?) async throws -> RoomcastFFI.JoinInfo {
        try client.ensureConnected()
        let me = client.me
        let info = try client.shared.locked { state -> RoomcastFFI.JoinInfo in
            if let error = state.joinError { throw error }
            state.joined.insert(roomName)
            return RoomcastFFI.JoinInfo(
                room: roomName, seq: state.seqs[roomName, default: 0], epoch: "fake", recovered: true,
                presence: [me] + state.present[roomName, default: []], rejoin: false
            )
        }
        emit { $0.onJoined(info: info) }
        return info
    }

    override func leave() async throws {
        let wasJoined = client.shared.locked { $0.joined.remove(roomName) != nil }
        if wasJoined { emit { $0.onEnd() } }
    }

    override func name() -> String {
        roomName
    }

    override func publish(event: String, dataJson: String) async throws -> RoomcastFFI.PublishAck {
        try client.ensureConnected()
        let name = roomName
        return try client.shared.locked { state -> RoomcastFFI.PublishAck in
            guard state.joined.contains(name) else { throw RoomcastFFI.RoomcastError.NotJoined(room: name) }
            if let error = state.publishError { throw error }
            let seq = state.nextSeq(name)
            let id = UUID().uuidString.lowercased()
            let ts = FakeClient.now()
            state.published.append(FakePublish(room: name, event: event, dataJson: dataJson, seq: seq, ephemeral: false))
            state.history[name, default: []].append(
                RoomcastFFI.Message(room: name, seq: seq, id: id, event: event, dataJson: dataJson, from: client.me, ts: ts)
            )
            return RoomcastFFI.PublishAck(id: id, seq: seq, ts: ts)
        }
    }

    override func publishEphemeral(event: String, dataJson: String) async throws {
        let name = roomName
        try client.shared.locked { state in
            if state.closed { throw RoomcastFFI.RoomcastError.Closed }
            guard state.connection == .connected else { throw RoomcastFFI.RoomcastError.NotConnected }
            guard state.joined.contains(name) else { throw RoomcastFFI.RoomcastError.NotJoined(room: name) }
            state.published.append(FakePublish(room: name, event: event, dataJson: dataJson, seq: nil, ephemeral: true))
        }
    }

    override func subscribe(listener: any RoomcastFFI.RoomListener) -> RoomcastFFI.Subscription {
        let id = UUID()
        listeners.locked { $0[id] = listener }
        return FakeSubscription { [weak self] in
            _ = self?.listeners.locked { $0.removeValue(forKey: id) }
        }
    }
}

final class FakeSubscription: RoomcastFFI.Subscription, @unchecked Sendable {
    private let onCancel: Locked<(@Sendable () -> Void)?>

    init(_ onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = Locked(onCancel)
        super.init(noHandle: RoomcastFFI.Subscription.NoHandle())
    }

    required init(unsafeFromHandle handle: UInt64) {
        fatalError("FakeSubscription has no Rust handle")
    }

    deinit {
        cancel()
    }

    override func cancel() {
        let action = onCancel.locked { action -> (@Sendable () -> Void)? in
            let taken = action
            action = nil
            return taken
        }
        action?()
    }
}
