import Foundation
import Roomcast
import XCTest

// `TestServer` runs the server with `Process`, which exists on macOS and Linux only: built for an
// iOS or tvOS destination, the test target holds the policy tests alone.
#if os(macOS) || os(Linux)
/// The Swift package against a real `roomcast-server`: every test starts its own.
final class ServerTests: XCTestCase {
    func testTypedRoundTripBetweenTwoClients() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice", source: "ios")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("conv-1")
        let roomB = bob.room("conv-1")
        let got = Collector<Received<ChatMessage>>()
        roomB.on(ChatMessage.self, event: "chat.message") { value, meta in
            got.append(Received(value: value, meta: meta))
        }
        try await roomB.join()

        let ack = try await roomA.publish("chat.message", ChatMessage(content: "Hello", n: 1))
        XCTAssertEqual(ack.seq, 1)
        try await eventually("bob gets the message") { got.count == 1 }
        let message = try XCTUnwrap(got.all.first)
        XCTAssertEqual(message.value, ChatMessage(content: "Hello", n: 1))
        XCTAssertEqual(message.meta.seq, ack.seq)
        XCTAssertEqual(message.meta.id, ack.id)
        XCTAssertEqual(message.meta.from.user, "alice")
        XCTAssertEqual(message.meta.from.source, "ios")
        XCTAssertEqual(message.meta.from.client, "alice-ios")
        XCTAssertEqual(message.meta.room, "conv-1")
        try await alice.close()
        try await bob.close()
    }

    func testStreamAndHistoryPaging() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("paged")
        let roomB = bob.room("paged")
        let stream = roomB.messages(ChatMessage.self, event: "chat.message")
        try await roomB.join()
        // Consumed in a task and polled with a deadline: a bare `for await` would wait forever
        // (corelibs XCTest has no test timeout) if a message never came.
        let streamed = Collector<Received<ChatMessage>>()
        let consuming = Task {
            for await message in stream { streamed.append(message) }
        }

        for n in 1...120 {
            try await roomA.publish("chat.message", ChatMessage(content: "m\(n)", n: n))
        }
        try await eventually("bob streams all 120") { streamed.count >= 120 }
        XCTAssertEqual(streamed.all.map(\.value.n), Array(1...120).map { Optional($0) })
        XCTAssertEqual(streamed.all.map(\.meta.seq), (1...120).map { Optional(UInt64($0)) })
        consuming.cancel()

        // Newest first page, then older pages until `more` is false.
        var pages: [[UInt64]] = []
        var before: UInt64? = nil
        while true {
            let page = try await roomB.history(before: before, limit: 50)
            pages.append(page.messages.compactMap(\.seq))
            guard page.more, let first = page.messages.first?.seq else { break }
            before = first
        }
        XCTAssertEqual(pages.map(\.count), [50, 50, 20])
        XCTAssertEqual(pages.reversed().flatMap { $0 }, (1...120).map { UInt64($0) })
        let decoded = try await roomB.history(limit: 3).decoded(ChatMessage.self, event: "chat.message")
        XCTAssertEqual(decoded.map(\.value.n), [118, 119, 120])
        try await alice.close()
        try await bob.close()
    }

    func testPublishesQueuedAcrossAServerKillAreDeliveredOnce() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("outage")
        let roomB = bob.room("outage")
        let got = Collector<Message>()
        roomB.onMessage { got.append($0) }
        try await roomB.join()
        let states = Collector<ConnectionState>()
        let watching = Task {
            for await state in alice.states() { states.append(state) }
        }

        server.crash()
        try await eventually("alice notices") {
            states.all.contains { if case .reconnecting = $0 { return true } else { return false } }
        }
        let acks = (1...50).map { n in
            Outcome { try await roomA.publish("chat.message", ChatMessage(content: "queued", n: n)) }
        }
        try await eventually("50 publishes queued") { await alice.queued() == 50 }
        XCTAssertTrue(acks.allSatisfy { $0.settled == nil }, "nothing is acknowledged while down")

        try server.restart()
        var seqs: [UInt64] = []
        for ack in acks {
            let acknowledged = try await ack.value(timeout: 30).get()
            seqs.append(try XCTUnwrap(acknowledged.seq))
        }
        // The 50 calls started in 50 tasks, in no set order: each got its own seq.
        XCTAssertEqual(seqs.sorted(), (1...50).map { UInt64($0) })
        try await eventually("bob has all 50") { got.count >= 50 }
        let end = try await roomA.publish("chat.message", ChatMessage(content: "end"))
        try await eventually("bob has the end marker") { got.all.last?.seq == end.seq }
        let received = got.all
        XCTAssertEqual(received.map(\.seq), (1...51).map { Optional(UInt64($0)) })
        XCTAssertEqual(Set(received.map(\.id)).count, received.count, "no duplicates")
        let numbers = try received.dropLast().map { try $0.decode(ChatMessage.self).n }
        XCTAssertEqual(Set(numbers), Set((1...50).map { Optional($0) }), "each publish once")
        let left = await alice.queued()
        XCTAssertEqual(left, 0)
        watching.cancel()
        try await alice.close()
        try await bob.close()
    }

    func testABadTokenIsUnauthorized() async throws {
        let server = try TestServer()
        let bad = try server.token("alice", secret: "not-the-server-secret")
        let client = try RoomcastClient(config: server.config("alice", token: bad))
        do {
            try await client.connect()
            XCTFail("connect with a bad token succeeded")
        } catch RoomcastError.Unauthorized {
            XCTAssertEqual(client.state, .unauthorized)
        }
        try await client.close()
    }

    func testJoinWithARejectedTokenSettles() async throws {
        let server = try TestServer()
        let bad = try server.token("alice", secret: "not-the-server-secret")
        let client = try RoomcastClient(config: server.config("alice", token: bad))
        let room = client.room("conv-1")
        let joining = Outcome { try await room.join() }
        let connecting = Outcome { try await client.connect() }
        guard case .failure(let joinError) = try await joining.value(timeout: 5) else {
            return XCTFail("join succeeded with a rejected token")
        }
        guard case .failure(let connectError) = try await connecting.value(timeout: 5) else {
            return XCTFail("connect succeeded with a rejected token")
        }
        XCTAssertTrue(Self.isUnauthorized(joinError), "\(joinError)")
        XCTAssertTrue(Self.isUnauthorized(connectError), "\(connectError)")
        try await client.close()
    }

    func testATokenProviderWithShortTokensKeepsTheClientConnected() async throws {
        let server = try TestServer()
        let calls = Collector<Date>()
        let config = ClientConfig(url: server.url, clientId: "alice-ios", source: "ios", minDelayMs: 100, maxDelayMs: 500)
        let client = try RoomcastClient(config: config) {
            calls.append(Date())
            return try server.token("alice", ttl: 3)
        }
        try await client.connect()
        let room = try await client.join("tokens")
        let states = Collector<ConnectionState>()
        let watching = Task {
            for await state in client.states() { states.append(state) }
        }
        // The test's subject is a span of time: 10 s on tokens that live 3 s.
        try await Task.sleep(nanoseconds: 10_000_000_000)
        XCTAssertEqual(client.state, .connected)
        XCTAssertEqual(states.all.filter { $0 != .connected }, [], "never disconnected")
        // The core asks for a fresh token at half of the life left (sdk-core/src/machine/
        // refresh.rs) and never refreshes twice within 1 s. `exp` is in whole seconds, so a 3 s
        // token has 2-3 s left when it arrives: a call every 1-1.5 s, about 8 in 10 s after the
        // connect's. The 1 s minimum caps them at about 11 in all; 12 leaves a margin (a broken
        // core made thousands).
        XCTAssertGreaterThanOrEqual(calls.count, 4)
        XCTAssertLessThanOrEqual(calls.count, 12)
        let ack = try await room.publish("chat.message", ChatMessage(content: "still here"))
        XCTAssertEqual(ack.seq, 1)
        watching.cancel()
        try await client.close()
    }

    func testABlockingHandlerDoesNotDelayAnotherRoom() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let release = DispatchSemaphore(value: 0)
        let blocked = Collector<Bool>()
        let slowDone = Collector<Message>()
        let fast = Collector<Date>()
        let slowRoom = bob.room("slow")
        slowRoom.onMessage { message in
            blocked.append(true)
            _ = release.wait(timeout: .now() + 30)  // held until the test releases it
            slowDone.append(message)
        }
        let fastRoom = bob.room("fast")
        fastRoom.onMessage { _ in fast.append(Date()) }
        try await slowRoom.join()
        try await fastRoom.join()
        let slowA = try await alice.join("slow")
        let fastA = try await alice.join("fast")

        try await slowA.publish("work", ChatMessage(content: "block"))
        try await eventually("the slow handler is blocked") { blocked.count == 1 }
        let sent = Date()
        try await fastA.publish("ping", ChatMessage(content: "fast"))
        try await eventually("the other room's message arrives", timeout: 1) { fast.count == 1 }
        XCTAssertLessThan(try XCTUnwrap(fast.all.first).timeIntervalSince(sent), 1)
        XCTAssertEqual(slowDone.count, 0, "the slow handler is still blocked")
        release.signal()
        try await eventually("the slow handler finishes") { slowDone.count == 1 }
        XCTAssertEqual(bob.state, .connected)
        try await alice.close()
        try await bob.close()
    }

    func testAPausedListenerGetsEveryMessageOncePastTheReplayLimit() async throws {
        let server = try TestServer(extra: ["--replay-limit", "20"])
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("paused")
        let roomB = bob.room("paused")
        let got = Collector<Message>()
        let gaps = Collector<Gap>()
        roomB.onMessage { got.append($0) }
        roomB.onGap { gaps.append($0) }
        try await roomB.join()

        let states = Collector<ConnectionState>()
        let watching = Task {
            for await state in bob.states() { states.append(state) }
        }
        bob.pause()
        try await eventually("bob is paused") { states.all.last == .paused }
        for n in 1...100 {
            try await roomA.publish("chat.message", ChatMessage(content: "missed", n: n))
        }
        bob.resume()
        try await eventually("bob has all 100", timeout: 30) { got.count >= 100 }
        let end = try await roomA.publish("chat.message", ChatMessage(content: "end"))
        try await eventually("bob has the end marker") { got.all.last?.seq == end.seq }
        XCTAssertEqual(got.all.map(\.seq), (1...101).map { Optional(UInt64($0)) })
        XCTAssertEqual(gaps.count, 0)
        watching.cancel()
        try await alice.close()
        try await bob.close()
    }

    func testCloseSettlesQueuedPublishesWithClosed() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let room = try await alice.join("closing")
        alice.pause()
        let publishes = (1...3).map { n in
            Outcome { try await room.publish("chat.message", ChatMessage(content: "unsent", n: n)) }
        }
        try await eventually("3 publishes queued") { await alice.queued() == 3 }
        try await alice.close()
        for publish in publishes {
            guard case .failure(let error) = try await publish.value(timeout: 5) else {
                return XCTFail("a queued publish succeeded after close")
            }
            guard let failure = error as? RoomcastError, case .Closed = failure else {
                return XCTFail("expected Closed, got \(error)")
            }
        }
        XCTAssertEqual(alice.state, .closed)
    }

    func testLeaveEndsDelivery() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let carol = try await server.client("carol", source: "cli")
        let roomA = try await alice.join("leaving")
        let roomB = bob.room("leaving")
        let counted = Collector<Message>()
        roomB.onMessage { counted.append($0) }  // a handler stays registered across leave
        let stream = roomB.messages()
        try await roomB.join()
        // Carol stays in the room: what she gets after bob's leave is what he would have got.
        let roomC = carol.room("leaving")
        let carols = Collector<String>()
        roomC.on(ChatMessage.self, event: "chat.message") { value, _ in carols.append(value.content) }
        try await roomC.join()
        let ended = Collector<Int>()
        let consuming = Task {
            var seen = 0
            for await _ in stream { seen += 1 }
            ended.append(seen)  // the loop ended: the stream finished
        }

        try await roomA.publish("chat.message", ChatMessage(content: "before"))
        try await eventually("bob gets it") { counted.count == 1 }
        try await roomB.leave()
        try await eventually("the stream ends at leave") { ended.count == 1 }
        XCTAssertEqual(ended.all, [1])
        do {
            try await roomB.publish("chat.message", ChatMessage(content: "from a left room"))
            XCTFail("publishing to a left room succeeded")
        } catch RoomcastError.NotJoined(let room) {
            XCTAssertEqual(room, "leaving")
        }
        // What alice sends after the leave never reaches bob. Carol gets "after" and then the
        // marker, in order (one room, one listener): once she has the marker, the server has
        // sent "after" to every member it had, so a wrong delivery to bob is already on its way.
        // It gets a further 500 ms to land; bob's handler must still have only "before".
        try await roomA.publish("chat.message", ChatMessage(content: "after"))
        try await roomA.publish("chat.message", ChatMessage(content: "marker"))
        try await eventually("carol gets the marker") { carols.count >= 3 }
        XCTAssertEqual(carols.all, ["before", "after", "marker"])
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertEqual(counted.count, 1)
        consuming.cancel()
        try await alice.close()
        try await bob.close()
        try await carol.close()
    }

    func testAnUndecodablePayloadGoesToOnError() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("typed")
        let roomB = bob.room("typed")
        let decoded = Collector<ChatMessage>()
        let errors = Collector<RoomcastDecodingError>()
        roomB.on(ChatMessage.self, event: "chat.message") { value, _ in decoded.append(value) }
        roomB.onError { error in
            if let error = error as? RoomcastDecodingError { errors.append(error) }
        }
        try await roomB.join()

        struct Wrong: Encodable, Sendable { let content: Int }
        let bad = try await roomA.publish("chat.message", Wrong(content: 5))
        try await roomA.publish("chat.message", ChatMessage(content: "fine"))
        try await eventually("the good one is decoded") { decoded.count == 1 }
        try await eventually("the bad one is reported") { errors.count == 1 }
        let error = try XCTUnwrap(errors.all.first)
        XCTAssertEqual(error.meta.seq, bad.seq)
        XCTAssertEqual(error.meta.from.user, "alice")
        XCTAssertEqual(error.dataJSON, #"{"content":5}"#)
        XCTAssertEqual(decoded.all, [ChatMessage(content: "fine")])
        try await alice.close()
        try await bob.close()
    }

    func testMainActorHandlersRunOnTheMainThreadInOrder() async throws {
        let server = try TestServer()
        let alice = try await server.client("alice")
        let bob = try await server.client("bob", source: "web")
        let roomA = try await alice.join("main")
        let roomB = bob.room("main")
        let got = Collector<Int>()
        let offMain = Collector<Int>()
        // onMain.on is main-actor isolated (it decodes there); from this nonisolated test, await.
        await roomB.onMain.on(ChatMessage.self, event: "chat.message") { value, _ in
            if !Thread.isMainThread { offMain.append(value.n ?? -1) }
            got.append(value.n ?? -1)
        }
        try await roomB.join()
        for n in 1...20 {
            try await roomA.publish("chat.message", ChatMessage(content: "m", n: n))
        }
        try await eventually("all 20 on the main actor") { got.count == 20 }
        XCTAssertEqual(got.all, Array(1...20))
        XCTAssertEqual(offMain.count, 0)
        try await alice.close()
        try await bob.close()
    }

    func testTheLogSinkGetsTheClientsEventsAtItsLevel() async throws {
        let server = try TestServer()
        let records = Collector<LogRecord>()
        try RoomcastLog.enable(level: .info) { records.append($0) }
        defer { RoomcastLog.disable() }
        let client = try await server.client("logger")
        try await eventually("the connected state is logged") {
            records.all.contains { $0.message.hasSuffix("state=Connected") }
        }
        let levels = Set(records.all.map(\.level))
        XCTAssertTrue(levels.isSubset(of: [.error, .warn, .info]), "\(levels)")
        try await client.close()
    }

    func testManyClientsOpenedAndClosedLeakNothing() async throws {
        #if os(Linux)
        let server = try TestServer()
        let configs = try (0..<8).map { try server.config("churn-\($0)") }  // tokens minted first
        func churn(_ count: Int) async throws {
            for i in 0..<count {
                let client = try RoomcastClient(config: configs[i % configs.count])
                try await client.connect()
                try await client.close()
            }
        }
        try await churn(20)  // warm-up: the runtime, thread pools and allocator settle
        let before = try ProcessStats.now()
        try await churn(200)
        let after = try await ProcessStats.settled(near: before)
        XCTAssertLessThanOrEqual(after.fds, before.fds + 2, "file descriptors")
        XCTAssertLessThanOrEqual(after.threads, before.threads + 2, "threads")
        // 200 clients: under 16 KiB each would still be 3.2 MiB; a leak of a client's
        // buffers and tasks is far larger.
        XCTAssertLessThan(after.rssKiB - before.rssKiB, 3 * 1024, "resident memory (KiB)")
        #else
        throw XCTSkip("reads /proc: Linux only")
        #endif
    }

    private static func isUnauthorized(_ error: any Error) -> Bool {
        guard let error = error as? RoomcastError, case .Unauthorized = error else { return false }
        return true
    }
}
#endif
