#if canImport(SwiftUI)
import SwiftUI

extension View {
    /// Feeds the scene phase to `connectivity`: background starts the grace period (then
    /// `pause()`), active resumes and checks the connection at once. See `ConnectionPolicy`.
    public func roomcastLifecycle(_ connectivity: RoomcastConnectivity) -> some View {
        modifier(RoomcastLifecycleModifier(connectivity: connectivity))
    }
}

struct RoomcastLifecycleModifier: ViewModifier {
    let connectivity: RoomcastConnectivity
    @Environment(\.scenePhase) private var scenePhase

    func body(content: Content) -> some View {
        content.onChange(of: scenePhase) { phase in
            switch phase {
            case .background: connectivity.enteredBackground()
            case .active: connectivity.enteredForeground()
            default: break  // .inactive: a sheet, the app switcher; nothing changes yet
            }
        }
    }
}
#endif

#if canImport(UIKit) && !os(watchOS)
import UIKit

/// The same for UIKit apps, from `UIApplication`'s notifications; during the grace period it
/// holds a background task, so iOS lets the app run until the pause has closed the
/// connection and written room positions. Keep it as long as the client.
@MainActor
public final class RoomcastAppLifecycle: BackgroundActivity {
    private let connectivity: RoomcastConnectivity
    private var observers: [NSObjectProtocol] = []
    private var task: UIBackgroundTaskIdentifier = .invalid

    public init(connectivity: RoomcastConnectivity) {
        self.connectivity = connectivity
        connectivity.backgroundActivity = self
        let center = NotificationCenter.default
        observers.append(center.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak self] _ in
            MainActor.assumeIsolated { self?.connectivity.enteredBackground() }
        })
        observers.append(center.addObserver(
            forName: UIApplication.willEnterForegroundNotification, object: nil, queue: .main
        ) { [weak self] _ in
            MainActor.assumeIsolated { self?.connectivity.enteredForeground() }
        })
    }

    /// Stops observing the notifications.
    public func stop() {
        observers.forEach { NotificationCenter.default.removeObserver($0) }
        observers.removeAll()
    }

    public func begin() {
        guard task == .invalid else { return }
        task = UIApplication.shared.beginBackgroundTask(withName: "roomcast.grace") { [weak self] in
            MainActor.assumeIsolated { self?.end() }
        }
    }

    public func end() {
        guard task != .invalid else { return }
        UIApplication.shared.endBackgroundTask(task)
        task = .invalid
    }
}
#endif
