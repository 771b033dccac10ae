// Never store a file the user did not have (issue #15, point 6): a source file truncated, appended to, or overwritten
// in place while `ferry upload` sends it fails with "changed while it was being uploaded", the client sends Abort
// instead of Close, and nothing is stored under the final name. Before the check, an append stored only the first
// part and an overwrite a mix of both versions, each reported as a success with the digest of what was sent.
//
// "While it is sent" is made certain, not raced: once the server has the first 16 MiB, ferryd is stopped (SIGSTOP),
// so the client, held by the socket's back-pressure, has read only a few MiB more; the file is changed then, and
// ferryd continued.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class SourceChangedTests: XCTestCase {
    static let size: UInt64 = 256 << 20

    func testAFileTruncatedDuringItsUploadFails() throws {
        try assertChangeFails("truncated") { url in
            XCTAssertEqual(truncate(url.path, off_t(Self.size / 2)), 0, "truncate: errno \(errno)")
        }
    }

    func testAFileAppendedToDuringItsUploadFails() throws {
        try assertChangeFails("appended") { url in
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(Content.random(1 << 20)))
        }
    }

    /// Same size, other bytes: at the start (already sent) and at the end (not yet read), as an editor saving in place
    /// or a program rewriting its output would.
    func testAFileOverwrittenInPlaceDuringItsUploadFails() throws {
        try assertChangeFails("overwritten") { url in
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            let patch = Data(Content.random(1 << 20))
            try handle.seek(toOffset: 0)
            try handle.write(contentsOf: patch)
            try handle.seek(toOffset: Self.size - UInt64(patch.count))
            try handle.write(contentsOf: patch)
            XCTAssertEqual(Content.size(of: url), Self.size, "the overwrite changed the size")
        }
    }

    private func assertChangeFails(_ label: String, file: StaticString = #filePath, line: UInt = #line,
                                   change: (URL) throws -> Void) throws {
        let env = try TestEnvironment(self, file: file, line: line)
        guard env.freeBytes() > 3 * Self.size else { throw XCTSkip("needs about 800 MiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1, file: file, line: line)
        let source = try env.sourceDirectory(label).appendingPathComponent("\(label).bin")
        try Content.writeLarge(size: Self.size, to: source)

        let client = try env.startUpload([source.path], to: daemon)
        defer { client.stop(grace: 1) }
        let flowing = waitUntil(timeout: 20) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 16 << 20 }
        }
        XCTAssertTrue(flowing, "the upload never got going: \(client.stderr)", file: file, line: line)
        daemon.child.signal(SIGSTOP)
        defer { daemon.child.signal(SIGCONT) }
        XCTAssertTrue(client.isRunning, "ferry finished before the file could be changed: \(client.stdout)", file: file, line: line)
        try change(source)
        daemon.child.signal(SIGCONT)

        XCTAssertTrue(client.wait(timeout: 60), "ferry still running 60 s after the change", file: file, line: line)
        XCTAssertEqual(client.exitStatus, 1, "\(label): \(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)",
                       file: file, line: line)
        let json = try? JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        let entry = TestEnvironment.FileEntry((json?["files"] as? [[String: Any]])?.first ?? [:])
        XCTAssertFalse(entry.ok, "\(label): reported as stored: \(client.stdout)", file: file, line: line)
        XCTAssertNil(entry.sha256, "\(label): a digest printed for a file that changed", file: file, line: line)
        let error = entry.error ?? ""
        XCTAssertTrue(error.contains("\(source.path) changed while it was being uploaded"), "\(label): \(error)",
                      file: file, line: line)
        report("\(label): \(error)")

        // Nothing committed: no file under the final name, and the server says the upload was aborted.
        XCTAssertNotNil(daemon.waitForLog(timeout: 10) { $0.message == "upload aborted by the client" },
                        "\(label): the client sent no Abort:\n\(daemon.log)", file: file, line: line)
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, 0, daemon.log, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").appendingPathComponent("\(label).bin").path),
                       "\(label): a file was stored under the final name", file: file, line: line)
        daemon.assertRunning("after the changed upload", file: file, line: line)
    }
}
