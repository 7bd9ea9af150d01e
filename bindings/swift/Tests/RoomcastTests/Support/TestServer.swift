import Foundation
import Roomcast
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if os(macOS) || os(Linux)  // `Process` is unavailable on iOS, tvOS, watchOS and visionOS.
/// A `roomcast-server` process (the binary in `ROOMCAST_SERVER`) on a free loopback port with a
/// temporary data directory and its own JWT secret. It can be killed (SIGKILL) and started
/// again on the same port and data, which is a crash and restart as clients see it.
final class TestServer: @unchecked Sendable {
    static let secret = "swift-test-secret-0123456789"

    let binary: String
    let dataDir: URL
    private let extra: [String]
    private let lock = NSLock()
    private var process: Process?
    private(set) var addr = "127.0.0.1:0"

    init(extra: [String] = []) throws {
        guard let binary = ProcessInfo.processInfo.environment["ROOMCAST_SERVER"] else {
            throw XCTSkip("ROOMCAST_SERVER is not set (scripts/test-swift.sh sets it)")
        }
        self.binary = binary
        self.extra = extra
        dataDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("roomcast-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        crash()
        try? FileManager.default.removeItem(at: dataDir)
    }

    var url: String { "ws://\(addr)/ws" }

    /// How long the server may take to print its address before `start()` gives up.
    static let startupTimeout: TimeInterval = 20

    /// Starts the server and returns once it accepts connections (it prints its address).
    /// Throws if it exits first or prints nothing within `startupTimeout` (then it is killed):
    /// a server that hangs at startup fails its test instead of hanging the suite.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--listen", addr, "--data", dataDir.path, "--jwt-secret", Self.secret] + extra
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A thread of its own reads stdout (blocking reads); this one waits with a deadline.
        let startup = Startup(output.fileHandleForReading)
        Thread.detachNewThread { startup.read() }
        let waited = startup.ready.wait(timeout: DispatchTime.now() + Self.startupTimeout)
        let (bound, printed) = startup.result
        guard let bound else {
            if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()  // the reader thread then sees end of file and ends
            throw waited == .timedOut ? ServerError.startTimeout(printed) : ServerError.exited(printed)
        }
        lock.lock()
        addr = bound
        self.process = process
        lock.unlock()
    }

    /// The server's stdout, read on its own thread: collected until the address line (then
    /// `ready` is signalled), then drained until end of file so the server never blocks on a
    /// full pipe. Its state is locked only from synchronous code.
    private final class Startup: @unchecked Sendable {
        let ready = DispatchSemaphore(value: 0)
        private let reader: FileHandle
        private let lock = NSLock()
        private var printed = ""
        private var bound: String?

        init(_ reader: FileHandle) {
            self.reader = reader
        }

        var result: (bound: String?, printed: String) {
            lock.lock()
            defer { lock.unlock() }
            return (bound, printed)
        }

        /// Returns at end of file: the server exited (or was killed).
        func read() {
            var found = false
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                if found { continue }
                lock.lock()
                printed += String(decoding: chunk, as: UTF8.self)
                bound = TestServer.address(in: printed)
                found = bound != nil
                lock.unlock()
                if found { ready.signal() }
            }
            if !found { ready.signal() }  // exited before printing its address
        }
    }

    /// SIGKILL: no close frames, clients find out from the dead socket.
    func crash() {
        lock.lock()
        let process = self.process
        self.process = nil
        lock.unlock()
        guard let process, process.isRunning else { return }
        _ = kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func restart() throws {
        crash()
        try start()
    }

    /// A token from `roomcast-server token`; `stats`: an operator token (the detail of `/stats`).
    func token(
        _ user: String, ttl: Int = 600, rooms: String? = nil, stats: Bool = false, secret: String = TestServer.secret
    ) throws -> String {
        var arguments = ["token", "--jwt-secret", secret, "--user", user, "--ttl", String(ttl)]
        if let rooms { arguments += ["--rooms", rooms] }
        if stats { arguments.append("--stats") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !token.isEmpty else { throw ServerError.token(token) }
        return token
    }

    /// A config for `user`, with short reconnect delays so tests run fast.
    func config(_ user: String, source: String = "ios", token: String? = nil) throws -> ClientConfig {
        let bearer = try token ?? self.token(user)
        return ClientConfig(
            url: url, token: bearer, clientId: "\(user)-\(source)",
            source: source, name: "\(user)'s \(source)", minDelayMs: 100, maxDelayMs: 500
        )
    }

    /// A connected client for `user`.
    func client(_ user: String, source: String = "ios") async throws -> RoomcastClient {
        let client = try RoomcastClient(config: config(user, source: source))
        try await client.connect()
        return client
    }

    /// The server's `/stats` with an operator token: open connections, in all and by the
    /// `source` each client announced.
    func stats() throws -> Stats {
        let port = UInt16(addr.split(separator: ":").last.flatMap { Int($0) } ?? 0)
        let (status, body) = try httpGet(port: port, path: "/stats", bearer: try token("ops", stats: true))
        guard status == 200 else { throw ServerError.stats(status, String(decoding: body, as: UTF8.self)) }
        return try JSONDecoder().decode(Stats.self, from: body)
    }

    struct Stats: Decodable, Sendable {
        let connections: Int
        let connectionsBySource: [String: Int]

        enum CodingKeys: String, CodingKey {
            case connections
            case connectionsBySource = "connections_by_source"
        }
    }

    private static func address(in printed: String) -> String? {
        guard let range = printed.range(of: "listening on http://") else { return nil }
        let rest = printed[range.upperBound...]
        guard let end = rest.firstIndex(where: { $0 == "\n" || $0 == " " }) else { return nil }
        return String(rest[..<end])
    }

    enum ServerError: Error {
        /// Exited before printing its address; what it printed.
        case exited(String)
        /// Printed no address within `startupTimeout` and was killed; what it printed.
        case startTimeout(String)
        case token(String)
        /// `/stats` answered this status and body.
        case stats(Int, String)
    }
}
#endif

/// Values collected from handlers on the SDK's threads, read by the test.
final class Collector<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    var count: Int { all.count }
}

/// Polls `condition` until it holds; fails with `what` after `timeout` seconds. The polling
/// interval is short: this waits for a condition, never for a fixed time. `condition` is
/// `@Sendable` (it reads `Collector`s and clients, all `Sendable`), so main-actor tests can
/// pass one to this nonisolated function without sending a main-actor closure away.
func eventually(
    _ what: String, timeout: TimeInterval = 15,
    file: StaticString = #filePath, line: UInt = #line,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !(try await condition()) {
        if Date() > deadline {
            XCTFail("timed out after \(timeout) s waiting for: \(what)", file: file, line: line)
            throw Timeout(what: what)
        }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}

struct Timeout: Error {
    let what: String
}

/// The outcome of an async call started in its own task, for calls that must settle (finish
/// or fail) but might not: polled with `eventually`, never awaited blindly.
final class Outcome<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, any Error>?

    init(_ work: @escaping @Sendable () async throws -> Value) {
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            self.settle(result)
        }
    }

    /// Synchronous: `NSLock.lock()` is unavailable from async contexts (Apple platforms).
    private func settle(_ outcome: Result<Value, any Error>) {
        lock.lock()
        result = outcome
        lock.unlock()
    }

    var settled: Result<Value, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }

    /// Waits for the outcome, failing the test after `timeout`.
    func value(timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line) async throws -> Result<Value, any Error> {
        try await eventually("the call settles", timeout: timeout, file: file, line: line) { settled != nil }
        return settled ?? .failure(Timeout(what: "settled"))
    }
}

struct ChatMessage: Codable, Sendable, Equatable {
    var content: String
    var n: Int?
}
