// Child processes for the end-to-end tests: the real `ferryd` and `ferry` executables, always bounded in time.
//
// stdout and stderr go to files (never pipes: a chatty child cannot block on a full pipe while we wait for it), and
// every wait has a deadline; a child that outlives it is killed with SIGKILL and reported as timed out.
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where `swift build` put `ferryd` and `ferry`: beside the test bundle.
enum Executables {
    private final class Marker {}

    /// The directory holding both executables, or nil (with the places looked at) when they were not built.
    static func directory() -> (URL?, [String]) {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["FERRY_E2E_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: override, isDirectory: true))
        }
        // On Linux the bundle URL is the .xctest file itself or its directory, depending on the Foundation version.
        let bundle = Bundle(for: Marker.self).bundleURL
        candidates.append(bundle.deletingLastPathComponent())
        candidates.append(bundle)
        if let main = Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        let manager = FileManager.default
        for candidate in candidates {
            let daemon = candidate.appendingPathComponent("ferryd").path
            let client = candidate.appendingPathComponent("ferry").path
            if manager.isExecutableFile(atPath: daemon), manager.isExecutableFile(atPath: client) {
                return (candidate, [])
            }
        }
        return (nil, candidates.map(\.path))
    }

    /// Both executables, or a failed test saying what to run.
    static func locate(file: StaticString = #filePath, line: UInt = #line) throws -> (ferryd: URL, ferry: URL) {
        let (found, searched) = directory()
        guard let found else {
            XCTFail("ferryd and ferry not found beside the test bundle (looked in \(searched.joined(separator: ", "))): "
                + "run `swift build --product ferryd && swift build --product ferry` first (with the same --scratch-path "
                + "as `swift test`), or set FERRY_E2E_BIN_DIR", file: file, line: line)
            throw E2EError("executables not built")
        }
        return (found.appendingPathComponent("ferryd"), found.appendingPathComponent("ferry"))
    }
}

struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic seconds, for deadlines.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Polls `condition` every `interval` seconds until it holds or `timeout` seconds passed; returns whether it held.
@discardableResult
func waitUntil(timeout: Double, interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while true {
        if condition() { return true }
        if monotonicSeconds() >= deadline { return false }
        usleep(UInt32(interval * 1_000_000))
    }
}

/// One child process with its stdout and stderr in files.
final class ChildProcess {
    let process = Process()
    let name: String
    let stdoutURL: URL
    let stderrURL: URL
    let startedAt = monotonicSeconds()

    init(_ executable: URL, _ arguments: [String], outputDirectory: URL, name: String,
         currentDirectory: URL? = nil) throws {
        self.name = name
        let tag = "\(name)-\(UUID().uuidString.prefix(8))"
        stdoutURL = outputDirectory.appendingPathComponent("\(tag).stdout")
        stderrURL = outputDirectory.appendingPathComponent("\(tag).stderr")
        let manager = FileManager.default
        guard manager.createFile(atPath: stdoutURL.path, contents: nil),
              manager.createFile(atPath: stderrURL.path, contents: nil) else {
            throw E2EError("cannot create output files in \(outputDirectory.path)")
        }
        process.executableURL = executable
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "JOURNAL_STREAM")  // plain logfmt lines, no syslog prefix
        environment["HOME"] = outputDirectory.path          // no ~/.config/ferry/client.toml from the real user
        environment.removeValue(forKey: "XDG_CONFIG_HOME")
        process.environment = environment
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Waits up to `timeout` seconds; true if it exited.
    func wait(timeout: Double) -> Bool {
        waitUntil(timeout: timeout, interval: 0.01) { !process.isRunning }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace` seconds. Returns true when it ended on SIGTERM.
    @discardableResult
    func stop(grace: Double = 5) -> Bool {
        guard process.isRunning else { return true }
        signal(SIGTERM)
        if wait(timeout: grace) { return true }
        signal(SIGKILL)
        _ = wait(timeout: 5)
        return false
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var stdoutData: Data { (try? Data(contentsOf: stdoutURL)) ?? Data() }

    /// Exit status when it exited normally, nil when killed by a signal (or still running).
    var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    var terminationDescription: String {
        if process.isRunning { return "still running" }
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "ended (\(process.terminationStatus))"
        }
    }
}

/// The outcome of a child run to completion.
struct RunResult {
    let status: Int32?
    let stdout: String
    let stdoutData: Data
    let stderr: String
    let seconds: Double
    let timedOut: Bool
    let termination: String
}

/// Runs a child to completion within `timeout` seconds; on expiry kills it (SIGKILL) and fails the test.
func runToCompletion(_ executable: URL, _ arguments: [String], outputDirectory: URL, name: String, timeout: Double,
                     file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
    let child = try ChildProcess(executable, arguments, outputDirectory: outputDirectory, name: name)
    var timedOut = false
    if !child.wait(timeout: timeout) {
        timedOut = true
        child.signal(SIGKILL)
        _ = child.wait(timeout: 5)
        XCTFail("\(name) did not finish within \(timeout) s and was killed; stderr:\n\(child.stderr.suffix(2000))",
                file: file, line: line)
    }
    return RunResult(status: child.exitStatus, stdout: child.stdout, stdoutData: child.stdoutData, stderr: child.stderr,
                     seconds: monotonicSeconds() - child.startedAt, timedOut: timedOut,
                     termination: child.terminationDescription)
}
