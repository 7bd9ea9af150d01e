import Foundation
import RoomcastFFI
#if canImport(os)
import os
#endif

/// The SDK's own log: the Rust core's events (connection states, reconnect delays, failed
/// connections, store errors), filtered by level.
///
/// ```swift
/// try RoomcastLog.enable(level: .info)   // os.Logger, subsystem "roomcast"
/// ```
///
/// Process-wide: it covers every client, and the first call installs the core's log
/// forwarding once for the process's life (later calls only change the level or the
/// destination). Off by default, and `disable()` turns it off again; while off, the core skips
/// its log statements where they are, at no measurable cost. Records reach the destination on
/// a thread of the SDK's own, in order; a destination that falls far behind loses records, it
/// never slows the connection. Records carry no tokens and no message payloads.
public enum RoomcastLog {
    /// Sends records at `level` and above to the system log: `os.Logger` with subsystem
    /// `roomcast` and the Rust module as category on Apple platforms, standard error elsewhere.
    public static func enable(level: LogLevel = .info) throws {
        try setLogSink(sink: SystemLogSink(), level: level)
    }

    /// Sends records at `level` and above to `handler` (an app's own logging) instead.
    public static func enable(level: LogLevel, handler: @escaping @Sendable (LogRecord) -> Void) throws {
        try setLogSink(sink: ClosureLogSink(handler), level: level)
    }

    /// Stops logging.
    public static func disable() {
        clearLogSink()
    }
}

extension LogLevel {
    /// Upper-case name, for plain-text logs.
    public var label: String {
        switch self {
        case .error: return "ERROR"
        case .warn: return "WARN"
        case .info: return "INFO"
        case .debug: return "DEBUG"
        case .trace: return "TRACE"
        }
    }
}

/// A `LogSink` forwarding to a closure.
final class ClosureLogSink: LogSink {
    private let handler: @Sendable (LogRecord) -> Void

    init(_ handler: @escaping @Sendable (LogRecord) -> Void) {
        self.handler = handler
    }

    func log(record: LogRecord) { handler(record) }
}

/// The system log: `os.Logger` where there is one, standard error otherwise.
final class SystemLogSink: LogSink, @unchecked Sendable {
    #if canImport(os)
    private let lock = NSLock()
    /// One logger per category (the record's Rust module), behind `lock`.
    private var loggers: [String: Logger] = [:]

    func log(record: LogRecord) {
        let logger = lock.locked {
            if let logger = loggers[record.target] { return logger }
            let logger = Logger(subsystem: "roomcast", category: record.target)
            loggers[record.target] = logger
            return logger
        }
        logger.log(level: Self.type(record.level), "\(record.message, privacy: .public)")
    }

    private static func type(_ level: LogLevel) -> OSLogType {
        switch level {
        case .error: return .error
        case .warn: return .default
        case .info: return .info
        case .debug, .trace: return .debug
        }
    }
    #else
    func log(record: LogRecord) {
        let line = "roomcast \(record.level.label) \(record.target): \(record.message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
    #endif
}
