import Foundation

/// Runs `operation` (an FFI call: uniffi's async functions do not observe Swift task
/// cancellation) in a task of its own and waits for it, or for the calling task to be
/// cancelled, whichever comes first. Cancelled, it throws `CancellationError` at once (also
/// when the caller was cancelled before the call); `operation` itself is not stopped and runs
/// to its end, its result dropped. What that means for each call is in its documentation
/// (a join goes on and leaves the room joined, a connect goes on connecting, ...).
func untilCancelled<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let call = RacedCall<T>()
    Task {
        do {
            call.settle(.success(try await operation()))
        } catch {
            call.settle(.failure(error))
        }
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            call.wait(continuation)
        }
    } onCancel: {
        call.settle(.failure(CancellationError()))
    }
}

/// The first outcome of a call raced against cancellation; later ones are dropped. The
/// continuation is resumed exactly once, whichever of `wait` and `settle` comes first.
final class RacedCall<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: Result<T, any Error>?
    private var continuation: CheckedContinuation<T, any Error>?

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let ready: Result<T, any Error>? = lock.locked {
            if let outcome { return outcome }
            self.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    func settle(_ result: Result<T, any Error>) {
        let waiting: CheckedContinuation<T, any Error>?? = lock.locked {
            guard outcome == nil else { return .none }
            outcome = result
            let parked = continuation
            continuation = nil
            return .some(parked)
        }
        if case let .some(.some(continuation)) = waiting {
            continuation.resume(with: result)
        }
    }
}
