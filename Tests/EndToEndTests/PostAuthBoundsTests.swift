// #16 point 5 with real processes: what an authenticated client can cost. The idle timeout counts progress, not
// traffic (zero-length Data and stale RotateRequests hold nothing open); a client that never reads its answers is
// stopped being read, so the daemon's memory stays flat and comes back when it leaves; refused requests are logged at
// most once per period with a count.
import Foundation
@testable import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class PostAuthBoundsTests: XCTestCase {
    func testTrafficWithoutProgressDoesNotHoldASessionOpen() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["idle_timeout = 2"]])
        let client = try RawClient(port: daemon.port, client: env.alice)
        _ = try client.handshake()
        guard case .uploadAccepted = try client.open("held.bin", size: 1 << 20) else { return XCTFail("not accepted") }
        let started = monotonicSeconds()
        // Keep-alive traffic that moves nothing: empty Data and RotateRequests for an epoch long gone.
        while !client.closedByServer, monotonicSeconds() - started < 8 {
            client.inject(.data, [])
            client.inject(.rotateRequest, [0, 0, 0, 0])
            _ = try? client.nextEvent(timeout: 0.4)
        }
        XCTAssertTrue(client.closedByServer, "the session was held open for 8 s by traffic alone")
        XCTAssertEqual(client.alertFromServer?.alert, .closedByPeer)
        XCTAssertLessThan(monotonicSeconds() - started, 5, "closed by the 2 s idle timeout")
        XCTAssertNotNil(daemon.logLines(message: "idle timeout").first)
    }

    func testAClientThatDoesNotReadItsAnswersIsNotReadEither() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let before = try daemon.memory()
        var client: RawClient? = try RawClient(port: daemon.port, client: env.alice)
        _ = try client?.handshake()
        client?.setSendTimeout(seconds: 2)
        // Opens of a path the server refuses at once, each answered with an UploadError the client never reads.
        let open = RawClient.openBody(UploadRequest(path: "../escape", size: 1))
        var sent = 0
        while sent < 300_000 {
            for _ in 0..<500 { client?.inject(.open, open, send: false) }
            guard (try? client?.flush()) != nil else { break }  // blocked: the server stopped reading
            sent += 500
        }
        XCTAssertLessThan(sent, 300_000, "the server kept reading a client that reads nothing")
        let during = try daemon.memory()
        let refusedLines = daemon.logLines(message: "upload refused").count
        client = nil  // closes the socket: the session ends and its buffers go
        XCTAssertNotNil(daemon.waitForLog(timeout: 10) { $0.message == "session closed" }, "the session did not end")
        let after = try daemon.memory()
        report("slow reader: \(sent) Opens sent before the server stopped reading; RSS (anonymous) \(before.rssKiB) "
               + "(\(before.anonKiB)) KiB before, \(during.rssKiB) (\(during.anonKiB)) KiB during, \(after.rssKiB) "
               + "(\(after.anonKiB)) KiB after it left; \(refusedLines) 'upload refused' lines")
        XCTAssertLessThan(during.rssKiB - before.rssKiB, 64 << 10, "the daemon grew by more than 64 MiB for one client")
        XCTAssertLessThan(after.anonKiB - before.anonKiB, 8 << 10, "the daemon kept more than 8 MiB after the client left")
        XCTAssertLessThanOrEqual(refusedLines, 3, "refusals are logged at most once per 10 s")
        daemon.assertRunning("beside the slow reader")
    }
}
