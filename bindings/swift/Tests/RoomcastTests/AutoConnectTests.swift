import Foundation
import Roomcast
import XCTest

#if os(macOS) || os(Linux)
/// Issue 31, against a real server: a client used before `connect()` connects by itself for
/// the first join, persisted publish or history, exactly as `connect()` would; `connect()`
/// afterwards attaches to that attempt; `close()` and `pause()` before anything are honoured.
/// Every call that might not settle is bounded (corelibs XCTest has no test timeout).
final class AutoConnectTests: XCTestCase {
    func testJoinWithoutConnectJoinsAndAPublishIsAcked() async throws {
        let server = try TestServer()
        let client = try RoomcastClient(config: server.config("alice"))
        let joining = Outcome { try await client.join("auto") }
        let room = try await joining.value(timeout: 10).get()
        XCTAssertEqual(client.state, .connected)
        let publishing = Outcome { try await room.publish("chat.message", ChatMessage(content: "first")) }
        let ack = try await publishing.value(timeout: 10).get()
        XCTAssertEqual(ack.seq, 1)
        try await client.close()
    }

    func testJoinWithoutConnectWithARejectedTokenIsUnauthorizedPromptly() async throws {
        let server = try TestServer()
        let bad = try server.token("alice", secret: "not-the-server-secret")
        let client = try RoomcastClient(config: server.config("alice", token: bad))
        let started = Date()
        let joining = Outcome { try await client.join("auto") }
        guard case .failure(let error) = try await joining.value(timeout: 5) else {
            return XCTFail("join succeeded with a rejected token")
        }
        guard let failure = error as? RoomcastError, case .Unauthorized = failure else {
            return XCTFail("expected Unauthorized, got \(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(client.state, .unauthorized)
        try await client.close()
    }

    func testHistoryOnAClientNeverConnectedReturnsAPage() async throws {
        let server = try TestServer()
        let writer = try await server.client("alice")
        let room = try await writer.join("history-first")
        for n in 1...3 {
            try await room.publish("chat.message", ChatMessage(content: "m\(n)", n: n))
        }
        try await writer.close()

        let reader = try RoomcastClient(config: server.config("bob", source: "web"))
        let readerRoom = reader.room("history-first")
        let paging = Outcome { try await readerRoom.history(limit: 10) }
        let page = try await paging.value(timeout: 10).get()
        XCTAssertEqual(page.messages.compactMap(\.seq), [1, 2, 3])
        XCTAssertEqual(page.decoded(ChatMessage.self, event: "chat.message").map(\.value.n), [1, 2, 3])
        try await reader.close()
    }

    func testConnectAfterAnAutomaticConnectionAttachesToIt() async throws {
        let server = try TestServer()
        let config = try server.config("alice", source: "auto")
        let client = try RoomcastClient(config: config)
        let room = client.room("attach")
        let joining = Outcome { try await room.join() }
        let connecting = Outcome { try await client.connect() }
        _ = try await joining.value(timeout: 10).get()
        _ = try await connecting.value(timeout: 10).get()
        try await client.connect()  // connected already: returns at once, on the same socket
        XCTAssertEqual(client.state, .connected)
        let stats = try server.stats()
        XCTAssertEqual(stats.connectionsBySource["auto"], 1, "one socket for the join and both connects")
        XCTAssertEqual(stats.connections, 1)
        try await client.close()
    }

    func testCloseBeforeConnectThenJoinFailsWithClosedAtOnce() async throws {
        let server = try TestServer()
        let client = try RoomcastClient(config: server.config("alice", source: "closed"))
        try await client.close()
        let joining = Outcome { try await client.join("never") }
        guard case .failure(let error) = try await joining.value(timeout: 5) else {
            return XCTFail("join succeeded on a closed client")
        }
        guard let failure = error as? RoomcastError, case .Closed = failure else {
            return XCTFail("expected Closed, got \(error)")
        }
        XCTAssertEqual(client.state, .closed)
        XCTAssertEqual(try server.stats().connectionsBySource["closed"], nil, "nothing connected")
    }

    func testPauseBeforeAnythingConnectsNothingUntilResume() async throws {
        let server = try TestServer()
        let client = try RoomcastClient(config: server.config("alice", source: "paused"))
        client.pause()
        let room = client.room("later")
        let joining = Outcome { try await room.join() }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        XCTAssertNil(joining.settled, "the join waits while paused")
        XCTAssertEqual(try server.stats().connectionsBySource["paused"], nil, "nothing connected while paused")
        client.resume()
        _ = try await joining.value(timeout: 10).get()
        XCTAssertEqual(try server.stats().connectionsBySource["paused"], 1)
        try await client.close()
    }
}
#endif
