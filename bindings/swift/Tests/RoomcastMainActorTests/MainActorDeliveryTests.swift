import Foundation
import Roomcast
import RoomcastTesting
import XCTest

// This module builds as a new Xcode 26 app does (main-actor default isolation, isolated
// conformances inferred): `Note` below is main-actor isolated, its Codable and Equatable
// conformances included, exactly the payload type the issue's app declared. These tests run
// it through every main-actor path with the fake client, no server.

struct Note: Codable, Sendable, Equatable {
    var text: String
}

/// What main-actor handlers saw, read by the tests (main actor).
final class Seen {
    var texts: [String] = []
    var errors: [String] = []
}

/// Polls `condition` on the main actor until it holds, for at most `timeout` seconds; the
/// sleeps let queued main-actor deliveries run.
func waitUntil(
    _ what: String, timeout: TimeInterval = 5, file: StaticString = #filePath, line: UInt = #line,
    _ condition: () -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline {
            XCTFail("timed out after \(timeout) s waiting for: \(what)", file: file, line: line)
            throw WaitTimeout()
        }
        try await Task.sleep(nanoseconds: 5_000_000)
    }
}

struct WaitTimeout: Error {}

// `nonisolated`: XCTestCase is nonisolated, and a main-actor subclass of it is an error; each
// test is `@MainActor` instead, like the app code it stands for.
nonisolated final class MainActorDeliveryTests: XCTestCase {
    @MainActor
    func testOnMainDecodesAMainActorIsolatedTypeOnTheMainActor() async throws {
        let fake = FakeRoomcast()
        let room = fake.client.room("notes")
        let seen = Seen()
        room.onMain.on(Note.self, event: "note") { note, meta in
            XCTAssertTrue(Thread.isMainThread)
            seen.texts.append("\(meta.seq ?? 0):\(note.text)")
        }
        room.onMain.onError { error in seen.errors.append(String(describing: error)) }
        try await room.join()
        try fake.deliver(Note(text: "a"), event: "note", room: "notes")
        fake.deliverJSON(#"{"text":5}"#, event: "note", room: "notes")
        try fake.deliver(Note(text: "b"), event: "note", room: "notes")
        try await waitUntil("both notes") { seen.texts.count == 2 }
        XCTAssertEqual(seen.texts, ["1:a", "3:b"])
        try await waitUntil("the bad payload reported") { seen.errors.count == 1 }
        XCTAssertTrue(seen.errors[0].contains("did not decode"), seen.errors[0])
    }

    @MainActor
    func testATypedStreamConsumedOnTheMainActorDecodesThere() async throws {
        let fake = FakeRoomcast()
        let room = fake.client.room("notes")
        let stream = room.messages(Note.self, event: "note")  // before join, as documented
        try await room.join()
        try fake.deliver(Note(text: "one"), event: "note", room: "notes")
        try fake.deliver(Note(text: "skipped"), event: "other", room: "notes")
        try fake.deliver(Note(text: "two"), event: "note", room: "notes")
        try await room.leave()  // the stream ends after what it has
        var texts: [String] = []
        for await received in stream {
            texts.append(received.value.text)
        }
        XCTAssertEqual(texts, ["one", "two"])
    }

    @MainActor
    func testPublishEncodesAMainActorIsolatedTypeInTheCallersIsolation() async throws {
        let fake = FakeRoomcast()
        let room = fake.client.room("notes")
        try await room.join()
        let ack = try await room.publish("note", Note(text: "hello"))
        XCTAssertEqual(ack.seq, 1)
        XCTAssertEqual(fake.published(Note.self, event: "note").map { $0.text }, ["hello"])
        let page = try await room.history(limit: 10)
        XCTAssertEqual(page.decoded(Note.self, event: "note").map { $0.value.text }, ["hello"])
    }

    #if canImport(Observation)
    @MainActor
    func testTheRoomModelTakesAMainActorTypeAndStaysLiveAcrossLeaveAndJoin() async throws {
        guard #available(iOS 17, macOS 14, tvOS 17, watchOS 10, *) else {
            throw XCTSkip("Observation needs iOS 17 / macOS 14")
        }
        let fake = FakeRoomcast()
        let room = fake.client.room("notes")
        let model = RoomcastRoomModel(room: room, Note.self, event: "note")
        try await room.join()
        try await waitUntil("joined") { model.isJoined }
        try fake.deliver(Note(text: "before"), event: "note", room: "notes")
        try await waitUntil("the first note") { model.messages.count == 1 }

        try await room.leave()
        try await waitUntil("left") { !model.isJoined }
        XCTAssertEqual(model.members, [])
        try await room.join()
        try await waitUntil("joined again") { model.isJoined }
        XCTAssertEqual(model.members.map { $0.user }, ["me"])
        try fake.deliver(Note(text: "after"), event: "note", room: "notes")
        try await waitUntil("the note after the rejoin") { model.messages.count == 2 }
        XCTAssertEqual(model.messages.map { $0.value.text }, ["before", "after"])
    }

    @MainActor
    func testTheConnectionModelFollowsTheFakesStates() async throws {
        guard #available(iOS 17, macOS 14, tvOS 17, watchOS 10, *) else {
            throw XCTSkip("Observation needs iOS 17 / macOS 14")
        }
        let fake = FakeRoomcast(state: .connected)
        let connection = RoomcastConnectionModel(client: fake.client)
        fake.queued = 2
        fake.setState(.reconnecting(attempt: 1, delayMs: 3000))
        try await waitUntil("the countdown") { connection.statusText == "Reconnecting in 3 s · 2 queued" }
        fake.queued = 0
        fake.setState(.connected)
        try await waitUntil("connected") { connection.statusText == "Connected" }
    }
    #endif
}
