// One bad path is that entry's failure alone (issue #15, point 7): a missing path on the command line, a broken link
// and a FIFO in a directory each fail with their reason while the other files are stored, the exit status is 1 (not
// a usage error), and the JSON lists every entry. An empty directory is reported as skipped and fails nothing.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class UploadEntriesTests: XCTestCase {
    func testAMissingPathFailsAloneAndTheOtherFilesAreStored() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("entries")
        let first = source.appendingPathComponent("first.txt")
        let firstBytes = Content.random(2000)
        try Content.write(firstBytes, to: first)
        let tree = source.appendingPathComponent("tree", isDirectory: true)
        let inner = Content.random(70_000)
        try Content.write(inner, to: tree.appendingPathComponent("inner.bin"))
        try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("broken").path,
                                                   withDestinationPath: "nowhere")
        XCTAssertEqual(mkfifo(tree.appendingPathComponent("fifo").path, 0o600), 0)
        let missing = source.appendingPathComponent("missing.txt").path

        let outcome = try env.upload([first.path, missing, tree.path], to: daemon)
        XCTAssertEqual(outcome.status, 1, "some files failed: \(outcome.run.termination)\n\(outcome.run.stderr)")
        XCTAssertFalse(outcome.run.stderr.contains("Usage:"), "a missing path printed as a usage error:\n\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, false)
        let expected: [(path: String, error: String)] = [
            (missing, "cannot read \(missing): no such file or directory"),
            (tree.appendingPathComponent("broken").path, "cannot read \(tree.path)/broken: a broken symbolic link"),
            (tree.appendingPathComponent("fifo").path, "cannot read \(tree.path)/fifo: a FIFO, not a regular file"),
        ]
        for (path, error) in expected {
            let entry = outcome.file(path)
            XCTAssertNotNil(entry, "\(path) is not in the JSON: \(outcome.run.stdout)")
            XCTAssertEqual(entry?.ok, false)
            XCTAssertEqual(entry?.error, error)
            XCTAssertEqual(entry?.raw["status"] as? String, "failed")
            XCTAssertTrue(outcome.run.stderr.contains(error), "stderr lacks '\(error)':\n\(outcome.run.stderr)")
        }
        XCTAssertEqual(outcome.files.count, 5, outcome.run.stdout)
        XCTAssertEqual(outcome.file(first.path)?.raw["status"] as? String, "stored")
        assertStored(daemon.area("alice").appendingPathComponent("first.txt"), equals: firstBytes)
        assertStored(daemon.area("alice").appendingPathComponent("tree/inner.bin"), equals: inner)
        XCTAssertEqual(daemon.filesUnderRoot(), ["alice/first.txt", "alice/tree/inner.bin"])
    }

    func testAnEmptyDirectoryIsReportedSkippedAndTheRunSucceeds() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("holes")
        let file = source.appendingPathComponent("file.txt")
        try Content.write(Array("kept".utf8), to: file)
        let empty = source.appendingPathComponent("empty", isDirectory: true)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)

        let outcome = try env.upload([file.path, empty.path], to: daemon)
        XCTAssertEqual(outcome.status, 0, "\(outcome.run.termination)\n\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, true)
        let entry = outcome.file(empty.path)
        XCTAssertEqual(entry?.raw["status"] as? String, "skipped", outcome.run.stdout)
        XCTAssertEqual(entry?.raw["skipped"] as? String, "empty directory")
        XCTAssertEqual(entry?.ok, true)
        XCTAssertNil(entry?.error)
        XCTAssertTrue(outcome.run.stderr.contains("skipped \(empty.path): empty directory"), outcome.run.stderr)
        assertStored(daemon.area("alice").appendingPathComponent("file.txt"), equals: Array("kept".utf8))

        // The human summary says it too.
        let second = source.appendingPathComponent("second.txt")
        try Content.write(Array("also".utf8), to: second)
        let client = env.alice
        let human = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", daemon.address, "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--", second.path, empty.path,
        ], outputDirectory: env.directory, name: "ferry-human", timeout: 60)
        XCTAssertEqual(human.status, 0, "\(human.termination)\n\(human.stdout)\n\(human.stderr)")
        XCTAssertTrue(human.stdout.contains("skipped \(empty.path): empty directory"), human.stdout)
        XCTAssertTrue(human.stdout.contains("1 of 1 files"), human.stdout)
    }

    /// Nothing but empty directories: nothing to send, nothing failed — exit 0 without reaching for the server (here
    /// a port where nothing listens).
    func testOnlyEmptyDirectoriesSucceedWithoutAServer() throws {
        let env = try TestEnvironment(self)
        let empty = try env.sourceDirectory("only-empty")
        let port = try Daemon.freePort()
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--", empty.path,
        ], outputDirectory: env.directory, name: "ferry-only-empty", timeout: 30)
        XCTAssertEqual(run.status, 0, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        let files = json?["files"] as? [[String: Any]] ?? []
        XCTAssertEqual(files.map { $0["status"] as? String }, ["skipped"], run.stdout)
    }
}
