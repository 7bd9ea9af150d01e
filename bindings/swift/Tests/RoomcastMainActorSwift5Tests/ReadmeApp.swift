// The README's app code, compiled the way a new Xcode 26 app target compiles it: main-actor
// default isolation with Approachable Concurrency (Package.swift: xcode26AppSettings), in
// Swift 6 language mode here and Swift 5 mode in RoomcastMainActorSwift5Tests, whose
// ReadmeApp.swift is this file (scripts/test-swift.sh fails if the copies differ). Each README
// snippet sits in an enum of its own, so their names do not clash; inside, the code is the
// README's, unchanged. If this file stops compiling, the README's code broke for app
// developers: fix the package, or the README and this file together.

import Foundation
import Roomcast
#if canImport(Observation)
import Observation
#endif
#if canImport(SwiftUI)
import SwiftUI
#endif

// MARK: - bindings/swift/README.md, "Quick start"

#if canImport(Observation)
enum PackageReadmeQuickStart {
    // README: begin quick start
    struct ChatMessage: Codable, Sendable { var content: String }

    @available(iOS 17, macOS 14, *)
    @MainActor @Observable final class Chat {
        private(set) var messages: [Received<ChatMessage>] = []
        private(set) var problem: String?
        let connection: RoomcastConnectionModel
        let room: RoomcastRoom

        init(token: String) throws {
            let client = try RoomcastClient(config: ClientConfig(
                url: "ws://127.0.0.1:4000/ws", token: token, clientId: "ben-iphone", source: "ios"))
            connection = RoomcastConnectionModel(client: client)
            room = client.room("conv-123")
        }

        /// From the view's `.task`: returns when the room is left, or at once if the view
        /// goes away first (the task is cancelled; the room stays joined).
        func start() async {
            let stream = room.messages(ChatMessage.self, event: "chat.message") // before join
            do {
                try await room.join()  // the first join connects the client
                for await message in stream { messages.append(message) }
            } catch is CancellationError {
                // The view went away.
            } catch {
                problem = error.localizedDescription
            }
        }

        func send(_ text: String) {
            Task {
                do {
                    try await room.publish("chat.message", ChatMessage(content: text))
                } catch {
                    problem = error.localizedDescription
                }
            }
        }
    }
    // README: end quick start

    // README: begin callbacks
    /// Decoded on the SDK's thread by `room.on`: a nonisolated type.
    nonisolated struct Typing: Codable, Sendable { var typing: Bool }

    @MainActor final class Callbacks {
        var lines: [String] = []
        var typing: [String] = []

        func register(on room: RoomcastRoom) {
            // On the main actor, decoded there: ChatMessage as declared above.
            room.onMain.on(ChatMessage.self, event: "chat.message") { [weak self] message, meta in
                self?.lines.append("\(meta.from.user): \(message.content)")
            }
            // On the SDK's background thread: Typing must be nonisolated.
            room.on(Typing.self, event: "typing") { typing, meta in
                print("\(meta.from.user) typing: \(typing.typing)")
            }
            room.onMain.onError { [weak self] error in
                self?.lines.append("! \(error.localizedDescription)")
            }
        }

        @available(iOS 17, macOS 14, *)
        func model(for room: RoomcastRoom) -> RoomcastRoomModel<ChatMessage> {
            RoomcastRoomModel(room: room, ChatMessage.self, event: "chat.message")
        }

        func earlier(in room: RoomcastRoom) async throws -> [ChatMessage] {
            let page = try await room.history(limit: 50)
            return page.decoded(ChatMessage.self, event: "chat.message").map { $0.value }
        }
    }
    // README: end callbacks

    #if canImport(SwiftUI)
    // README: begin view
    @available(iOS 17, macOS 14, *)
    struct ChatScreen: View {
        @State var chat: Chat

        var body: some View {
            VStack {
                Text(chat.connection.statusText)  // "Connected", "Reconnecting in 3 s", ...
                List(chat.messages, id: \.meta.id) { Text("\($0.meta.from.user): \($0.value.content)") }
                Button("Say hello") { chat.send("Hello") }
            }
            .task { await chat.start() }
        }
    }
    // README: end view
    #endif
}
#endif

// MARK: - README.md (repository root), "Swift (uniffi)", unchanged

#if canImport(SwiftUI) && canImport(Combine)
enum RootReadmeSwift {
    struct ChatMessage: Codable, Sendable { var content: String }

    @MainActor final class Chat: ObservableObject {
        @Published var messages: [Received<ChatMessage>] = []
        let client: RoomcastClient
        let connection: RoomcastConnection
        let room: RoomcastRoom

        init(token: String) throws {
            client = try RoomcastClient(config: ClientConfig(
                url: "ws://127.0.0.1:4000/ws", token: token, clientId: "ben-iphone", source: "ios"))
            // Or a provider, asked before the token expires and after a rejection:
            // RoomcastClient(config: config) { try await backend.roomcastToken() }
            connection = RoomcastConnection(client: client)
            room = client.room("conv-123")
        }

        func start() async throws {
            let stream = room.messages(ChatMessage.self, event: "chat.message") // before join
            try await client.connect()
            try await room.join()
            for await message in stream { messages.append(message) }
        }
    }

    struct ChatScreen: View {
        @StateObject var chat: Chat

        var body: some View {
            VStack {
                Status(connection: chat.connection)
                List(chat.messages, id: \.meta.id) { Text("\($0.meta.from.user): \($0.value.content)") }
                Button("Say hello") {
                    Task { try await chat.room.publish("chat.message", ChatMessage(content: "Hello")) }
                }
            }
            .task { try? await chat.start() }
        }
    }

    struct Status: View {
        @ObservedObject var connection: RoomcastConnection
        // "Connected", "Reconnecting in 3 s", "Paused · 2 queued", ...
        var body: some View { Text(connection.statusText) }
    }
}
#endif
