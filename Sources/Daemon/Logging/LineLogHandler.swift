// One line per event on stderr, as logfmt or JSON, with a syslog priority prefix ("<6>") when stderr is the journal
// ($JOURNAL_STREAM), so journald keeps the level. Metadata carries the session id on every line of a session.
// Key material and file contents are never passed to the logger in the first place.
import FerrydConfig
import Foundation
import Logging
import Platform

typealias LogFormat = DaemonConfig.LogFormat

/// The log level and format every handler reads, swapped by a configuration reload (SIGHUP) on any thread.
final class LogSettings: Sendable {
    /// Read by every log call of every loop thread: PlainMutex (Platform) says why not Synchronization's Mutex.
    private let state: PlainMutex<(level: Logger.Level, format: LogFormat)>

    init(level: Logger.Level, format: LogFormat) { state = PlainMutex((level, format)) }

    var level: Logger.Level { state.withLock { $0.level } }
    var format: LogFormat { state.withLock { $0.format } }

    func update(level: Logger.Level, format: LogFormat) { state.withLock { $0 = (level, format) } }
}

struct LineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    let label: String
    let settings: LogSettings
    let journal: Bool

    init(label: String, settings: LogSettings, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.label = label
        self.settings = settings
        journal = environment["JOURNAL_STREAM"] != nil
    }

    /// Read from the shared settings, so a reload changes every logger at once; setting it changes them all too.
    var logLevel: Logger.Level {
        get { settings.level }
        set { settings.update(level: newValue, format: settings.format) }
    }

    var format: LogFormat { settings.format }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        let text = render(level: event.level, message: "\(event.message)", fields: fields)
        let level = event.level
        let prefix = journal ? "<\(Self.syslogPriority(level))>" : ""
        Self.writeToStandardError(prefix + text + "\n")
    }

    /// write(2), not FileHandle: it traps on a failed write (stderr a pipe whose reader went away), and no log line is
    /// worth the daemon. A line that cannot be written is dropped: there is nowhere left to say so.
    static func writeToStandardError(_ line: String) { TextOutput.writeAll(line, to: STDERR_FILENO) }

    func render(level: Logger.Level, message: String, fields: Logger.Metadata) -> String {
        switch format {
        case .logfmt:
            var parts: [String] = []
            if !journal { parts.append("ts=\(Self.timestamp())") }
            parts.append("level=\(level)")
            parts.append("msg=\(Self.logfmtValue(message))")
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { parts.append("\(key)=\(Self.logfmtValue("\(value)"))") }
            return parts.joined(separator: " ")
        case .json:
            var object: [(String, String)] = [("ts", Self.timestamp()), ("level", "\(level)"), ("msg", message)]
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { object.append((key, "\(value)")) }
            return "{" + object.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",") + "}"
        }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// RFC 3339 in UTC with milliseconds, "2026-12-07T02:16:35.543Z": digits written in place (String(format:) was
    /// a third of a log line's cost, and the daemon writes one line per upload).
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var parts = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = Array("0000-00-00T00:00:00.000Z".utf8)
        func put(_ value: Int, digits: Int, endingAt end: Int) {
            var value = value
            for index in stride(from: end - 1, through: end - digits, by: -1) {
                text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(min(max(Int(parts.tm_year) + 1900, 0), 9999), digits: 4, endingAt: 4)
        put(Int(parts.tm_mon) + 1, digits: 2, endingAt: 7)
        put(Int(parts.tm_mday), digits: 2, endingAt: 10)
        put(Int(parts.tm_hour), digits: 2, endingAt: 13)
        put(Int(parts.tm_min), digits: 2, endingAt: 16)
        put(Int(parts.tm_sec), digits: 2, endingAt: 19)
        put(spec.tv_nsec / 1_000_000, digits: 3, endingAt: 23)
        return String(decoding: text, as: UTF8.self)
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || isControl($0) }
        guard needsQuotes else { return value }
        return "\"" + escape(value) + "\""
    }

    /// C0, DEL and C1: never written raw (U+009B is a CSI to many terminals).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) }

    static func jsonString(_ value: String) -> String { "\"" + escape(value) + "\"" }

    private static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
