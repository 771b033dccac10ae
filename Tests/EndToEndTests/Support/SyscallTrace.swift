// strace attached to a running daemon for the length of one action, for tests that check what the daemon asks of
// the kernel (FsyncSettingTests, DirectIOSettingTests). Skipped where strace is not installed.
import Foundation
import TestSupport
import XCTest

enum SyscallTrace {
    static let strace = URL(fileURLWithPath: "/usr/bin/strace")

    /// Runs `action` with strace following every thread of `daemon` (`arguments`: which calls, how printed), and
    /// returns the trace, one line per call: a call another thread interrupted ("<unfinished ...>" then "<...
    /// resumed>") is joined back into one line.
    static func lines(of daemon: Daemon, in env: TestEnvironment, name: String, arguments: [String],
                      during action: () throws -> Void) throws -> [String] {
        guard FileManager.default.isExecutableFile(atPath: strace.path) else { throw XCTSkip("strace is not installed") }
        let trace = env.directory.appendingPathComponent("strace-\(name).txt")
        let tracer = try ChildProcess(strace, ["-f", "-qq"] + arguments + ["-o", trace.path, "-p", "\(daemon.child.pid)"],
                                      outputDirectory: env.directory, name: "strace-\(name)")
        // strace prints nothing once attached; the kernel says it: every thread of the daemon has a tracer.
        guard waitUntil(timeout: 10, { isTraced(daemon.child.pid) }) else {
            tracer.signal(SIGKILL)
            throw TestError("strace did not attach to ferryd within 10 s: \(tracer.stderr)")
        }
        try action()
        tracer.signal(SIGINT)
        XCTAssertTrue(tracer.wait(timeout: 5), "strace did not stop")
        return joinResumed(((try? String(contentsOf: trace, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
    }

    /// Whether every thread of `pid` has a non-zero TracerPid.
    static func isTraced(_ pid: Int32) -> Bool {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return !tasks.isEmpty && tasks.allSatisfy { task in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("TracerPid:") }) else { return false }
            return line.split(separator: "\t").last.map { $0 != "0" } ?? false
        }
    }

    private static func joinResumed(_ lines: [String]) -> [String] {
        var open: [Substring: String] = [:]
        var joined: [String] = []
        for line in lines {
            let pid = line.prefix { $0.isNumber }
            if let cut = line.range(of: " <unfinished ...>") {
                open[pid] = String(line[..<cut.lowerBound])
            } else if let resumed = line.range(of: " resumed>"), let start = open.removeValue(forKey: pid) {
                joined.append(start + line[resumed.upperBound...])
            } else {
                joined.append(line)
            }
        }
        return joined
    }
}
