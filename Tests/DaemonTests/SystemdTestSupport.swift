// Helpers for the systemd tests: a datagram socket standing in for systemd's notify socket, a command runner with
// this process's environment, and where systemd-analyze is. (Child processes, deadlines, temporary directories and
// the built executables come from the shared TestSupport target.)
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
        guard descriptor >= 0 else { throw TestError("socket: errno \(errno)") }
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
            throw TestError("bind \(environmentValue): errno \(error)")
        }
    }

    deinit {
        close(descriptor)
        if let path { unlink(path) }
    }

    /// The next datagram, or nil when none arrived within `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let deadline = monotonicSeconds() + timeout
        while true {
            let remaining = max(0, deadline - monotonicSeconds())
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
        let deadline = monotonicSeconds() + timeout
        var messages: [String] = []
        while let message = receive(timeout: max(0, deadline - monotonicSeconds())) { messages.append(message) }
        return messages
    }

    /// The first datagram that satisfies `predicate` within `timeout` seconds, with those skipped before it.
    func receive(timeout: Double, until predicate: (String) -> Bool) -> (match: String?, skipped: [String]) {
        let deadline = monotonicSeconds() + timeout
        var skipped: [String] = []
        while let message = receive(timeout: max(0, deadline - monotonicSeconds())) {
            if predicate(message) { return (message, skipped) }
            skipped.append(message)
        }
        return (nil, skipped)
    }
}

/// `runToCompletion` for a command given by path, run in `directory` with this process's environment (or
/// `environment`), unlike the end-to-end tests' children, which get an isolated one.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                directory: URL, timeout: Double = 120,
                file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
    try runToCompletion(URL(fileURLWithPath: executable), arguments, outputDirectory: directory,
                        name: URL(fileURLWithPath: executable).lastPathComponent, timeout: timeout,
                        currentDirectory: directory, environment: environment ?? ProcessInfo.processInfo.environment,
                        file: file, line: line)
}

enum SystemdTestPaths {
    /// `systemd-analyze`, or nil when the systemd package is not installed.
    static var systemdAnalyze: String? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
