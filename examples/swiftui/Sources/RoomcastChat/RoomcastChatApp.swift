import Roomcast
import SwiftUI
#if os(macOS)
import AppKit
#endif

@main
struct RoomcastChatApp: App {
    @State private var app = AppState()

    init() {
        #if os(macOS)
        // Run from `swift run`, the process is not a regular app until told so; without
        // this the window would not take keyboard focus.
        NSApplication.shared.setActivationPolicy(.regular)
        NSApplication.shared.activate()  // macOS 14; activate(ignoringOtherApps:) is deprecated
        #endif
    }

    var body: some Scene {
        WindowGroup {
            switch app.model {
            case .success(let model):
                ChatView(model: model)
                    // The client follows the app by itself: connected for a grace period in
                    // the background, then paused (rooms and queued publishes are kept);
                    // resumed or checked at once in the foreground.
                    .task { await model.start() }
            case .failure(let error):
                Text("Cannot start Roomcast: \(String(describing: error))")
                    .padding()
            }
        }
    }
}

/// Builds the chat model once, from the environment (see README.md).
@MainActor
final class AppState {
    let model: Result<ChatModel, any Error>

    init() {
        model = Result { try ChatModel(settings: .fromEnvironment()) }
    }
}

/// Where to connect and as whom. The example reads the environment; an app would get the
/// URL from its configuration and tokens from its backend.
struct ChatSettings {
    var url: String
    var token: String?
    var room: String

    static func fromEnvironment() -> ChatSettings {
        let env = ProcessInfo.processInfo.environment
        return ChatSettings(
            url: env["ROOMCAST_URL"] ?? "ws://127.0.0.1:4000/ws",
            token: env["ROOMCAST_TOKEN"],
            room: env["ROOMCAST_ROOM"] ?? "conv-demo"
        )
    }

    /// A stable id for this installation, shown to others with the source badge.
    static var clientId: String {
        let key = "roomcast.clientId"
        if let id = UserDefaults.standard.string(forKey: key) { return id }
        let id = UUID().uuidString
        UserDefaults.standard.set(id, forKey: key)
        return id
    }

    static var source: String {
        #if os(iOS)
        return "ios"
        #else
        return "macos"
        #endif
    }
}
