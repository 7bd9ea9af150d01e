import Foundation
import RoomcastFFI

/// A Roomcast connection: reconnects with backoff, resumes rooms without gaps or
/// duplicates, and re-sends publishes queued while offline, all inside the Rust core.
///
/// ```swift
/// let client = try RoomcastClient(config: ClientConfig(
///     url: "wss://chat.example.com/ws", clientId: deviceId, source: "ios"
/// )) { try await api.fetchRoomcastToken() }
/// let room = client.room("conv-123")
/// room.onMain.on(ChatMessage.self, event: "chat.message") { message, meta in ... }
/// try await room.join()   // the first join connects the client
/// try await room.publish("chat.message", ChatMessage(role: "user", content: "Hello"))
/// ```
///
/// The first operation that needs the server (a join, a persisted publish, history) connects
/// a client that was never connected, exactly as `connect()` would; `connect()` is for
/// connecting earlier, and a `connect()` during that attempt attaches to it. Registering rooms
/// and handlers connects nothing.
///
/// Async calls honour task cancellation: cancelled, they return at once with
/// `CancellationError`; what they started goes on in the SDK (see each one).
public final class RoomcastClient: Sendable {
    /// The generated object, for anything this layer does not wrap (`import RoomcastFFI` to
    /// name its type). For a client made with `RoomcastTesting`, the fake.
    public let ffi: Client

    /// - Parameters:
    ///   - config: server URL, identity, backoff and queue settings. Give `token`, a
    ///     `tokenProvider`, or both. To keep unsent messages and each room's place across
    ///     the app being terminated, set `storePath` to a directory of its own in Application
    ///     Support (`FileManager.default.url(for: .applicationSupportDirectory, in:
    ///     .userDomainMask, appropriateFor: nil, create: true)` + `"roomcast/<user>"`) and keep
    ///     `clientId` stable; one client per store at a time.
    ///   - tokenProvider: called before connecting without a token, before the token
    ///     expires, and after the server rejects one. Return `nil` when signed out (the
    ///     client stops in `.unauthorized`); throwing is a passing failure, retried.
    ///   - automaticLifecycle: on Apple platforms (iOS, iPadOS, tvOS, visionOS, macOS), the
    ///     client follows the app by itself: connected for a 25 s grace period in the
    ///     background, then paused; resumed or checked at once in the foreground; paused
    ///     without a network path and reconnected at once when one is back or changes; on
    ///     macOS, paused before sleep and resumed on wake (`connectivity` shows what it
    ///     applied). Pass `false` to wire `RoomcastConnectivity` yourself. No effect on Linux.
    public init(
        config: ClientConfig,
        tokenProvider: (@Sendable () async throws -> String?)? = nil,
        automaticLifecycle: Bool = true
    ) throws {
        let provider = tokenProvider.map { ClosureTokenProvider($0) as TokenProvider }
        ffi = try Client(config: config, tokenProvider: provider)
        #if os(iOS) || os(tvOS) || os(visionOS) || os(macOS)
        if automaticLifecycle {
            AutomaticLifecycle.attach(self)
        }
        #endif
    }

    deinit {
        #if os(iOS) || os(tvOS) || os(visionOS) || os(macOS)
        AutomaticLifecycle.detach(ObjectIdentifier(self))
        #endif
    }

    #if os(iOS) || os(tvOS) || os(visionOS) || os(macOS)
    /// The connectivity the client applies by itself (`automaticLifecycle`); `nil` without it,
    /// after `close()`, or for a moment after `init` (it starts on the main actor).
    @MainActor
    public var connectivity: RoomcastConnectivity? {
        AutomaticLifecycle.connectivity(of: ObjectIdentifier(self))
    }
    #endif

    /// Wraps a generated client: one made with `Client(config:tokenProvider:)`, or a test
    /// double (`RoomcastTesting`'s `FakeRoomcast` makes one).
    public init(ffi: Client) {
        self.ffi = ffi
    }

    /// Connects, returning at the first successful handshake; keeps retrying while the
    /// server is unreachable. Throws `RoomcastError.Unauthorized` or `.Closed`.
    ///
    /// Cancelling the calling task returns at once with `CancellationError`; the client keeps
    /// connecting (`pause()` or `close()` stop it).
    public func connect() async throws {
        let ffi = self.ffi
        try await untilCancelled { try await ffi.connect() }
    }

    /// A room to register handlers on before `join()`.
    public func room(_ name: String) -> RoomcastRoom {
        RoomcastRoom(name: name, ffi: ffi.room(room: name))
    }

    /// `room(name)` joined at once, for rooms whose handlers can wait. Cancellation as in
    /// `RoomcastRoom.join()`: the join goes on.
    public func join(_ name: String) async throws -> RoomcastRoom {
        let joined = room(name)
        try await joined.join()
        return joined
    }

    public var state: ConnectionState { ffi.state() }

    /// The current state, then every change (fast changes coalesce to the latest). Ends
    /// when the consuming task is cancelled.
    public func states() -> AsyncStream<ConnectionState> {
        AsyncStream(bufferingPolicy: .bufferingNewest(16)) { continuation in
            let subscription = ffi.addStateListener(listener: StateRelay { continuation.yield($0) })
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }

    /// Publishes waiting for the server's ack (queued offline or in flight). Reads the SDK's
    /// own state and never waits for the network, so it returns promptly, cancelled or not.
    public func queued() async -> UInt64 {
        await ffi.queued()
    }

    /// Publishes not yet acknowledged, oldest first, including those a store restored from an
    /// earlier run of the app: what a chat screen shows as "sending". Like `queued()`, it never
    /// waits for the network.
    public func pending() async -> [PendingPublish] {
        await ffi.pending()
    }

    /// Replaces the token; after `.unauthorized`, follow with `reconnectNow()`.
    public func setToken(_ token: String) {
        ffi.setToken(token: token)
    }

    /// Skips the reconnect wait (the OS reports the network back). While connected it probes
    /// the connection instead: a ping, and a new connection unless some frame arrives within
    /// 5 s (back from the background, or a network change).
    public func reconnectNow() {
        ffi.reconnectNow()
    }

    /// Disconnects until `resume()` (app in background); rooms and the queue are kept. Before
    /// anything connected, it keeps the client from connecting (even for a join) until
    /// `resume()`.
    public func pause() {
        ffi.pause()
    }

    public func resume() {
        ffi.resume()
    }

    /// Closes for good; queued publishes fail with `RoomcastError.Closed`, and so does every
    /// later call. With a store they stay in it and the next client opened on it sends them;
    /// the store is released.
    ///
    /// Cancelling the calling task returns at once with `CancellationError`; the close goes
    /// on.
    public func close() async throws {
        #if os(iOS) || os(tvOS) || os(visionOS) || os(macOS)
        AutomaticLifecycle.detach(ObjectIdentifier(self))
        #endif
        let ffi = self.ffi
        try await untilCancelled { try await ffi.close() }
    }
}
