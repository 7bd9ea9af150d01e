import Foundation
import Roomcast

/// The payload of `chat.message` events, shared with the web dashboard and the CLI.
struct ChatMessage: Codable, Sendable {
    var role: String?
    var content: String
}

/// The payload of ephemeral `typing` events.
struct Typing: Codable, Sendable {
    var typing: Bool
}

/// One line of the conversation.
struct ChatLine: Identifiable, Equatable {
    let id: String
    /// `nil` while our own publish waits for its ack (e.g. queued offline).
    var seq: UInt64?
    let content: String
    let author: Member
    let date: Date
    let mine: Bool
}

/// The conversation, presence and typing state of one room, for SwiftUI.
///
/// Events arrive on the SDK's thread; this model consumes them from AsyncStreams on the main
/// actor, so the UI sees them in order. Handlers capture `self` weakly: the SDK keeps them
/// alive as long as the room, and must not keep the model alive too.
@MainActor
final class ChatModel: ObservableObject {
    @Published private(set) var lines: [ChatLine] = []
    @Published private(set) var members: [Member] = []
    /// Who is typing now, by user id.
    @Published private(set) var typing: [String: Member] = [:]
    @Published private(set) var problem: String?
    @Published var draft = "" {
        didSet { if !draft.isEmpty { announceTyping() } }
    }

    let connection: RoomcastConnection
    let roomName: String
    private let client: RoomcastClient
    private let room: RoomcastRoom
    private let me: Member
    private var typingExpiry: [String: Task<Void, Never>] = [:]
    private var lastTypingSent = Date.distantPast
    private var started = false

    init(settings: ChatSettings) throws {
        let envToken = settings.token
        let config = ClientConfig(
            url: settings.url,
            token: settings.token,
            clientId: ChatSettings.clientId,
            source: ChatSettings.source,
            name: ProcessInfo.processInfo.hostName
        )
        // A real app asks its backend here; the provider is called before the token
        // expires and after the server rejects one.
        client = try RoomcastClient(config: config) { envToken }
        connection = RoomcastConnection(client: client)
        roomName = settings.room
        room = client.room(settings.room)
        me = Member(user: "", client: config.clientId, source: config.source, name: config.name)
    }

    /// Connects, listens and joins; call once from `.task`.
    func start() async {
        guard !started else { return }
        started = true
        // Streams and handlers first: they then also see what a resume replays.
        let messages = room.messages(ChatMessage.self, event: "chat.message")
        let events = room.events()
        Task { [weak self] in
            for await message in messages {
                self?.receive(message.value, meta: message.meta)
            }
        }
        Task { [weak self] in
            for await event in events {
                self?.apply(event)
            }
        }
        room.on(Typing.self, event: "typing") { [weak self] _, meta in
            Task { @MainActor in self?.showTyping(meta.from) }
        }
        room.onError { [weak self] error in
            Task { @MainActor in self?.problem = String(describing: error) }
        }
        do {
            try await client.connect()
            try await room.join()
            let page = try await room.history(limit: 50)
            for (value, meta) in page.decoded(ChatMessage.self, event: "chat.message") {
                receive(value, meta: meta)
            }
        } catch {
            problem = String(describing: error)
        }
    }

    /// Sends the draft. It shows at once as pending; while offline it stays queued in the
    /// SDK and is sent, exactly once, after reconnecting.
    func send() {
        let text = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return }
        draft = ""
        let localId = UUID().uuidString
        lines.append(ChatLine(id: localId, seq: nil, content: text, author: me, date: Date(), mine: true))
        Task {
            do {
                let ack = try await room.publish("chat.message", ChatMessage(role: "user", content: text))
                if let index = lines.firstIndex(where: { $0.id == localId }) {
                    lines[index].seq = ack.seq
                }
            } catch {
                lines.removeAll { $0.id == localId }
                problem = "Not sent: \(error)"
            }
            await connection.refreshQueued()
        }
        // While offline, RoomcastConnection re-reads the queued count every second.
    }

    // MARK: Incoming

    private func receive(_ message: ChatMessage, meta: MessageMeta) {
        // History and live delivery can overlap right after joining.
        guard !lines.contains(where: { $0.id == meta.id }) else { return }
        let line = ChatLine(
            id: meta.id, seq: meta.seq, content: message.content, author: meta.from,
            date: meta.date, mine: meta.from.client == me.client
        )
        // Persisted messages in seq order; our own pending ones stay at the end.
        let index = lines.firstIndex { other in
            guard let seq = line.seq else { return false }
            return other.seq.map { $0 > seq } ?? true
        } ?? lines.endIndex
        lines.insert(line, at: index)
        typing[meta.from.user] = nil
    }

    private func apply(_ event: RoomEvent) {
        switch event {
        case .joined(let info):
            // After a reconnect this is the truth: leaves during the outage were not seen.
            members = info.presence
        case .presence(let presence):
            switch presence.kind {
            case .join:
                if !members.contains(where: { $0.client == presence.member.client }) {
                    members.append(presence.member)
                }
            case .leave:
                members.removeAll { $0.client == presence.member.client }
            }
        case .gap(let gap):
            problem = "Some messages before #\(gap.head) could not be loaded"
        case .lost(let error):
            problem = "Left the room: \(error)"
        case .message:
            break // Handled by the typed stream.
        }
    }

    // MARK: Typing

    /// Shows "… is typing" for 3 s after each `typing` event.
    private func showTyping(_ member: Member) {
        typing[member.user] = member
        typingExpiry[member.user]?.cancel()
        typingExpiry[member.user] = Task { [weak self] in
            try? await Task.sleep(nanoseconds: 3_000_000_000)
            guard !Task.isCancelled else { return }
            self?.typing[member.user] = nil
        }
    }

    /// At most one ephemeral `typing` event every 2 s; dropped while offline.
    private func announceTyping() {
        guard Date().timeIntervalSince(lastTypingSent) > 2, connection.isConnected else { return }
        lastTypingSent = Date()
        Task { try? await room.publishEphemeral("typing", Typing(typing: true)) }
    }
}
