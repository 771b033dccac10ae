// Issue #16 point 7, the listen address: ferryd's workers share their addresses through SO_REUSEPORT, and nothing else
// may. A second ferryd of the same user, with its own storage root (so that the root's lock does not stop it first),
// configured on the first one's port refuses to start, naming the address, and the first keeps serving; a plain
// listener on the port, bound with or without SO_REUSEPORT, is refused the same way.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ListenAddressTakenTests: XCTestCase {
    /// Runs ferryd on `port` with its own storage root; it must exit 1 with the message naming the address.
    private func assertStartRefused(_ env: TestEnvironment, port: UInt16, name: String,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let root = env.directory.appendingPathComponent("\(name)-root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let config = env.directory.appendingPathComponent("\(name).toml")
        try Daemon.configText(port: port, pki: env.pki, root: root, workers: 2).write(to: config, atomically: true, encoding: .utf8)
        let run = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                      name: name, timeout: 15, file: file, line: line)
        XCTAssertEqual(run.status, 1, "\(name): \(run.termination)\n\(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.contains("server.listen: 127.0.0.1:\(port) is already in use (EADDRINUSE): another "
            + "process listens there"), "\(name):\n\(run.stderr)", file: file, line: line)
        XCTAssertFalse(run.stderr.contains("ferryd ready"), file: file, line: line)
        report("\(name): \(run.stderr.split(separator: "\n").last ?? "")")
    }

    func testASecondDaemonOnTheSamePortIsRefusedAndTheFirstKeepsServing() throws {
        let env = try TestEnvironment(self)
        let first = try Daemon.start(environment: env, workers: 2)
        try assertStartRefused(env, port: first.port, name: "second-ferryd")
        first.assertRunning("after the second daemon was refused")
        // Every connection still reaches the first daemon (none lands on a half-started second one).
        let source = try env.sourceDirectory("taken")
        for index in 0..<4 {
            let file = source.appendingPathComponent("after-\(index).bin")
            try Content.write(Content.random(4096), to: file)
            let outcome = try env.upload([file.path], to: first)
            XCTAssertEqual(outcome.status, 0, outcome.files.first?.error ?? outcome.run.stderr)
        }
        XCTAssertEqual(regularFiles(under: first.area("alice")).count, 4)
    }

    func testAPlainListenerOnThePortIsRefusedWithOrWithoutReusePort() throws {
        let env = try TestEnvironment(self)
        for reusePort in [false, true] {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd) }
            var on: Int32 = 1
            if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            XCTAssertEqual(bound, 0, "bind: errno \(errno)")
            XCTAssertEqual(listen(fd, 16), 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            try assertStartRefused(env, port: UInt16(bigEndian: address.sin_port),
                                   name: reusePort ? "beside-reuseport-listener" : "beside-plain-listener")
        }
    }
}
