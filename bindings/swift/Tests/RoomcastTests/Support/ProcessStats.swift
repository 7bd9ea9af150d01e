#if os(Linux)
import Foundation

/// This process's open file descriptors, threads and resident memory, from /proc.
struct ProcessStats: Sendable {
    let fds: Int
    let threads: Int
    let rssKiB: Int

    static func now() throws -> ProcessStats {
        let files = FileManager.default
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let rss = status.split(separator: "\n")
            .first { $0.hasPrefix("VmRSS:") }
            .flatMap { line in
                // "VmRSS:\t    1234 kB"
                line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
            }
        return ProcessStats(
            fds: try files.contentsOfDirectory(atPath: "/proc/self/fd").count,
            threads: try files.contentsOfDirectory(atPath: "/proc/self/task").count,
            rssKiB: rss ?? 0
        )
    }

    /// Closed clients release their sockets and tasks a moment after `close()` returns: polls
    /// until descriptors and threads are back within 2 of `before`, for at most 10 s, and
    /// returns the last reading (the test asserts on it).
    static func settled(near before: ProcessStats) async throws -> ProcessStats {
        let deadline = Date().addingTimeInterval(10)
        var last = try now()
        while last.fds > before.fds + 2 || last.threads > before.threads + 2, Date() < deadline {
            try await Task.sleep(nanoseconds: 50_000_000)
            last = try now()
        }
        return last
    }
}
#endif
