// Beyond the brief's list: the [limits] and [storage] settings a client can run into.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class LimitsTests: XCTestCase {
    /// limits.max_file_size: exactly the limit is fine, one byte more is refused before any data is sent.
    func testMaxFileSizeIsEnforcedAtTheByte() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["max_file_size = \"1MiB\""]])
        let source = try env.sourceDirectory("limit")
        let fits = source.appendingPathComponent("fits.bin")
        let over = source.appendingPathComponent("over.bin")
        let fitsBytes = Content.random(1 << 20)
        try Content.write(fitsBytes, to: fits)
        try Content.write(Content.random((1 << 20) + 1), to: over)

        let outcome = try env.upload([fits.path, over.path], to: daemon)
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.file(fits.path)?.ok, true, "\(outcome.file(fits.path)?.error ?? "")")
        let error = outcome.file(over.path)?.error ?? ""
        XCTAssertTrue(error.contains("1048577 bytes exceeds the server's limit of 1048576"), error)
        assertStored(daemon.area("alice").appendingPathComponent("fits.bin"), equals: fitsBytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").appendingPathComponent("over.bin").path))
        XCTAssertEqual(daemon.logLines(message: "upload refused").map { $0["code"] ?? "" }, ["too_large"])
        XCTAssertEqual(daemon.stagingEntries(), [])
        daemon.assertRunning("after refusing a file over max_file_size")
    }

    /// storage.allow_overwrite = true: --overwrite replaces the file (rename over it); without --overwrite the existing
    /// file still wins.
    func testOverwriteReplacesOnlyWhenAllowedAndAsked() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["allow_overwrite = true"]])
        let source = try env.sourceDirectory("overwrite")
        let file = source.appendingPathComponent("doc.bin")
        let stored = daemon.area("alice").appendingPathComponent("doc.bin")
        let first = Content.random(80_000)
        try Content.write(first, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)

        let second = Content.random(50_000)
        try Content.write(second, to: file)
        let plain = try env.upload([file.path], to: daemon)
        XCTAssertEqual(plain.status, 1, "replaced without --overwrite")
        XCTAssertTrue((plain.files.first?.error ?? "").contains("already exists"))
        assertStored(stored, equals: first)

        let replaced = try env.upload([file.path], to: daemon, extra: ["--overwrite"])
        XCTAssertEqual(replaced.status, 0, "\(replaced.files.first?.error ?? replaced.run.stderr)")
        assertStored(stored, equals: second, "--overwrite did not replace the file")
        XCTAssertEqual(daemon.stagingEntries(), [])
        XCTAssertEqual(regularFiles(under: daemon.area("alice")), ["doc.bin"])
        daemon.assertRunning("after the overwrite")
    }

    /// limits.handshake_timeout: a connection that never says hello is closed, and does not stop others.
    func testASilentConnectionIsClosedAfterTheHandshakeTimeout() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["handshake_timeout = 1"]])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = inetAddress("127.0.0.1", port: daemon.port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0, "connect: errno \(errno)")
        let openedAt = monotonicSeconds()

        // Meanwhile a real client is served.
        let source = try env.sourceDirectory("timeout")
        let file = source.appendingPathComponent("meanwhile.txt")
        try Content.write(Array("meanwhile".utf8), to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)

        // The silent connection sees end-of-file (or a reset) within a few seconds; the daemon logs why.
        var closed = false
        while monotonicSeconds() - openedAt < 6 {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 500) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { closed = true; break }
        }
        let after = monotonicSeconds() - openedAt
        XCTAssertTrue(closed, "the silent connection was still open after \(after) s (handshake_timeout = 1)")
        XCTAssertGreaterThanOrEqual(after, 0.9, "closed before the timeout")
        XCTAssertEqual(daemon.logLines(message: "handshake timeout").count, 1, daemon.log)
        daemon.assertRunning("after the handshake timeout")
    }

    /// limits.idle_timeout: a session that stops sending in the middle of an upload is closed, and the partial file of
    /// that upload is kept for resume with what was received (and nothing stored under its name).
    func testAStalledUploadIsClosedAfterTheIdleTimeoutAndItsPartialFileKept() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["idle_timeout = 1"]])
        let client = try RawClient(port: daemon.port, client: env.alice)
        _ = try client.handshake()
        guard case .uploadAccepted = try client.open("stalled/half.bin", size: 2 << 20) else { return XCTFail("not accepted") }
        try client.sendData(Content.random(1 << 20))
        let sentAt = monotonicSeconds()
        XCTAssertTrue(waitUntil(timeout: 5) { !daemon.stagingEntries().isEmpty }, "no partial file appeared")

        var closed = false
        do {
            closed = try client.nextEvent(timeout: 6) == .peerClosed
        } catch {
            closed = client.closedByServer
        }
        XCTAssertTrue(closed, "the stalled session was not closed")
        report("stalled session ended by: \(client.alertFromServer.map { "alert \($0.alert.name) (\($0.detail))" } ?? "close")")
        XCTAssertGreaterThanOrEqual(monotonicSeconds() - sentAt, 0.9, "closed before idle_timeout")
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "idle timeout" }, daemon.log)
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "upload interrupted; kept for resume" && $0["received"] == "\(1 << 20)" },
                        "the stalled upload was not kept with what it received:\n\(daemon.log.suffix(1500))")
        XCTAssertTrue(waitUntil(timeout: 5) { daemon.stagingEntries().contains { $0.hasSuffix(".resume") } },
                      "no record of the stalled upload's partial: \(daemon.stagingEntries())")
        XCTAssertEqual(daemon.filesUnderRoot().filter { !$0.hasPrefix(daemon.staging) }, [], "a file stored under its name")
        daemon.assertRunning("after the idle timeout")
    }

    /// limits.max_sessions = 1: a second connection is refused while one is open, and every way a session can end
    /// (normal goodbye, refused certificate, handshake timeout, client killed) gives its slot back.
    func testSessionSlotsAreEnforcedAndGivenBack() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2,
                                      settings: ["limits": ["max_sessions = 1", "handshake_timeout = 1"]])
        let source = try env.sourceDirectory("slots")
        var uploads = 0
        func uploadWorks(_ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
            uploads += 1
            let url = source.appendingPathComponent("slot-\(uploads).txt")
            try Content.write(Array("slot \(uploads)".utf8), to: url)
            let outcome = try env.upload([url.path], to: daemon)
            XCTAssertEqual(outcome.status, 0, "\(why): \(outcome.files.first?.error ?? outcome.run.stderr)", file: file, line: line)
        }
        try uploadWorks("first upload")
        try uploadWorks("second upload after a normal goodbye")

        // While a session holds the only slot, another connection is turned away.
        do {
            let holder = try RawClient(port: daemon.port, client: env.alice)
            _ = try holder.handshake()
            let url = source.appendingPathComponent("turned-away.txt")
            try Content.write(Array("no room".utf8), to: url)
            // --retries 0: the refusal itself (RetryTests covers the client waiting for the slot).
            let refused = try env.upload([url.path], to: daemon, extra: ["--retries", "0"])
            XCTAssertNotEqual(refused.status, 0, "an upload got through while max_sessions = 1 was taken")
            let why = refused.files.first?.error ?? ""
            XCTAssertTrue(why.contains("too many sessions"), "the turned-away client is not told why: \(why)")
            XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "session limit reached: connection refused" })
            try holder.goodbye()
        }
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "client said goodbye" && $0["session"] != nil })
        // The holder's slot comes back once its connection is closed (asynchronously): allow a moment.
        XCTAssertTrue(waitUntil(timeout: 5) { daemon.logLines(message: "client said goodbye").count >= 3 })
        usleep(200_000)
        try uploadWorks("after the holder left")

        // A refused certificate.
        let other = env.directory.appendingPathComponent("other-ca")
        try env.makeCA(other.appendingPathComponent("ca").path)
        try env.ferryCA(["issue", "--dir", other.appendingPathComponent("ca").path, "--name", "eve", "--client",
                         "--out", other.appendingPathComponent("certs").path])
        let eve = ClientCredentials(certificate: other.appendingPathComponent("certs/eve.crt"),
                                    key: other.appendingPathComponent("certs/eve.key"), ca: env.pki.caCertificate)
        let url = source.appendingPathComponent("eve.txt")
        try Content.write(Array("eve".utf8), to: url)
        XCTAssertNotEqual(try env.upload([url.path], to: daemon, as: eve).status, 0)
        usleep(200_000)
        try uploadWorks("after a refused certificate")

        // A connection that never says hello (closed by the handshake timeout).
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = inetAddress("127.0.0.1", port: daemon.port)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "handshake timeout" }, "no handshake timeout")
        close(silent)
        usleep(200_000)
        try uploadWorks("after a handshake timeout")

        // A client killed mid-upload.
        let big = source.appendingPathComponent("big.bin")
        try Content.writeLarge(size: 256 << 20, to: big)
        let victim = try env.startUpload([big.path], to: daemon)
        defer { victim.stop(grace: 1) }
        // Killed once data reached the .part: a partial with nothing written is not worth keeping (UploadJobs.keep).
        XCTAssertTrue(waitUntil(timeout: 15) {
            daemon.stagingEntries().contains { $0.hasSuffix(".part") && (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) > 0 }
        }, "the upload to kill never started")
        victim.signal(SIGKILL)
        XCTAssertTrue(victim.wait(timeout: 5))
        XCTAssertTrue(waitUntil(timeout: 5) { daemon.stagingEntries().contains { $0.hasSuffix(".resume") } },
                      "the killed client's partial was not kept: \(daemon.stagingEntries())")
        usleep(200_000)
        try uploadWorks("after a client was killed")
        daemon.assertRunning("after all the sessions")
    }
}
