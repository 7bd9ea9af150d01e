#if os(iOS) || os(tvOS) || os(visionOS) || os(macOS)
import Foundation
#if os(macOS)
import AppKit
#endif

/// The connectivity policy a `RoomcastClient` applies by itself on Apple platforms
/// (`automaticLifecycle`, on by default): app lifecycle (UIKit's notifications, with a
/// background task for the grace period), the network path (`NWPathMonitor`) and, on macOS,
/// sleep and wake. Linux and other platforms keep the explicit wiring (`RoomcastConnectivity`).
///
/// It holds the client weakly, so it never keeps one alive; it stops at `close()` and when the
/// client is released.
@MainActor
final class AutomaticLifecycle {
    /// One per client with automatic lifecycle, by the client's identity.
    private static var running: [ObjectIdentifier: AutomaticLifecycle] = [:]

    let connectivity: RoomcastConnectivity
    private var observers: [(NotificationCenter, NSObjectProtocol)] = []
    #if canImport(Network)
    private let pathMonitor: RoomcastPathMonitor
    #endif
    #if canImport(UIKit) && !os(watchOS)
    private let appLifecycle: RoomcastAppLifecycle
    #endif

    private init(control: WeakControl) {
        connectivity = RoomcastConnectivity(control: control)
        #if canImport(Network)
        pathMonitor = RoomcastPathMonitor(connectivity: connectivity)
        pathMonitor.start()
        #endif
        #if canImport(UIKit) && !os(watchOS)
        appLifecycle = RoomcastAppLifecycle(connectivity: connectivity)
        #endif
        #if os(macOS)
        observeSleep()
        #endif
    }

    /// Starts the wiring for `client`, on the main actor (from any thread).
    nonisolated static func attach(_ client: RoomcastClient) {
        let id = ObjectIdentifier(client)
        let control = WeakControl(client)
        onMainActor {
            guard running[id] == nil, control.isAlive else { return }
            running[id] = AutomaticLifecycle(control: control)
        }
    }

    /// Stops the wiring of the client `id` (closed or released).
    nonisolated static func detach(_ id: ObjectIdentifier) {
        onMainActor {
            running.removeValue(forKey: id)?.stop()
        }
    }

    /// The connectivity applied to the client `id`, if its wiring runs.
    static func connectivity(of id: ObjectIdentifier) -> RoomcastConnectivity? {
        running[id]?.connectivity
    }

    private func stop() {
        for (center, observer) in observers {
            center.removeObserver(observer)
        }
        observers.removeAll()
        #if canImport(Network)
        pathMonitor.stop()
        #endif
        #if canImport(UIKit) && !os(watchOS)
        appLifecycle.stop()
        #endif
    }

    #if os(macOS)
    /// A Mac going to sleep pauses at once (nothing runs while it sleeps, and the socket will
    /// be dead on waking); waking resumes, with a fresh connection.
    private func observeSleep() {
        let center = NSWorkspace.shared.notificationCenter
        let sleep = center.addObserver(
            forName: NSWorkspace.willSleepNotification, object: nil, queue: .main
        ) { [weak self] _ in
            MainActor.assumeIsolated {
                guard let self else { return }
                self.connectivity.enteredBackground()
                self.connectivity.endGracePeriod()
            }
        }
        let wake = center.addObserver(
            forName: NSWorkspace.didWakeNotification, object: nil, queue: .main
        ) { [weak self] _ in
            MainActor.assumeIsolated { self?.connectivity.enteredForeground() }
        }
        observers.append((center, sleep))
        observers.append((center, wake))
    }
    #endif
}

/// The client, held weakly: the wiring must not keep it alive.
final class WeakControl: ConnectionControl, @unchecked Sendable {
    // Written once, in `init`; `weak` reads are atomic.
    private weak var client: RoomcastClient?

    init(_ client: RoomcastClient) {
        self.client = client
    }

    var isAlive: Bool { client != nil }

    func pause() { client?.pause() }
    func resume() { client?.resume() }
    func reconnectNow() { client?.reconnectNow() }
}
#endif
