// Resume (PROTOCOL.md §8.3): a server that already holds a file's first `offset` bytes answers Open with
// Accepted(offset); `ferry upload` must then send Data only for [offset, size) and still close with the SHA-256 of the
// whole file. ferryd always accepts at 0, so RawServer plays the resuming server; the client is the real `ferry`.
// Before ffba46a the client hashed only what it sent, so Close carried the digest of [offset, size).
import Foundation
import Protocol
import TestSupport
import XCTest

final class ResumeOffsetTests: XCTestCase {
    /// Three 1 MiB read blocks of the client and a partial fourth.
    static let size = 3 << 20 + 1234

    func testResumeMidFileSendsOnlyTheRestAndClosesWithTheWholeDigest() throws {
        // Aligned neither to the client's 1 MiB read blocks nor to Data chunks.
        try assertResumedUpload(offset: 1 << 20 + 777)
    }

    func testOffsetZeroSendsTheWholeFile() throws {
        try assertResumedUpload(offset: 0)
    }

    func testOffsetAtTheEndSendsNoDataButStillTheWholeDigest() throws {
        try assertResumedUpload(offset: Self.size)
    }

    /// A server that commits but reports another digest in its receipt: the client must not print that digest as the
    /// file's, and must fail the file.
    func testAReceiptWithAnotherDigestFailsTheFile() throws {
        let env = try TestEnvironment(self)
        let bytes = Content.random(100_000)
        let source = try env.sourceDirectory("receipt").appendingPathComponent("receipt.bin")
        try Content.write(bytes, to: source)
        let wrong = [UInt8](repeating: 0xAB, count: 32)
        let server = try RawServer(pki: env.pki, holding: [], receipt: wrong)
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--", source.path,
        ], outputDirectory: env.directory, name: "ferry-upload", timeout: 30)
        _ = try server.finish()
        XCTAssertEqual(run.status, 1, "ferry accepted a receipt with another digest: \(run.stdout)")
        let json = try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        let entry = (json?["files"] as? [[String: Any]])?.first
        XCTAssertEqual(entry?["ok"] as? Bool, false)
        XCTAssertTrue((entry?["error"] as? String ?? "").contains("the server committed the file with SHA-256 abab"),
                      "\(entry ?? [:])")
        XCTAssertNotEqual(entry?["sha256"] as? String, String(repeating: "ab", count: 32), "the server's digest shown as the file's")
    }

    /// Uploads a random file of `size` bytes with `ferry upload` to a RawServer holding its first `offset` bytes.
    private func assertResumedUpload(offset: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let env = try TestEnvironment(self, file: file, line: line)
        let bytes = Content.random(Self.size)
        let source = try env.sourceDirectory("resume").appendingPathComponent("resume.bin")
        try Content.write(bytes, to: source)
        let whole = DigestContext.hash(.sha256, bytes)

        let server = try RawServer(pki: env.pki, holding: Array(bytes[..<offset]))
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--", source.path,
        ], outputDirectory: env.directory, name: "ferry-upload", timeout: 30, file: file, line: line)
        let seen = try server.finish()
        let outcome = TestEnvironment.UploadOutcome(
            run: run, json: try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any])
        report("offset \(offset): ferry \(run.termination), \(seen.data.count) Data bytes, "
            + "Close digest \(hex(seen.closeDigest ?? []))")

        XCTAssertEqual(outcome.status, 0, "ferry upload: \(run.termination)\n\(run.stdout)\n\(run.stderr)", file: file, line: line)
        XCTAssertEqual(seen.problems, [], file: file, line: line)
        XCTAssertEqual(seen.request?.path, "resume.bin", file: file, line: line)
        XCTAssertEqual(seen.request?.size, UInt64(Self.size), file: file, line: line)

        // Data: exactly the bytes the server did not hold, in order.
        let expected = bytes[offset...]
        XCTAssertEqual(seen.data.count, expected.count, "Data bytes received (size \(Self.size) - offset \(offset))",
                       file: file, line: line)
        if seen.data.count == expected.count, !seen.data.elementsEqual(expected) {  // described, never dumped
            let at = seen.data.indices.first { seen.data[$0] != expected[offset + $0] } ?? 0
            XCTFail("Data differs from the file's bytes [\(offset), \(Self.size)) at file offset \(offset + at)",
                    file: file, line: line)
        }

        // Close: the digest of the whole file, whatever part of it was sent.
        let closeDigest = seen.closeDigest.map { hex($0) } ?? "none"
        var why = "Close must carry the SHA-256 of the whole file (§8.3)"
        if closeDigest == hex(DigestContext.hash(.sha256, Array(expected))) {
            why += ", not of the sent part [\(offset), \(Self.size)) only"
        }
        XCTAssertEqual(closeDigest, hex(whole), why, file: file, line: line)
        XCTAssertEqual(seen.committed, true, "the server's own hash (held prefix + Data) differed from Close's",
                       file: file, line: line)
        XCTAssertTrue(seen.saidGoodbye, "the client ended the session without Goodbye", file: file, line: line)

        // What the client reports: the file done, with the receipt's digest (the whole file's).
        XCTAssertEqual(outcome.ok, true, file: file, line: line)
        let entry = outcome.file(source.path)
        XCTAssertEqual(entry?.ok, true, entry?.error ?? "no entry for \(source.path)", file: file, line: line)
        XCTAssertEqual(entry?.stored, "resume.bin", file: file, line: line)
        XCTAssertEqual(entry?.sha256, hex(whole), file: file, line: line)
    }
}
