import Roomcast
import SwiftUI

/// Where a message or member comes from: the `source` each client announces.
struct SourceBadge: View {
    let source: String

    var body: some View {
        Label(label, systemImage: symbol)
            .labelStyle(.titleAndIcon)
            .font(.caption2)
            .padding(.horizontal, 5)
            .padding(.vertical, 1)
            .background(Capsule().fill(Color.secondary.opacity(0.15)))
    }

    private var label: String {
        switch source {
        case "ios": return "iOS"
        case "macos", "desktop": return "Desktop"
        case "web": return "Web"
        case "cli": return "CLI"
        case "server": return "Server"
        default: return source
        }
    }

    private var symbol: String {
        switch source {
        case "ios": return "iphone"
        case "macos", "desktop": return "desktopcomputer"
        case "web": return "globe"
        case "cli": return "terminal"
        case "server": return "server.rack"
        default: return "questionmark.circle"
        }
    }
}

/// Connected, reconnecting in N s, offline with N queued: the connection at a glance.
struct ConnectionBadge: View {
    let connection: RoomcastConnectionModel

    var body: some View {
        HStack(spacing: 6) {
            Circle().fill(color).frame(width: 8, height: 8)
            Text(connection.statusText).font(.caption)
            if canRetry {
                // Skips the backoff wait, or tries again after `.unauthorized`.
                Button("Retry now") { connection.client.reconnectNow() }.font(.caption)
            }
        }
        .accessibilityElement(children: .combine)
    }

    private var canRetry: Bool {
        switch connection.state {
        case .reconnecting, .unauthorized: return true
        default: return false
        }
    }

    private var color: Color {
        switch connection.state {
        case .connected: return .green
        case .connecting, .reconnecting: return .orange
        case .paused, .idle: return .gray
        case .unauthorized, .closed: return .red
        }
    }
}

/// Everyone in the room now, with their source.
struct PresenceList: View {
    let members: [Member]

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            ForEach(members, id: \.client) { member in
                HStack(spacing: 6) {
                    Circle().fill(Color.green).frame(width: 6, height: 6)
                    Text(member.name ?? member.user).font(.callout).lineLimit(1)
                    SourceBadge(source: member.source)
                }
            }
            if members.isEmpty {
                Text("Nobody here yet").font(.callout).foregroundStyle(.secondary)
            }
        }
        .padding(8)
    }
}
