import Foundation

/// A Roomcast connection: reconnects with backoff, resumes rooms without gaps or
/// duplicates, and re-sends publishes queued while offline, all inside the Rust core.
///
/// ```swift
/// let client = try RoomcastClient(config: ClientConfig(
///     url: "wss://chat.example.com/ws", clientId: deviceId, source: "ios"
/// )) { try await api.fetchRoomcastToken() }
/// try await client.connect()
/// let room = client.room("conv-123")
/// room.on(ChatMessage.self, event: "chat.message") { message, meta in ... }
/// try await room.join()
/// try await room.publish("chat.message", ChatMessage(role: "user", content: "Hello"))
/// ```
public final class RoomcastClient: Sendable {
    /// The generated object, for anything this layer does not wrap.
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
    public init(
        config: ClientConfig,
        tokenProvider: (@Sendable () async throws -> String?)? = nil
    ) throws {
        let provider = tokenProvider.map { ClosureTokenProvider($0) as TokenProvider }
        ffi = try Client(config: config, tokenProvider: provider)
    }

    /// Connects, returning at the first successful handshake; keeps retrying while the
    /// server is unreachable. Throws `RoomcastError.Unauthorized` or `.Closed`.
    public func connect() async throws {
        try await ffi.connect()
    }

    /// A room to register handlers on before `join()`.
    public func room(_ name: String) -> RoomcastRoom {
        RoomcastRoom(name: name, client: ffi)
    }

    /// `room(name)` joined at once, for rooms whose handlers can wait.
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

    /// Publishes waiting for the server's ack (queued offline or in flight).
    public func queued() async -> UInt64 {
        await ffi.queued()
    }

    /// Publishes not yet acknowledged, oldest first, including those a store restored from an
    /// earlier run of the app: what a chat screen shows as "sending".
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

    /// Disconnects until `resume()` (app in background); rooms and the queue are kept.
    public func pause() {
        ffi.pause()
    }

    public func resume() {
        ffi.resume()
    }

    /// Closes for good; queued publishes fail with `RoomcastError.Closed`. With a store they
    /// stay in it and the next client opened on it sends them; the store is released.
    public func close() async throws {
        try await ffi.close()
    }
}
