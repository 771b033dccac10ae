// Child processes for tests (ferryd, ferry, systemd-analyze, the install scripts), always bounded in time.
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

/// One child process with its stdout and stderr in files.
public final class ChildProcess {
    public let process = Process()
    public let name: String
    public let stdoutURL: URL
    public let stderrURL: URL
    public let startedAt = monotonicSeconds()

    /// Starts `executable`. Output goes to `outputDirectory`/`name`-<random>.stdout and .stderr. With `environment`
    /// nil the child gets `isolatedEnvironment(home: outputDirectory)`.
    public init(_ executable: URL, _ arguments: [String], outputDirectory: URL, name: String,
                currentDirectory: URL? = nil, environment: [String: String]? = nil) throws {
        self.name = name
        let tag = "\(name)-\(UUID().uuidString.prefix(8))"
        stdoutURL = outputDirectory.appendingPathComponent("\(tag).stdout")
        stderrURL = outputDirectory.appendingPathComponent("\(tag).stderr")
        let manager = FileManager.default
        guard manager.createFile(atPath: stdoutURL.path, contents: nil),
              manager.createFile(atPath: stderrURL.path, contents: nil) else {
            throw TestError("cannot create output files in \(outputDirectory.path)")
        }
        process.executableURL = executable
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.environment = environment ?? Self.isolatedEnvironment(home: outputDirectory)
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// This process's environment, made independent of the user running the tests: plain logfmt lines (no
    /// JOURNAL_STREAM, so no syslog prefix), and HOME = `home` without XDG_CONFIG_HOME, so no
    /// ~/.config/ferry/client.toml of the real user is read.
    public static func isolatedEnvironment(home: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "JOURNAL_STREAM")
        environment["HOME"] = home.path
        environment.removeValue(forKey: "XDG_CONFIG_HOME")
        return environment
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Waits up to `timeout` seconds; true if it exited.
    @discardableResult
    public func wait(timeout: Double) -> Bool {
        waitUntil(timeout: timeout, interval: 0.01) { !process.isRunning }
    }

    public func signal(_ signal: Int32) {
        #if canImport(Glibc)
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
        #elseif canImport(Musl)
        if process.isRunning { _ = Musl.kill(process.processIdentifier, signal) }
        #endif
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace` seconds. Returns true when it ended on SIGTERM.
    @discardableResult
    public func stop(grace: Double = 5) -> Bool {
        guard process.isRunning else { return true }
        signal(SIGTERM)
        if wait(timeout: grace) { return true }
        kill()
        return false
    }

    /// SIGKILL if still running, then a bounded wait (tear-down).
    public func kill() {
        guard process.isRunning else { return }
        signal(SIGKILL)
        wait(timeout: 5)
    }

    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    public var stdoutData: Data { (try? Data(contentsOf: stdoutURL)) ?? Data() }

    /// Exit status when it exited normally, nil when killed by a signal (or still running).
    public var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    public var terminationDescription: String {
        if process.isRunning { return "still running" }
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "ended (\(process.terminationStatus))"
        }
    }
}

/// The outcome of a child run to completion.
public struct RunResult {
    public let status: Int32?
    public let stdout: String
    public let stdoutData: Data
    public let stderr: String
    public let seconds: Double
    public let timedOut: Bool
    public let termination: String
}

/// Runs a child to completion within `timeout` seconds; on expiry kills it (SIGKILL) and fails the test.
public func runToCompletion(_ executable: URL, _ arguments: [String], outputDirectory: URL, name: String,
                            timeout: Double, currentDirectory: URL? = nil, environment: [String: String]? = nil,
                            file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
    let child = try ChildProcess(executable, arguments, outputDirectory: outputDirectory, name: name,
                                 currentDirectory: currentDirectory, environment: environment)
    var timedOut = false
    if !child.wait(timeout: timeout) {
        timedOut = true
        child.kill()
        XCTFail("\(name) did not finish within \(timeout) s and was killed; stderr:\n\(child.stderr.suffix(2000))",
                file: file, line: line)
    }
    return RunResult(status: child.exitStatus, stdout: child.stdout, stdoutData: child.stdoutData, stderr: child.stderr,
                     seconds: monotonicSeconds() - child.startedAt, timedOut: timedOut,
                     termination: child.terminationDescription)
}
