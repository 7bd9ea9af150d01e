#if canImport(Network)
import Foundation
import Network

/// Feeds `NWPathMonitor`'s network path to a `RoomcastConnectivity`: a path that becomes
/// satisfied, or moves to another interface (Wi-Fi to cellular), reconnects at once instead
/// of waiting for the heartbeat or the backoff; no path at all pauses the client so it makes
/// no pointless attempts. A client with `automaticLifecycle` (the default on Apple platforms)
/// runs one itself; otherwise `start()` it once per client; `stop()` (or releasing it)
/// ends monitoring.
public final class RoomcastPathMonitor: @unchecked Sendable {
    // The monitor is only configured in `start()` and cancelled; its own queue runs the rest.
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "roomcast.path")
    private let connectivity: RoomcastConnectivity

    public init(connectivity: RoomcastConnectivity) {
        self.connectivity = connectivity
    }

    deinit {
        monitor.cancel()
    }

    public func start() {
        monitor.pathUpdateHandler = { [connectivity] path in
            let satisfied = path.status == .satisfied
            let interfaces = Set(path.availableInterfaces.map { RoomcastPathMonitor.name(of: $0.type) })
            // The main queue keeps the updates in order.
            onMainActor { connectivity.pathChanged(satisfied: satisfied, interfaces: interfaces) }
        }
        monitor.start(queue: queue)
    }

    public func stop() {
        monitor.cancel()
    }

    private static func name(of type: NWInterface.InterfaceType) -> String {
        switch type {
        case .wifi: return "wifi"
        case .cellular: return "cellular"
        case .wiredEthernet: return "ethernet"
        case .loopback: return "loopback"
        case .other: return "other"
        @unknown default: return "other"
        }
    }
}
#endif
