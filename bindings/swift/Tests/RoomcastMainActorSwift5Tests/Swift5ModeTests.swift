import Foundation
import Roomcast
import RoomcastTesting
import XCTest

// Swift 5 language mode with main-actor default isolation (Xcode 26's app settings for a
// project still in Swift 5 mode): `Reply` is main-actor isolated, Codable conformance included.

struct Reply: Codable, Sendable {
    var text: String
}

final class Replies {
    var texts: [String] = []
}

nonisolated final class Swift5ModeTests: XCTestCase {
    @MainActor
    func testMainActorPathsTakeAMainActorIsolatedType() async throws {
        let fake = FakeRoomcast()
        let room = fake.client.room("replies")
        let replies = Replies()
        room.onMain.on(Reply.self, event: "reply") { reply, _ in replies.texts.append(reply.text) }
        let stream = room.messages(Reply.self, event: "reply")
        try await room.join()
        try fake.deliver(Reply(text: "hi"), event: "reply", room: "replies")
        try await room.publish("reply", Reply(text: "mine"))
        try await room.leave()
        var streamed: [String] = []
        for await received in stream { streamed.append(received.value.text) }
        XCTAssertEqual(streamed, ["hi"])
        let deadline = Date().addingTimeInterval(5)
        while replies.texts.isEmpty && Date() < deadline {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        XCTAssertEqual(replies.texts, ["hi"])
        XCTAssertEqual(fake.published(Reply.self, event: "reply").map { $0.text }, ["mine"])
    }
}
