// A real `ferryd` on 127.0.0.1 with a temporary configuration, storage root and log file.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class Daemon {
    let child: ChildProcess
    let port: UInt16
    let configURL: URL
    let root: URL
    let staging = ".staging"

    init(child: ChildProcess, port: UInt16, configURL: URL, root: URL) {
        self.child = child
        self.port = port
        self.configURL = configURL
        self.root = root
    }

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }
    var address: String { "127.0.0.1:\(port)" }
    var log: String { child.stderr }
    var stagingDirectory: URL { root.appendingPathComponent(staging, isDirectory: true) }

    /// The directory a client's files land in.
    func area(_ identity: String) -> URL { root.appendingPathComponent(identity, isDirectory: true) }

    /// The configuration text for `port`. `settings` adds lines to sections ("limits": ["max_file_size = 5"]), or
    /// replaces the line of a key set here ("identity": ["private_key = \"server.key\""]); every key the tests do not
    /// set keeps its default, except shutdown_grace (2 s, so a stuck drain cannot stall a test).
    static func configText(port: UInt16, pki: PKI, root: URL, workers: Int, settings: [String: [String]] = [:]) -> String {
        var sections: [(String, [String])] = [
            ("server", ["listen = [\"127.0.0.1:\(port)\"]", "workers = \(workers)"]),
            ("identity", ["certificate = \"\(pki.serverCertificate.path)\"", "private_key = \"\(pki.serverKey.path)\"",
                          "client_ca = \"\(pki.caCertificate.path)\""]),
            ("storage", ["root = \"\(root.path)\""]),
            ("limits", []),
            ("log", ["level = \"info\"", "format = \"logfmt\""]),
        ]
        if !(settings["server"] ?? []).contains(where: { $0.hasPrefix("shutdown_grace") }) {
            sections[0].1.append("shutdown_grace = 2")
        }
        for (name, lines) in settings {
            if let index = sections.firstIndex(where: { $0.0 == name }) {
                let replaced = Set(lines.map(Self.keyName))
                sections[index].1.removeAll { replaced.contains(Self.keyName($0)) }
                sections[index].1 += lines
            } else {
                sections.append((name, lines))
            }
        }
        return sections.filter { !$0.1.isEmpty }.map { "[\($0.0)]\n" + $0.1.joined(separator: "\n") + "\n" }
            .joined(separator: "\n")
    }

    /// "private_key" of "private_key = \"…\"".
    private static func keyName(_ line: String) -> String {
        String(line.prefix { $0 != "=" }).trimmingCharacters(in: .whitespaces)
    }

    /// Starts ferryd on a free port and waits (10 s at most) for `ferryd ready`. A port taken between our probe and the
    /// daemon's bind is retried on another one. `variables` are added to the daemon's environment; `name` names its
    /// configuration file (two daemons of one test need two).
    static func start(environment env: TestEnvironment, workers: Int, settings: [String: [String]] = [:],
                      variables: [String: String] = [:], name: String = "ferryd",
                      file: StaticString = #filePath, line: UInt = #line) throws -> Daemon {
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var lastLog = ""
        for attempt in 1...5 {
            let port = try freePort()
            let configURL = env.directory.appendingPathComponent("\(name)-\(attempt).toml")
            try configText(port: port, pki: env.pki, root: root, workers: workers, settings: settings)
                .write(to: configURL, atomically: true, encoding: .utf8)
            let child = try ChildProcess(env.binaries.ferryd, ["--config", configURL.path],
                                         outputDirectory: env.directory, name: "ferryd",
                                         environment: ChildProcess.isolatedEnvironment(home: env.directory)
                                             .merging(variables) { _, new in new })
            let daemon = Daemon(child: child, port: port, configURL: configURL, root: root)
            let ready = waitUntil(timeout: 10) { daemon.log.contains("msg=\"ferryd ready\"") || !child.isRunning }
            if ready, child.isRunning {
                env.register(daemon)
                return daemon
            }
            lastLog = daemon.log
            child.stop(grace: 2)
            let portInUse = lastLog.contains("EADDRINUSE") || lastLog.lowercased().contains("address already in use")
            if !portInUse { break }
        }
        XCTFail("ferryd did not become ready within 10 s; log:\n\(lastLog)", file: file, line: line)
        throw TestError("ferryd did not start")
    }

    /// SIGTERM, then SIGKILL after 5 s. True when it exited on its own after SIGTERM.
    @discardableResult
    func stop() -> Bool { child.stop(grace: 5) }

    func assertRunning(_ when: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(isRunning, "ferryd is not running \(when) (\(child.terminationDescription)); log tail:\n"
            + String(log.suffix(3000)), file: file, line: line)
    }

    /// Waits (bounded) until a log line satisfies `predicate`.
    func waitForLog(timeout: Double, _ predicate: @escaping (LogLine) -> Bool) -> LogLine? {
        var found: LogLine?
        waitUntil(timeout: timeout, interval: 0.02) {
            found = logLines().first(where: predicate)
            return found != nil
        }
        return found
    }

    func logLines() -> [LogLine] { log.split(separator: "\n").map { LogLine(String($0)) } }

    func logLines(message: String) -> [LogLine] { logLines().filter { $0.message == message } }

    /// Requests refused over every session that has closed (the `refused` count of "session closed"), once `sessions`
    /// sessions have closed (within 10 s). Refusals themselves are logged at most once per code per 10 s a session.
    func refusedRequests(afterSessions sessions: Int) -> Int {
        _ = waitUntil(timeout: 10) { self.logLines(message: "session closed").count >= sessions }
        return logLines(message: "session closed").compactMap { $0["refused"].flatMap(Int.init) }.reduce(0, +)
    }

    /// Every regular file under the storage root (uploads, and .part files in staging), except the daemon's lock file
    /// (`<root>/.ferryd.lock`, StorageLock) and the metadata index (`<root>/.index/`), relative to the root.
    func filesUnderRoot() -> [String] {
        regularFiles(under: root).filter { $0 != ".ferryd.lock" && !$0.hasPrefix(".index/") }
    }

    /// Entries in the staging directory (partial uploads).
    func stagingEntries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stagingDirectory.path)) ?? []).sorted()
    }

    /// VmRSS, VmHWM and RssAnon of the daemon, in KiB. RssAnon leaves out the pages of the executable and libraries,
    /// which stay resident once a code path ran: what the daemon allocated, and whether it gave it back.
    func memory() throws -> (rssKiB: Int, peakKiB: Int, anonKiB: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1])
        }
        guard let rss = field("VmRSS"), let peak = field("VmHWM"), let anon = field("RssAnon") else {
            throw TestError("no VmRSS, VmHWM or RssAnon in /proc/\(pid)/status")
        }
        return (rss, peak, anon)
    }

    /// A port that was free a moment ago: bind 127.0.0.1:0, read the port, close.
    static func freePort() throws -> UInt16 { try TestPorts.free() }
}

/// One logfmt line of ferryd: `ts=… level=info msg="upload started" path=a size=1 session=3 worker=0`.
struct LogLine: CustomStringConvertible {
    let text: String
    let fields: [String: String]

    init(_ text: String) {
        self.text = text
        var fields: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
            guard let equals = text[index...].firstIndex(of: "=") else { break }
            let key = String(text[index..<equals])
            var cursor = text.index(after: equals)
            var value = ""
            if cursor < text.endIndex, text[cursor] == "\"" {
                cursor = text.index(after: cursor)
                while cursor < text.endIndex, text[cursor] != "\"" {
                    if text[cursor] == "\\", text.index(after: cursor) < text.endIndex {
                        cursor = text.index(after: cursor)
                        switch text[cursor] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(text[cursor])
                        }
                    } else {
                        value.append(text[cursor])
                    }
                    cursor = text.index(after: cursor)
                }
                if cursor < text.endIndex { cursor = text.index(after: cursor) }
            } else {
                let end = text[cursor...].firstIndex(of: " ") ?? text.endIndex
                value = String(text[cursor..<end])
                cursor = end
            }
            fields[key] = value
            index = cursor
        }
        self.fields = fields
    }

    var message: String? { fields["msg"] }
    subscript(_ key: String) -> String? { fields[key] }
    var description: String { text }
}
