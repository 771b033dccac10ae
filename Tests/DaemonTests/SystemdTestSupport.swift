// Helpers for the systemd tests: a datagram socket standing in for systemd's notify socket, child processes with
// bounded waits, and where the repository and the built executables are.
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct SystemdTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic seconds, for deadlines.
func systemdTestClock() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// What systemd would bind: an AF_UNIX datagram socket, in a directory or in the abstract namespace. `environmentValue`
/// is what $NOTIFY_SOCKET must say to reach it.
final class NotifySocketReceiver {
    let descriptor: Int32
    let environmentValue: String
    private let path: String?

    /// A socket file `name` in `directory`.
    convenience init(directory: URL, name: String = "notify.sock") throws {
        let path = directory.appendingPathComponent(name).path
        try self.init(sunPath: Array(path.utf8) + [0], environmentValue: path, path: path)
    }

    /// An abstract socket "@`name`" (address length without a trailing NUL, as systemd binds them).
    convenience init(abstractName name: String) throws {
        try self.init(sunPath: [0] + Array(name.utf8), environmentValue: "@" + name, path: nil)
    }

    private init(sunPath: [UInt8], environmentValue: String, path: String?) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemdTestError("socket: errno \(errno)") }
        self.environmentValue = environmentValue
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: sunPath) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + sunPath.count)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard rc == 0 else {
            let error = errno
            close(descriptor)
            throw SystemdTestError("bind \(environmentValue): errno \(error)")
        }
    }

    deinit {
        close(descriptor)
        if let path { unlink(path) }
    }

    /// The next datagram, or nil when none arrived within `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let deadline = systemdTestClock() + timeout
        while true {
            let remaining = max(0, deadline - systemdTestClock())
            let ready = poll(&poller, 1, Int32(remaining * 1000))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var from = sockaddr_un()
            var fromLength = socklen_t(MemoryLayout<sockaddr_un>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &fromLength)
                    }
                }
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            return String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    /// Every datagram until `timeout` seconds have passed.
    func receiveAll(for timeout: Double) -> [String] {
        let deadline = systemdTestClock() + timeout
        var messages: [String] = []
        while let message = receive(timeout: max(0, deadline - systemdTestClock())) { messages.append(message) }
        return messages
    }

    /// The first datagram that satisfies `predicate` within `timeout` seconds, with those skipped before it.
    func receive(timeout: Double, until predicate: (String) -> Bool) -> (match: String?, skipped: [String]) {
        let deadline = systemdTestClock() + timeout
        var skipped: [String] = []
        while let message = receive(timeout: max(0, deadline - systemdTestClock())) {
            if predicate(message) { return (message, skipped) }
            skipped.append(message)
        }
        return (nil, skipped)
    }
}

/// A child process with stdout and stderr in files (never pipes) and bounded waits.
final class TestChild {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(_ executable: URL, _ arguments: [String], environment: [String: String], directory: URL, name: String) throws {
        let tag = "\(name)-\(UUID().uuidString.prefix(8))"
        stdoutURL = directory.appendingPathComponent("\(tag).stdout")
        stderrURL = directory.appendingPathComponent("\(tag).stderr")
        guard FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
              FileManager.default.createFile(atPath: stderrURL.path, contents: nil) else {
            throw SystemdTestError("cannot create output files in \(directory.path)")
        }
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { if process.isRunning { kill(pid, number) } }

    /// True if it exited within `timeout` seconds.
    @discardableResult
    func wait(timeout: Double) -> Bool {
        let deadline = systemdTestClock() + timeout
        while process.isRunning {
            if systemdTestClock() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// SIGKILL if still running (tear-down).
    func kill9() {
        guard process.isRunning else { return }
        signal(SIGKILL)
        wait(timeout: 5)
    }

    var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }
}

/// Runs a command to completion within `timeout` seconds (SIGKILL after it); returns status, stdout, stderr.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                directory: URL, timeout: Double = 120,
                file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32?, stdout: String, stderr: String) {
    let child = try TestChild(URL(fileURLWithPath: executable), arguments,
                              environment: environment ?? ProcessInfo.processInfo.environment,
                              directory: directory, name: URL(fileURLWithPath: executable).lastPathComponent)
    if !child.wait(timeout: timeout) {
        child.kill9()
        XCTFail("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s", file: file, line: line)
    }
    defer {
        try? FileManager.default.removeItem(at: child.stdoutURL)
        try? FileManager.default.removeItem(at: child.stderrURL)
    }
    return (child.exitStatus, child.stdout, child.stderr)
}

enum SystemdTestPaths {
    private final class Marker {}

    /// The repository root (this file is Tests/DaemonTests/SystemdTestSupport.swift).
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The directory with the built `ferryd` and `ferry`: beside the test bundle (FERRY_E2E_BIN_DIR overrides).
    static func executables() -> URL? {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["FERRY_E2E_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: override, isDirectory: true))
        }
        // On Linux the bundle URL is the .xctest file itself or its directory, depending on the Foundation version.
        let bundle = Bundle(for: Marker.self).bundleURL
        candidates += [bundle.deletingLastPathComponent(), bundle]
        if let main = Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        return candidates.first {
            FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("ferryd").path)
                && FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("ferry").path)
        }
    }

    /// `systemd-analyze`, or nil when the systemd package is not installed.
    static var systemdAnalyze: String? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A fresh temporary directory, removed at the end of the test.
    static func temporaryDirectory(_ testCase: XCTestCase, _ label: String) throws -> URL {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true)
            .appendingPathComponent("ferry-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }
}
