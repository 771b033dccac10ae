// #16 point 4 with real processes: a flood of 5,000 connections, each sending a real ClientHello, from one source
// (127.0.0.2, a loopback address of its own) is held to that source's limits while a client from 127.0.0.1 uploads;
// the refusals are counted and logged at most once per period. The legitimate upload's speed beside the flood is
// reported, not asserted (timings are for scripts/bench, not tests): docs/SECURITY.md has the measured ratio.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SourceFloodTests: XCTestCase {
    /// Opens `count` connections from `source` to the daemon, each sending `hello`, keeping at most `open` at a time
    /// (the oldest closed first). Returns how many connected.
    private static func flood(port: UInt16, source: String, count: Int, open: Int, hello: [UInt8],
                              stop: @escaping () -> Bool) -> Int {
        var live: [Int32] = []
        var connected = 0
        for _ in 0..<count where !stop() {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var local = inetAddress(source)
            var remote = inetAddress("127.0.0.1", port: port)
            let ok = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0 && withUnsafePointer(to: &remote) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
            guard ok else {
                close(fd)
                continue
            }
            connected += 1
            _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            live.append(fd)
            if live.count > open { close(live.removeFirst()) }
        }
        for fd in live { close(fd) }
        return connected
    }

    func testAFloodFromOneSourceIsHeldToItsLimitsWhileAnotherUploads() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let file = try env.sourceDirectory("flood").appendingPathComponent("legit.bin")
        try Content.writeLarge(size: 64 << 20, to: file)

        let undisturbed = try env.upload([file.path], to: daemon, dest: "quiet")
        XCTAssertEqual(undisturbed.status, 0, undisturbed.run.stderr)

        let identity = try Identity(chainPEM: [UInt8](Data(contentsOf: env.alice.certificate)),
                                    keyPEM: [UInt8](Data(contentsOf: env.alice.key)))
        var hello = try ClientConnection(configuration: ClientConfiguration(
            identity: identity, serverTrust: TrustStore(pemBundle: [UInt8](Data(contentsOf: env.alice.ca))), serverName: "127.0.0.1"))
        let helloBytes = hello.takeOutput()
        final class Flag: @unchecked Sendable { var done = false; var connected = 0 }
        let flag = Flag()
        let finished = DispatchSemaphore(value: 0)
        let port = daemon.port
        Thread.detachNewThread {
            flag.connected = Self.flood(port: port, source: "127.0.0.2", count: 5000, open: 200, hello: helloBytes,
                                        stop: { flag.done })
            finished.signal()
        }
        let disturbed = try env.upload([file.path], to: daemon, dest: "flooded")
        finished.wait()
        flag.done = true
        XCTAssertEqual(disturbed.status, 0, disturbed.run.stderr)
        XCTAssertGreaterThan(flag.connected, 1000, "the flood did not get going")

        let refusals = daemon.logLines().filter { $0.message?.hasPrefix("connection refused: too many") ?? false }
        XCTAssertFalse(refusals.isEmpty, "no refusal logged:\n\(daemon.log.suffix(2000))")
        XCTAssertLessThan(refusals.count, 20, "refusals are logged at most once per 10 s per reason")
        XCTAssertTrue(refusals.allSatisfy { ($0["peer"] ?? "").hasPrefix("127.0.0.2:") })
        let established = daemon.logLines(message: "session established").filter { ($0["peer"] ?? "").hasPrefix("127.0.0.2:") }
        XCTAssertEqual(established.count, 0, "the flood's hellos never get a session: they send no certificate")
        report("flood of \(flag.connected) connections from 127.0.0.2: legit 64 MiB upload \(undisturbed.files.first?.seconds ?? 0) s "
               + "undisturbed, \(disturbed.files.first?.seconds ?? 0) s beside it; \(refusals.count) refusal lines logged")
        daemon.assertRunning("after the flood")
    }
}
