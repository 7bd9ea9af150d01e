import Foundation
import Roomcast
import XCTest

#if (os(macOS) || os(Linux)) && canImport(Observation)
/// A streamed reply's opening payload.
struct AssistantReply: Codable, Sendable {
    var role: String
}

/// Issue 32, point 3, against a real server: a `RoomcastRoomModel` outlives a leave and shows
/// the room joined again, with new messages, after the next join.
final class ModelServerTests: XCTestCase {
    @MainActor
    func testTheRoomModelStaysLiveAcrossLeaveAndJoin() async throws {
        guard #available(iOS 17, macOS 14, tvOS 17, watchOS 10, *) else {
            throw XCTSkip("Observation needs iOS 17 / macOS 14")
        }
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("model")
        let roomB = bob.room("model")
        let model = RoomcastRoomModel(room: roomB, ChatMessage.self, event: "chat.message")
        try await roomB.join()
        try await waitOnMain("joined") { model.isJoined }
        XCTAssertEqual(Set(model.members.map(\.user)), ["alice", "bob"])

        try await roomA.publish("chat.message", ChatMessage(content: "one"))
        try await waitOnMain("the first message") { model.messages.last?.value.content == "one" }

        try await roomB.leave()
        try await waitOnMain("left") { !model.isJoined }
        XCTAssertEqual(model.members, [])

        try await roomB.join()  // the screen opened again
        try await waitOnMain("joined again") { model.isJoined }
        try await roomA.publish("chat.message", ChatMessage(content: "two"))
        try await waitOnMain("a message after the rejoin") { model.messages.last?.value.content == "two" }
        XCTAssertEqual(model.messages.filter { $0.value.content == "two" }.count, 1)
        try await alice.close()
        try await bob.close()
    }

    /// Issue 26: a streamed reply grows in place in the room model (`streams`) and in a
    /// `RoomcastReply`, each piece once, and both show its end.
    @MainActor
    func testStreamedRepliesGrowInTheRoomModelAndInAReplyModel() async throws {
        guard #available(iOS 17, macOS 14, tvOS 17, watchOS 10, *) else {
            throw XCTSkip("Observation needs iOS 17 / macOS 14")
        }
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("replies")
        let roomB = bob.room("replies")
        let model = RoomcastRoomModel(room: roomB, AssistantReply.self, event: "assistant.reply")
        try await roomB.join()
        try await waitOnMain("joined") { model.isJoined }

        let writer = try await roomA.stream("assistant.reply", AssistantReply(role: "assistant"))
        _ = try await writer.opened()
        let id = writer.id()
        try await waitOnMain("the opening message") { model.messages.count == 1 }
        XCTAssertEqual(model.messages.first?.meta.id, id)
        let reply = RoomcastReply(room: roomB, id: id)
        for word in ["Hel", "lo, ", "world"] {
            _ = try await writer.append(text: word)
        }
        _ = try await writer.finish()
        try await waitOnMain("the reply grew in place") { model.streams[id]?.state == .done }
        XCTAssertEqual(model.streams[id]?.text, "Hello, world")
        XCTAssertEqual(model.streams[id]?.pieces, 4)
        try await waitOnMain("the reply model grew") { reply.state == .done }
        XCTAssertEqual(reply.text, "Hello, world")
        XCTAssertFalse(reply.isOpen)
        try await alice.close()
        try await bob.close()
    }

    /// Polls `condition` on the main actor (where the model changes) with a deadline.
    @MainActor
    private func waitOnMain(
        _ what: String, timeout: TimeInterval = 15, file: StaticString = #filePath, line: UInt = #line,
        _ condition: () -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline {
                XCTFail("timed out after \(timeout) s waiting for: \(what)", file: file, line: line)
                throw Timeout(what: what)
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}
#endif
