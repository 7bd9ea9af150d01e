import Foundation
import Roomcast
import RoomcastTesting
import XCTest

/// RoomcastTesting's fake, as an app's unit tests use it (no server), and the error's text.
final class FakeTests: XCTestCase {
    func testTheFakeRecordsPublishesAndDeliversMessagesPresenceAndStates() async throws {
        let fake = FakeRoomcast(user: "ann")
        let states = Collector<ConnectionState>()
        let watching = Task {
            for await state in fake.client.states() { states.append(state) }
        }
        let room = fake.client.room("conv-1")
        let got = Collector<String>()
        let presence = Collector<String>()
        room.on(ChatMessage.self, event: "chat.message") { value, meta in
            got.append("\(meta.from.user): \(value.content)")
        }
        room.onPresence { presence.append("\($0.kind == .join ? "+" : "-")\($0.member.user)") }
        let info = try await room.join()  // connects the idle fake, like the real client
        XCTAssertEqual(info.presence.map(\.user), ["ann"])
        XCTAssertEqual(fake.client.state, .connected)

        try fake.deliver(ChatMessage(content: "hi"), event: "chat.message", room: "conv-1", from: FakeRoomcast.member("ben"))
        fake.deliverPresence(.join, FakeRoomcast.member("cy"), room: "conv-1")
        XCTAssertEqual(got.all, ["ben: hi"], "plain handlers have run when deliver returns")
        XCTAssertEqual(presence.all, ["+cy"])

        let ack = try await room.publish("chat.message", ChatMessage(content: "hello"))
        XCTAssertEqual(ack.seq, 2, "after the delivered message's seq 1")
        XCTAssertEqual(fake.published(ChatMessage.self, event: "chat.message").map(\.content), ["hello"])
        let page = try await room.history()
        XCTAssertEqual(page.messages.map(\.from.user), ["ben", "ann"])

        fake.setState(.reconnecting(attempt: 1, delayMs: 1000))
        try await eventually("the state stream sees the change") {
            states.all.contains(.reconnecting(attempt: 1, delayMs: 1000))
        }
        watching.cancel()
    }

    func testAFakeRoomLeftAndJoinedAgainKeepsItsHandlersAndEndsItsStreams() async throws {
        let fake = FakeRoomcast()
        let room = fake.client.room("r")
        let got = Collector<Message>()
        room.onMessage { got.append($0) }
        let stream = room.messages()
        try await room.join()
        try fake.deliver(ChatMessage(content: "one"), event: "e", room: "r")
        try await room.leave()
        XCTAssertFalse(fake.isJoined("r"))
        try fake.deliver(ChatMessage(content: "unseen"), event: "e", room: "r")
        var streamed = 0
        for await _ in stream { streamed += 1 }  // ended at the leave
        XCTAssertEqual(streamed, 1)
        try await room.join()
        try fake.deliver(ChatMessage(content: "two"), event: "e", room: "r")
        XCTAssertEqual(try got.all.map { try $0.decode(ChatMessage.self).content }, ["one", "two"])
    }

    func testAClosedFakeFailsWithClosed() async throws {
        let fake = FakeRoomcast()
        try await fake.client.close()
        do {
            _ = try await fake.client.join("r")
            XCTFail("joined a closed client")
        } catch RoomcastError.Closed {
            XCTAssertEqual(fake.client.state, .closed)
        }
        XCTAssertEqual(fake.calls, ["close"])
    }

    func testRoomcastErrorReadsAsASentence() {
        let error = RoomcastError.NotJoined(room: "conv-9")
        XCTAssertEqual(error.errorDescription, "Room conv-9 is not joined (NotJoined)")
        XCTAssertEqual("\(error)", "Room conv-9 is not joined (NotJoined)")
        XCTAssertTrue(error.localizedDescription.contains("Room conv-9 is not joined"), error.localizedDescription)
        XCTAssertFalse(error.localizedDescription.contains("RoomcastFFI"), error.localizedDescription)
        XCTAssertEqual(
            RoomcastError.Unauthorized(reason: "expired").errorDescription,
            "The server refused the token: expired (Unauthorized)"
        )
    }
}
