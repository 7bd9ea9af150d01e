import Foundation
import Observation
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

/// The conversation, presence and typing state of one room, for SwiftUI (Observation).
///
/// Events arrive on the SDK's thread; this model consumes them from AsyncStreams on the main
/// actor and registers its handlers through `room.onMain`, so the UI sees them in order on the
/// main actor. Handlers capture `self` weakly: the SDK keeps them alive as long as the room,
/// and must not keep the model alive too.
///
/// The connection follows the app by itself (the client's `automaticLifecycle`, on by default
/// on Apple platforms): it pauses after 25 s in the background (and before a Mac sleeps),
/// reconnects at once when the network returns or changes, and is checked as soon as the app
/// is in the foreground again.
@MainActor
@Observable
final class ChatModel {
    private(set) var lines: [ChatLine] = []
    private(set) var members: [Member] = []
    /// Who is typing now, by user id.
    private(set) var typing: [String: Member] = [:]
    private(set) var problem: String?
    var draft = "" {
        didSet { if !draft.isEmpty { announceTyping() } }
    }

    let connection: RoomcastConnectionModel
    let roomName: String
    private let client: RoomcastClient
    private let room: RoomcastRoom
    private let me: Member
    @ObservationIgnored private var memberList = MemberList()
    @ObservationIgnored private var typingExpiry: [String: Task<Void, Never>] = [:]
    @ObservationIgnored private var lastTypingSent = Date.distantPast
    @ObservationIgnored private var started = false

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
        connection = RoomcastConnectionModel(client: client)
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
        room.onMain.on(Typing.self, event: "typing") { [weak self] _, meta in
            self?.showTyping(meta.from)
        }
        room.onMain.onError { [weak self] error in
            self?.problem = String(describing: error)
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
        // While offline, RoomcastConnectionModel re-reads the queued count every second.
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
        // After a reconnect `joined` is the truth: leaves during the outage were not seen.
        memberList.apply(event)
        members = memberList.members
        switch event {
        case .gap(let gap):
            problem = "Some messages before #\(gap.head) could not be loaded"
        case .lost(let error):
            problem = "Left the room: \(error)"
        case .joined, .presence, .message:
            break // Members above; messages through the typed stream.
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
