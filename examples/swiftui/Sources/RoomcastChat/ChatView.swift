import Roomcast
import SwiftUI

/// Conversation, presence and composer for one room.
struct ChatView: View {
    @Bindable var model: ChatModel

    var body: some View {
        #if os(iOS)
        NavigationStack { content }
        #else
        content.frame(minWidth: 600, minHeight: 480)
        #endif
    }

    private var content: some View {
        HStack(spacing: 0) {
            VStack(spacing: 0) {
                if let problem = model.problem {
                    Text(problem)
                        .font(.footnote)
                        .foregroundStyle(.red)
                        .frame(maxWidth: .infinity, alignment: .leading)
                        .padding(8)
                }
                conversation
                TypingIndicator(typing: Array(model.typing.values))
                composer
            }
            #if os(macOS)
            Divider()
            PresenceList(members: model.members)
                .frame(width: 180, alignment: .topLeading)
            #endif
        }
        .navigationTitle(model.roomName)
        .toolbar {
            ToolbarItem(placement: .automatic) {
                ConnectionBadge(connection: model.connection)
            }
        }
    }

    private var conversation: some View {
        ScrollViewReader { proxy in
            List {
                #if os(iOS)
                Section("Here now") {
                    PresenceList(members: model.members)
                }
                #endif
                ForEach(model.lines) { line in
                    MessageRow(line: line).id(line.id)
                }
            }
            .onChange(of: model.lines.last?.id) { _, last in
                if let last { withAnimation { proxy.scrollTo(last, anchor: .bottom) } }
            }
        }
    }

    private var composer: some View {
        HStack {
            TextField("Message", text: $model.draft)
                .textFieldStyle(.roundedBorder)
                .onSubmit { model.send() }
            Button("Send") { model.send() }
                .disabled(model.draft.trimmingCharacters(in: .whitespaces).isEmpty)
        }
        .padding(8)
    }
}

/// One message: author, source badge, text; a clock while our own publish is unacked.
struct MessageRow: View {
    let line: ChatLine

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack(spacing: 6) {
                Text(line.mine ? "You" : (line.author.name ?? line.author.user))
                    .font(.caption.bold())
                SourceBadge(source: line.author.source)
                Spacer()
                if line.seq == nil {
                    Image(systemName: "clock").font(.caption2).foregroundStyle(.secondary)
                        .accessibilityLabel("Waiting to send")
                }
                Text(line.date, style: .time).font(.caption2).foregroundStyle(.secondary)
            }
            Text(line.content)
        }
        .padding(.vertical, 2)
    }
}

/// "alice is typing…", from ephemeral `typing` events.
struct TypingIndicator: View {
    let typing: [Member]

    var body: some View {
        Text(text)
            .font(.caption)
            .foregroundStyle(.secondary)
            .frame(maxWidth: .infinity, minHeight: 18, alignment: .leading)
            .padding(.horizontal, 8)
    }

    private var text: String {
        let names = typing.map { $0.name ?? $0.user }.sorted()
        switch names.count {
        case 0: return ""
        case 1: return "\(names[0]) is typing…"
        default: return "\(names.joined(separator: ", ")) are typing…"
        }
    }
}
