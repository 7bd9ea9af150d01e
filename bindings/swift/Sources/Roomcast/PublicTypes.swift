import Foundation
import RoomcastFFI

// What apps see when they `import Roomcast`: the typed layer, plus the records, enums and the
// error it takes and returns, under the names they always had. The rest of the generated
// file (its `FfiConverter*` types and lift/lower functions, the `*Impl` classes, the raw
// `Client`, `Room` and `Subscription` handles, the listener protocols) stays in
// `RoomcastFFI`: `import RoomcastFFI` in the files that use the raw handles (`client.ffi`,
// `room.ffi`), and spell their names `RoomcastFFI.Message` there if a name is ambiguous.

/// Server URL, identity, backoff, queue and store settings (`RoomcastClient(config:)`).
public typealias ClientConfig = RoomcastFFI.ClientConfig
/// `idle`, `connecting`, `connected`, `reconnecting(attempt:delayMs:)`, `paused`,
/// `unauthorized`, `closed`.
public typealias ConnectionState = RoomcastFFI.ConnectionState
/// Why a Roomcast call failed. `localizedDescription` is a sentence (see the
/// `CustomStringConvertible` conformance below); `String(reflecting:)` too.
public typealias RoomcastError = RoomcastFFI.RoomcastError
/// A message as received: room, `seq` (nil for ephemeral ones), id, event, JSON payload,
/// author, server time.
public typealias Message = RoomcastFFI.Message
/// Who is in a room: user, client id, `source` badge, name.
public typealias Member = RoomcastFFI.Member
/// The server's answer to a join: position, epoch, whether the resume was complete, who is
/// present.
public typealias JoinInfo = RoomcastFFI.JoinInfo
public typealias PresenceEvent = RoomcastFFI.PresenceEvent
public typealias PresenceKind = RoomcastFFI.PresenceKind
public typealias Gap = RoomcastFFI.Gap
public typealias HistoryPage = RoomcastFFI.HistoryPage
public typealias PublishAck = RoomcastFFI.PublishAck
public typealias PendingPublish = RoomcastFFI.PendingPublish
public typealias ResumeMode = RoomcastFFI.ResumeMode
/// A streamed message's text so far (`Message.stream`): its state and how many pieces it holds.
public typealias StreamInfo = RoomcastFFI.StreamInfo
/// `open`, `done`, `cancelled`, `failed`.
public typealias StreamState = RoomcastFFI.StreamState
/// The next piece of a streamed message: its `text` goes after what the stream showed so far.
public typealias StreamPiece = RoomcastFFI.StreamPiece
/// Writes a streamed message opened with `RoomcastRoom.stream(_:_:)`: `append(text:)`,
/// `finish()`, `fail()`, `cancel()`, `opened()`.
public typealias StreamWriter = RoomcastFFI.StreamWriter
public typealias LogLevel = RoomcastFFI.LogLevel
public typealias LogRecord = RoomcastFFI.LogRecord

// The generated conformance to `LocalizedError` answers `errorDescription` with
// `String(reflecting: self)`, which (without this) printed
// `RoomcastFFI.RoomcastError.NotJoined(room: "x")`. `String(reflecting:)` uses
// `CustomStringConvertible` when a type has it (found at run time, so the generated code
// picks this one up), so `localizedDescription`, `errorDescription`, `print(error)` and
// `"\(error)"` all read as a sentence that still names the case. Not `@retroactive`: both
// modules are in this package, where a conformance is not retroactive (SE-0364, amended) and
// the attribute would be an error; the qualified names keep any compiler quiet.
extension RoomcastFFI.RoomcastError: Swift.CustomStringConvertible {
    public var description: String {
        switch self {
        case let .InvalidConfig(reason): return "Invalid Roomcast configuration: \(reason) (InvalidConfig)"
        case let .InvalidRoom(reason): return "Invalid room name: \(reason) (InvalidRoom)"
        case let .InvalidPayload(reason): return "The payload is not valid JSON: \(reason) (InvalidPayload)"
        case let .Unauthorized(reason): return "The server refused the token: \(reason) (Unauthorized)"
        case let .Forbidden(reason): return "The token does not allow this room: \(reason) (Forbidden)"
        case let .NotJoined(room): return "Room \(room) is not joined (NotJoined)"
        case let .TooLarge(size, max): return "The message is \(size) bytes, over the server's limit of \(max) (TooLarge)"
        case let .TooManyRooms(reason): return "Too many rooms on one connection: \(reason) (TooManyRooms)"
        case let .RateLimited(reason): return "The server is throttling this client: \(reason) (RateLimited)"
        case let .QueueFull(capacity): return "The offline queue is full (\(capacity) messages waiting) (QueueFull)"
        case .NotConnected: return "Not connected (NotConnected)"
        case .ConnectionLost: return "The connection dropped before the server answered (ConnectionLost)"
        case .Timeout: return "The server did not answer in time (Timeout)"
        case .Closed: return "The client is closed (Closed)"
        case let .GaveUp(attempts): return "Stopped reconnecting after \(attempts) attempts (GaveUp)"
        case let .TokenProvider(reason): return "The token provider failed: \(reason) (TokenProvider)"
        case let .Server(code, reason): return "Server error \(code): \(reason) (Server)"
        case let .Protocol(reason): return "Unexpected answer from the server: \(reason) (Protocol)"
        case let .Storage(reason): return "The message store failed: \(reason) (Storage)"
        case let .StoreLocked(path): return "Another client is using the store at \(path) (StoreLocked)"
        case let .Internal(reason): return "Internal Roomcast error: \(reason) (Internal)"
        case let .Kept(reason): return "Not sent yet: kept in the store, to be sent once when it is opened again (\(reason)) (Kept)"
        }
    }
}
