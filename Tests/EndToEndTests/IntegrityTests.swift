// 6. Integrity: a Close whose digest does not match the data is refused (in-process protocol client, since `ferry`
// always sends the right one) and the session goes on; an existing file is never replaced.
import Foundation
import Protocol
import TestSupport
import XCTest

final class IntegrityTests: XCTestCase {
    func testADigestMismatchIsRefusedAndTheSessionCanUploadAgain() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let client = try RawClient(port: daemon.port, client: env.alice)
        let parameters = try client.handshake()
        XCTAssertEqual(parameters.peerIdentity, "server")

        // 300 000 bytes (four full Data records and a partial one), then a Close with a wrong SHA-256.
        let bytes = Content.random(300_000)
        var wrong = DigestContext.hash(.sha256, bytes)
        wrong[0] ^= 0x01
        guard case .uploadAccepted(let offset) = try client.open("integrity/mismatch.bin", size: UInt64(bytes.count)) else {
            return XCTFail("the upload was not accepted")
        }
        XCTAssertEqual(offset, 0)
        try client.sendData(bytes)
        let answer = try client.finish(digest: wrong)
        guard case .uploadFailed(let failure) = answer else { return XCTFail("expected uploadFailed, got \(answer)") }
        XCTAssertEqual(failure.code, .digestMismatch, failure.message)
        XCTAssertTrue(failure.message.contains("SHA-256 mismatch"), failure.message)
        report("digest mismatch answered with: \(failure.code) \(failure.message)")

        let final = daemon.area("alice").appendingPathComponent("integrity/mismatch.bin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: final.path), "a file with the wrong digest was stored")
        XCTAssertTrue(waitUntil(timeout: 3) { daemon.stagingEntries().isEmpty },
                      "partial file left in staging: \(daemon.stagingEntries())")
        XCTAssertEqual(daemon.logLines(message: "upload failed").count, 1)

        // The same session goes on: a good upload of another file, then the same name with the right digest.
        XCTAssertTrue(client.canStartUpload)
        let next = Content.random(65_537)
        let committed = try client.upload("integrity/next.bin", next)
        guard case .uploadCommitted(let receipt) = committed else { return XCTFail("expected uploadCommitted, got \(committed)") }
        XCTAssertEqual(receipt.storedName, "integrity/next.bin")
        XCTAssertEqual(receipt.size, UInt64(next.count))
        XCTAssertEqual(receipt.digest, DigestContext.hash(.sha256, next))
        assertStored(daemon.area("alice").appendingPathComponent("integrity/next.bin"), equals: next)
        let retry = try client.upload("integrity/mismatch.bin", bytes)
        guard case .uploadCommitted = retry else { return XCTFail("the corrected upload failed: \(retry)") }
        assertStored(final, equals: bytes)

        // A name refused by the daemon (a 256-byte component) in the same session, then one more good upload.
        let refused = try client.open(String(repeating: "x", count: 256), size: 1)
        guard case .uploadFailed(let badName) = refused else { return XCTFail("expected a refusal, got \(refused)") }
        XCTAssertEqual(badName.code, .badPath)
        XCTAssertTrue(badName.message.contains("256 bytes"), badName.message)
        guard case .uploadCommitted = try client.upload("integrity/last.bin", [42]) else { return XCTFail("last upload") }

        try client.goodbye()
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "client said goodbye" })
        XCTAssertEqual(daemon.stagingEntries(), [])
        XCTAssertEqual(regularFiles(under: daemon.area("alice")),
                       ["integrity/last.bin", "integrity/mismatch.bin", "integrity/next.bin"])
        daemon.assertRunning("after the digest mismatch session")
    }

    func testAnExistingFileIsNotOverwritten() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("dup")
        let file = source.appendingPathComponent("dup.bin")
        let first = Content.random(100_000)
        try Content.write(first, to: file)
        let stored = daemon.area("alice").appendingPathComponent("dup.bin")

        let one = try env.upload([file.path], to: daemon)
        XCTAssertEqual(one.status, 0, "\(one.run.stderr)")
        XCTAssertEqual(one.ok, true)
        assertStored(stored, equals: first)

        // The same name again, with different content: refused as `exists`, the first content stays.
        try Content.write(Content.random(100_000), to: file)
        let two = try env.upload([file.path], to: daemon)
        XCTAssertEqual(two.status, 1, "second upload of the same name: \(two.run.termination)")
        XCTAssertEqual(two.ok, false)
        let error = two.files.first?.error ?? ""
        XCTAssertTrue(error.contains("already exists"), "JSON error: \(error)")
        XCTAssertEqual(daemon.logLines(message: "upload refused").last?["code"], "exists")
        assertStored(stored, equals: first, "the first content was replaced")

        // Asking to overwrite does not help on a server with allow_overwrite = false (the default).
        let three = try env.upload([file.path], to: daemon, extra: ["--overwrite"])
        XCTAssertEqual(three.status, 1)
        XCTAssertTrue((three.files.first?.error ?? "").contains("does not allow overwriting"), "\(three.files.first?.error ?? "")")
        XCTAssertEqual(daemon.logLines(message: "upload refused").last?["code"], "exists")
        assertStored(stored, equals: first, "the first content was replaced")
        XCTAssertEqual(daemon.stagingEntries(), [])
        XCTAssertEqual(regularFiles(under: daemon.area("alice")), ["dup.bin"])
        daemon.assertRunning("after the refused overwrites")
    }

    /// Two sessions upload the same new name at the same time: the second is refused with `busy` while the first is
    /// written (one writer per partial file: PROTOCOL.md §8.3), its session goes on, and once the first committed the
    /// name is taken (`exists`): the file is stored once, with the first content.
    func testTwoConcurrentUploadsOfTheSameNameCommitOnlyOnce() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let first = try RawClient(port: daemon.port, client: env.alice)
        let second = try RawClient(port: daemon.port, client: env.alice)
        _ = try first.handshake()
        _ = try second.handshake()
        let a = Content.random(200_000)
        let b = Content.random(150_000)
        guard case .uploadAccepted = try first.open("race/same.bin", size: UInt64(a.count)) else { return XCTFail("A not accepted") }
        guard case .uploadFailed(let busy) = try second.open("race/same.bin", size: UInt64(b.count)) else {
            return XCTFail("B accepted while A writes the same file")
        }
        XCTAssertEqual(busy.code, .busy, busy.message)
        try first.sendData(a)
        let winner = try first.finish(digest: DigestContext.hash(.sha256, a))
        guard case .uploadCommitted = winner else { return XCTFail("the first commit failed: \(winner)") }
        guard case .uploadFailed(let taken) = try second.open("race/same.bin", size: UInt64(b.count)) else {
            return XCTFail("the second upload was accepted over the stored file")
        }
        XCTAssertEqual(taken.code, .exists, taken.message)
        assertStored(daemon.area("alice").appendingPathComponent("race/same.bin"), equals: a)
        XCTAssertTrue(waitUntil(timeout: 3) { daemon.stagingEntries().isEmpty }, "\(daemon.stagingEntries())")
        // The loser's session goes on.
        guard case .uploadCommitted = try second.upload("race/other.bin", b) else { return XCTFail("the loser's next upload") }
        try first.goodbye()
        try second.goodbye()
        XCTAssertEqual(regularFiles(under: daemon.area("alice")), ["race/other.bin", "race/same.bin"])
        daemon.assertRunning("after the race")
    }
}
