// One line per event on stderr, as logfmt or JSON, with a syslog priority prefix ("<6>") when stderr is the journal
// ($JOURNAL_STREAM), so journald keeps the level. Metadata carries the session id on every line of a session.
// Key material and file contents are never passed to the logger in the first place.
import FerrydConfig
import Foundation
import Logging
import Synchronization

typealias LogFormat = DaemonConfig.LogFormat

/// The log level and format every handler reads, swapped by a configuration reload (SIGHUP) on any thread.
final class LogSettings: Sendable {
    private let state: Mutex<(level: Logger.Level, format: LogFormat)>

    init(level: Logger.Level, format: LogFormat) { state = Mutex((level, format)) }

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
        FileHandle.standardError.write(Data((prefix + text + "\n").utf8))
    }

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

    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var parts = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, spec.tv_nsec / 1_000_000)
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
