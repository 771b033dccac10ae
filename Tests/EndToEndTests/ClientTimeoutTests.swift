// `ferry upload` gives a connection up instead of hanging (issue #15, point 2): a server that accepts and never
// answers fails the handshake timeout, a server that stops moving data mid-upload fails the progress timeout, each
// with a message that names the timeout and its option; the daemon, once it moves again, serves the next upload.
// `--retries 0` throughout: these tests are about the expiry itself, which is otherwise retried (RetryTests).
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ClientTimeoutTests: XCTestCase {
    /// A listening socket that never accepts: the kernel completes the TCP handshake, nothing ever answers the
    /// ClientHello.
    func testAServerThatNeverAnswersFailsTheHandshakeTimeout() throws {
        let env = try TestEnvironment(self)
        let (listener, port) = try Self.listen(backlog: 8)
        defer { close(listener) }
        let file = try env.sourceDirectory("silent").appendingPathComponent("f.txt")
        try Content.write(Array("x".utf8), to: file)
        let client = env.alice
        let started = monotonicSeconds()
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--handshake-timeout", "1", "--retries", "0", "--", file.path,
        ], outputDirectory: env.directory, name: "ferry-silent", timeout: 30)
        let elapsed = monotonicSeconds() - started
        XCTAssertFalse(run.timedOut, "ferry hung")
        XCTAssertEqual(run.status, 75, "EX_TEMPFAIL: \(run.stderr)")
        XCTAssertTrue(run.stdout.contains("did not complete the handshake within 1 s (--handshake-timeout)"), run.stdout)
        XCTAssertLessThan(elapsed, 10, "gave up after \(elapsed) s with a 1 s handshake timeout")
    }

    /// A listening socket whose accept queue is full (backlog 0, one connection waiting, never accepted): Linux drops
    /// further SYNs, so a connect neither succeeds nor fails. `ferry upload` and `ferry ls` each give the address up
    /// after --connect-timeout and say so, instead of waiting for the kernel's two minutes of SYN retries.
    func testAnAddressThatNeverAnswersTheSYNFailsTheConnectTimeout() throws {
        let env = try TestEnvironment(self)
        let (listener, port) = try Self.listen(backlog: 0)
        defer { close(listener) }
        let waiting = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(waiting) }
        XCTAssertTrue(Self.connect(waiting, port: port), "the queue's one connection: \(errno)")
        let file = try env.sourceDirectory("unanswered").appendingPathComponent("f.txt")
        try Content.write(Array("x".utf8), to: file)
        let client = env.alice
        let credentials = ["--server", "127.0.0.1:\(port)", "--ca", client.ca.path, "--cert", client.certificate.path,
                           "--key", client.key.path, "--connect-timeout", "1", "--retries", "0"]
        for (name, arguments) in [("upload", ["upload"] + credentials + ["--json", "--", file.path]),
                                  ("ls", ["ls"] + credentials + ["/"])] {
            let started = monotonicSeconds()
            let run = try runToCompletion(env.binaries.ferry, arguments, outputDirectory: env.directory,
                                          name: "ferry-\(name)-unanswered", timeout: 30)
            let elapsed = monotonicSeconds() - started
            XCTAssertFalse(run.timedOut, "ferry \(name) hung")
            XCTAssertNotEqual(run.status, 0, name)
            XCTAssertTrue((run.stdout + run.stderr).contains(
                "cannot connect to 127.0.0.1:\(port): timed out after 1 s (--connect-timeout)"), run.stdout + run.stderr)
            XCTAssertLessThan(elapsed, 10, "ferry \(name) gave up after \(elapsed) s with a 1 s connect timeout")
        }
    }

    /// A socket listening on 127.0.0.1 at a free port, never accepting.
    private static func listen(backlog: Int32) throws -> (descriptor: Int32, port: UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && Glibc.listen(listener, backlog) == 0
                    && getsockname(listener, $0, &length) == 0
            }
        }
        XCTAssertTrue(bound)
        return (listener, UInt16(bigEndian: address.sin_port))
    }

    private static func connect(_ descriptor: Int32, port: UInt16) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// The daemon stops (SIGSTOP) while a large file is being sent: nothing moves, and the client gives up after its
    /// progress timeout with that reason; nothing is stored; the daemon, continued, serves the next upload.
    func testAStalledUploadFailsTheProgressTimeout() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("stall")
        let big = source.appendingPathComponent("big.bin")
        try Content.writeLarge(size: 1 << 30, to: big)
        let client = try env.startUpload([big.path], to: daemon, extra: ["--timeout", "2", "--retries", "0"])
        defer { client.stop(grace: 1) }
        XCTAssertNotNil(daemon.waitForLog(timeout: 15) { $0.message == "upload started" }, daemon.log)
        daemon.child.signal(SIGSTOP)
        let started = monotonicSeconds()
        let gaveUp = client.wait(timeout: 20)
        let elapsed = monotonicSeconds() - started
        daemon.child.signal(SIGCONT)
        XCTAssertTrue(gaveUp, "ferry still running 20 s after the server stopped")
        XCTAssertTrue(client.stdout.contains("no data moved for 2 s (--timeout)"), client.stdout + client.stderr)
        XCTAssertLessThan(elapsed, 10)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").appendingPathComponent("big.bin").path))

        let small = source.appendingPathComponent("small.txt")
        try Content.write(Array("after".utf8), to: small)
        let next = try env.upload([small.path], to: daemon)
        XCTAssertEqual(next.status, 0, "\(next.files.first?.error ?? next.run.stderr)")
        daemon.assertRunning("after a client gave up on it")
    }
}
