import Foundation
import Roomcast
import XCTest

#if os(macOS) || os(Linux)
/// Issue 32, point 2: an async call whose task is cancelled returns at once with
/// `CancellationError`, even while the server is unreachable (the FFI call under it does not
/// observe Swift cancellation and goes on).
final class CancellationTests: XCTestCase {
    /// A client of a server that is down: its joins, connects and history never settle on
    /// their own.
    private func unreachableClient(_ server: TestServer) throws -> RoomcastClient {
        let config = try server.config("alice")
        server.crash()
        return try RoomcastClient(config: config)
    }

    func testACancelledJoinReturnsPromptlyWhileTheServerIsDown() async throws {
        let server = try TestServer()
        let client = try unreachableClient(server)
        let room = client.room("down")
        let joining = Task { try await room.join() }
        let outcome = Outcome { try await joining.value }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertNil(outcome.settled, "the join waits for the server")
        let cancelled = Date()
        joining.cancel()
        guard case .failure(let error) = try await outcome.value(timeout: 2) else {
            return XCTFail("the join succeeded with the server down")
        }
        XCTAssertTrue(error is CancellationError, "\(error)")
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 2)
        try await client.close()
    }

    func testCancelledConnectAndHistoryReturnPromptly() async throws {
        let server = try TestServer()
        let client = try unreachableClient(server)
        let room = client.room("down")
        let connecting = Task { try await client.connect() }
        let paging = Task { try await room.history(limit: 10) }
        let connected = Outcome { try await connecting.value }
        let paged = Outcome { try await paging.value }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertNil(connected.settled)
        XCTAssertNil(paged.settled)
        connecting.cancel()
        paging.cancel()
        guard case .failure(let connectError) = try await connected.value(timeout: 2) else {
            return XCTFail("connect succeeded with the server down")
        }
        guard case .failure(let historyError) = try await paged.value(timeout: 2) else {
            return XCTFail("history succeeded with the server down")
        }
        XCTAssertTrue(connectError is CancellationError, "\(connectError)")
        XCTAssertTrue(historyError is CancellationError, "\(historyError)")
        try await client.close()
    }

    func testACallInAnAlreadyCancelledTaskThrowsCancellationError() async throws {
        let server = try TestServer()
        let client = try unreachableClient(server)
        let task = Task {
            try? await Task.sleep(nanoseconds: 5_000_000_000)  // ends early: cancelled below
            try await client.connect()
        }
        task.cancel()
        let outcome = Outcome { try await task.value }
        guard case .failure(let error) = try await outcome.value(timeout: 2) else {
            return XCTFail("connect succeeded with the server down")
        }
        XCTAssertTrue(error is CancellationError, "\(error)")
        try await client.close()
    }

    func testAJoinCancelledBeforeTheServerAnsweredLeavesTheRoomJoinedOnceItIsBack() async throws {
        let server = try TestServer()
        let client = try unreachableClient(server)
        let room = client.room("back")
        let joins = Collector<JoinInfo>()
        room.onJoined { joins.append($0) }
        let connecting = Task { try await client.connect() }  // keeps retrying meanwhile
        let joining = Task { try await room.join() }
        try await Task.sleep(nanoseconds: 200_000_000)
        joining.cancel()
        _ = await joining.result
        try server.start()  // same port and data: the client's retries now succeed
        client.reconnectNow()
        try await eventually("the cancelled join completes in the SDK", timeout: 20) { joins.count == 1 }
        _ = await connecting.result
        try await room.publish("chat.message", ChatMessage(content: "joined after all"))
        try await client.close()
    }
}
#endif
