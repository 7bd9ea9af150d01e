import Foundation

/// Everything about a message except its payload, handed to typed handlers beside the
/// decoded value.
public struct MessageMeta: Sendable, Hashable {
    public let room: String
    /// Position in the room's history; `nil` for ephemeral messages (typing, cursors).
    public let seq: UInt64?
    public let id: String
    public let event: String
    /// Author: user, client id, and `source` (`ios`, `web`, `cli`, ...) for badges.
    public let from: Member
    /// Server time, Unix milliseconds.
    public let ts: UInt64

    public init(_ message: Message) {
        room = message.room
        seq = message.seq
        id = message.id
        event = message.event
        from = message.from
        ts = message.ts
    }

    public var date: Date { Date(timeIntervalSince1970: TimeInterval(ts) / 1000) }
}

/// A payload a typed handler could not decode. The message is not lost: untyped streams
/// and handlers still saw it.
public struct RoomcastDecodingError: Error, Sendable, LocalizedError, CustomStringConvertible {
    public let meta: MessageMeta
    public let dataJSON: String
    public let underlying: any Error

    public var errorDescription: String? { description }

    public var description: String {
        let seq = meta.seq.map { " #\($0)" } ?? ""
        return "Message\(seq) \"\(meta.event)\" in room \(meta.room) did not decode: \(underlying)"
    }
}

extension Message {
    /// Decodes the JSON payload as `T`.
    public func decode<T: Decodable>(_ type: T.Type, using decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(dataJson.utf8))
    }
}

extension HistoryPage {
    /// The page's `event` messages decoded as `T`, skipping payloads that do not decode.
    public func decoded<T: Decodable>(
        _ type: T.Type, event: String, using decoder: JSONDecoder = JSONDecoder()
    ) -> [(value: T, meta: MessageMeta)] {
        messages.compactMap { message in
            guard message.event == event, let value = try? message.decode(T.self, using: decoder) else {
                return nil
            }
            return (value, MessageMeta(message))
        }
    }
}

extension ConnectionState {
    /// Short lowercase name, for logs and badges.
    public var name: String {
        switch self {
        case .idle: return "idle"
        case .connecting: return "connecting"
        case .connected: return "connected"
        case .reconnecting: return "reconnecting"
        case .paused: return "paused"
        case .unauthorized: return "unauthorized"
        case .closed: return "closed"
        }
    }
}

/// Encodes a value as the JSON text the FFI carries.
func encodeJSON<T: Encodable>(_ value: T, using encoder: JSONEncoder) throws -> String {
    let data = try encoder.encode(value)
    guard let text = String(data: data, encoding: .utf8) else {
        throw RoomcastError.InvalidPayload(reason: "encoded JSON is not UTF-8")
    }
    return text
}

extension NSLock {
    /// `withLock` needs iOS 16 / macOS 13; this package supports iOS 15 / macOS 12.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A streamed message's text so far and its state, as `RoomcastRoomModel.streams` keeps it.
public struct StreamText: Sendable, Equatable {
    public var text: String
    public var state: StreamState
    /// Pieces the text holds.
    public var pieces: UInt64

    public init(text: String = "", state: StreamState = .open, pieces: UInt64 = 0) {
        self.text = text
        self.state = state
        self.pieces = pieces
    }

    /// The text a stream's opening message carries (`message.stream`).
    public init(_ info: StreamInfo) {
        self.init(text: info.text, state: info.state, pieces: info.n)
    }
}
