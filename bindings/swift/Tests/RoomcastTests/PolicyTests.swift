import Foundation
import Roomcast
import XCTest

/// The platform layer's rules, in plain Swift: no server, no Apple frameworks.
final class PolicyTests: XCTestCase {
    private let t0 = Date(timeIntervalSince1970: 1_000_000)

    func testBackgroundPausesAfterTheGracePeriodAndForegroundResumes() {
        var policy = ConnectionPolicy(gracePeriod: 25)
        XCTAssertEqual(policy.enteredBackground(at: t0), [])
        XCTAssertEqual(policy.pauseAt, t0.addingTimeInterval(25))
        XCTAssertEqual(policy.gracePeriodEnded(at: t0.addingTimeInterval(24)), [], "too early")
        XCTAssertEqual(policy.gracePeriodEnded(at: t0.addingTimeInterval(25)), [.pause])
        XCTAssertTrue(policy.isPaused)
        XCTAssertEqual(policy.gracePeriodEnded(at: t0.addingTimeInterval(26)), [], "once")
        XCTAssertEqual(policy.enteredForeground(), [.resume])
        XCTAssertFalse(policy.isPaused)
    }

    func testAQuickTripToAnotherAppKeepsTheConnectionAndChecksIt() {
        var policy = ConnectionPolicy(gracePeriod: 25)
        _ = policy.enteredBackground(at: t0)
        XCTAssertEqual(policy.enteredForeground(), [.reconnectNow])
        XCTAssertNil(policy.pauseAt)
        XCTAssertEqual(policy.gracePeriodEnded(at: t0.addingTimeInterval(30)), [], "the timer is void")
        XCTAssertEqual(policy.enteredForeground(), [], "already in the foreground")
    }

    func testNoPathPausesAndAPathBackReconnectsAtOnce() {
        var policy = ConnectionPolicy()
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["wifi"]), [.reconnectNow])
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["wifi"]), [], "nothing changed")
        XCTAssertEqual(policy.pathChanged(satisfied: false, interfaces: []), [.pause])
        XCTAssertEqual(policy.pathChanged(satisfied: false, interfaces: []), [])
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["cellular"]), [.resume])
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["wifi", "cellular"]), [.reconnectNow])
    }

    func testInterfaceChangeReconnectsAtOnce() {
        var policy = ConnectionPolicy()
        _ = policy.pathChanged(satisfied: true, interfaces: ["wifi"])
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["cellular"]), [.reconnectNow])
    }

    func testThePathAndTheLifecycleCombine() {
        var policy = ConnectionPolicy(gracePeriod: 25)
        _ = policy.enteredBackground(at: t0)
        XCTAssertEqual(policy.gracePeriodEnded(at: t0.addingTimeInterval(25)), [.pause])
        // A path coming back in the background does not reconnect a paused app.
        XCTAssertEqual(policy.pathChanged(satisfied: false, interfaces: []), [])
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["wifi"]), [])
        XCTAssertEqual(policy.enteredForeground(), [.resume])
        // In the foreground without a path: stay paused until there is one.
        XCTAssertEqual(policy.pathChanged(satisfied: false, interfaces: []), [.pause])
        _ = policy.enteredBackground(at: t0)
        XCTAssertNil(policy.pauseAt, "already paused: no grace period")
        XCTAssertEqual(policy.enteredForeground(), [], "no path yet")
        XCTAssertEqual(policy.pathChanged(satisfied: true, interfaces: ["wifi"]), [.resume])
    }

    @MainActor
    func testConnectivityTimesTheGracePeriod() async throws {
        let control = RecordingControl()
        let connectivity = RoomcastConnectivity(control: control, gracePeriod: 0.2)
        connectivity.enteredBackground()
        XCTAssertEqual(control.calls, [])
        try await eventually("paused after the grace period") { control.calls == ["pause"] }
        connectivity.enteredForeground()
        XCTAssertEqual(control.calls, ["pause", "resume"])
        connectivity.enteredBackground()
        connectivity.enteredForeground()
        XCTAssertEqual(control.calls, ["pause", "resume", "reconnectNow"])
        XCTAssertEqual(connectivity.applied, [.pause, .resume, .reconnectNow])
    }

    /// What a Mac going to sleep does: the grace period ends at once, and waking resumes.
    @MainActor
    func testEndingTheGracePeriodNowPausesAtOnce() {
        let control = RecordingControl()
        let connectivity = RoomcastConnectivity(control: control, gracePeriod: 60)
        connectivity.enteredBackground()
        connectivity.endGracePeriod()
        XCTAssertEqual(control.calls, ["pause"])
        connectivity.endGracePeriod()
        XCTAssertEqual(control.calls, ["pause"], "once")
        connectivity.enteredForeground()
        XCTAssertEqual(control.calls, ["pause", "resume"])
    }

    func testConnectionStatusText() {
        XCTAssertEqual(ConnectionStatus.text(state: .connected, reconnectingIn: nil, queued: 3), "Connected")
        XCTAssertEqual(
            ConnectionStatus.text(state: .reconnecting(attempt: 2, delayMs: 3000), reconnectingIn: 3, queued: 2),
            "Reconnecting in 3 s · 2 queued"
        )
        XCTAssertEqual(ConnectionStatus.text(state: .paused, reconnectingIn: nil, queued: 0), "Paused")
    }

    func testMemberListFollowsJoinsAndPresence() {
        func member(_ user: String) -> Member {
            Member(user: user, client: "\(user)-ios", source: "ios", name: nil)
        }
        var list = MemberList()
        list.apply(.joined(JoinInfo(room: "r", seq: 0, epoch: "e", recovered: true, presence: [member("a")], rejoin: false)))
        list.apply(.presence(PresenceEvent(room: "r", kind: .join, member: member("b"))))
        list.apply(.presence(PresenceEvent(room: "r", kind: .join, member: member("b"))))
        XCTAssertEqual(list.members.map(\.user), ["a", "b"])
        list.apply(.presence(PresenceEvent(room: "r", kind: .leave, member: member("a"))))
        XCTAssertEqual(list.members.map(\.user), ["b"])
        list.apply(.joined(JoinInfo(room: "r", seq: 9, epoch: "e", recovered: true, presence: [member("c")], rejoin: true)))
        XCTAssertEqual(list.members.map(\.user), ["c"], "a rejoin replaces the list")
    }
}

/// A `ConnectionControl` that records its calls.
final class RecordingControl: ConnectionControl, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []

    var calls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    private func record(_ call: String) {
        lock.lock()
        recorded.append(call)
        lock.unlock()
    }

    func pause() { record("pause") }
    func resume() { record("resume") }
    func reconnectNow() { record("reconnectNow") }
}
