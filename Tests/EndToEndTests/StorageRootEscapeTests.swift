// Nothing under the storage root is reached by name through a link (issue #14): a symbolic link as a client's
// directory, as a directory below it, or as the final name refuses the upload with a clear error to the client and a
// warning naming the path in the daemon's log, and nothing outside the root is created, written or removed. A failed,
// aborted or dropped upload leaves none of the directories it created, never removes one that existed before, and
// other uploads carry on.
import Foundation
import TestSupport
import XCTest

final class StorageRootEscapeTests: XCTestCase {
    func testSymbolicLinksUnderTheRootAreRefusedAndNothingOutsideIsTouched() throws {
        let env = try TestEnvironment(self)
        try env.issueClient("bob")
        try env.issueClient("carol")
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["allow_overwrite = true"]])
        let outside = env.directory.appendingPathComponent("outside", isDirectory: true)
        let victim = outside.appendingPathComponent("victim.txt")
        try Content.write(Array("original".utf8), to: victim)
        let before = snapshot(outside)

        let source = try env.sourceDirectory("links")
        let file = source.appendingPathComponent("target.txt")
        try Content.write(Array("attacker".utf8), to: file)
        let manager = FileManager.default
        // alice's directory is a link; bob's has a link below it; carol's final name is a link to a file outside.
        try manager.createSymbolicLink(at: daemon.area("alice"), withDestinationURL: outside)
        try manager.createDirectory(at: daemon.area("bob"), withIntermediateDirectories: true)
        try manager.createSymbolicLink(at: daemon.area("bob").appendingPathComponent("docs"), withDestinationURL: outside)
        try manager.createDirectory(at: daemon.area("carol"), withIntermediateDirectories: true)
        try manager.createSymbolicLink(at: daemon.area("carol").appendingPathComponent("target.txt"), withDestinationURL: victim)

        let attempts: [(client: String, dest: String?, extra: [String], link: String)] = [
            ("alice", nil, [], "alice"), ("alice", "deep/er", [], "alice"),
            ("bob", "docs", [], "bob/docs"), ("bob", "docs/new", [], "bob/docs"),
            ("carol", nil, [], "carol/target.txt"), ("carol", nil, ["--overwrite"], "carol/target.txt"),
        ]
        for attempt in attempts {
            let label = "\(attempt.client) --dest \(attempt.dest ?? "-") \(attempt.extra.joined())"
            let outcome = try env.upload([file.path], to: daemon, as: env.credentials(attempt.client), dest: attempt.dest,
                                         extra: attempt.extra)
            XCTAssertEqual(outcome.status, 1, "\(label): \(outcome.run.termination)")
            let error = outcome.files.first?.error ?? ""
            XCTAssertTrue(error.contains("symbolic link"), "\(label): \(error)")
            XCTAssertTrue(error.contains("operator"), "\(label): the message says whom to tell: \(error)")
            XCTAssertFalse(error.contains(daemon.root.path), "\(label): a server path reached the client: \(error)")
            let warning = daemon.waitForLog(timeout: 5) { line in
                line.message == "upload refused" && line["level"] == "warning"
                    && (line["detail"] ?? "").contains(daemon.root.appendingPathComponent(attempt.link).path)
            }
            XCTAssertNotNil(warning, "\(label): no warning naming \(attempt.link) in the log:\n\(daemon.log)")
        }
        XCTAssertEqual(snapshot(outside), before, "something outside the root was created, written or removed")
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "original")
        for link in ["alice", "bob/docs", "carol/target.txt"] {
            let attributes = try manager.attributesOfItem(atPath: daemon.root.appendingPathComponent(link).path)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeSymbolicLink, "\(link) was replaced")
        }
        XCTAssertEqual(daemon.stagingEntries(), [])

        // The same clients store normally where no link is in the way.
        let fine = try env.upload([file.path], to: daemon, as: env.credentials("bob"), dest: "plain")
        XCTAssertEqual(fine.status, 0, "\(fine.files.first?.error ?? fine.run.stderr)")
        assertStored(daemon.area("bob").appendingPathComponent("plain/target.txt"), equals: Array("attacker".utf8), "bob")
        daemon.assertRunning("after refusing links")
    }

    /// 30 uploads of 200-component paths, dropped right after Accepted: every directory they created is gone (the
    /// daemon once kept them all), one that existed before stays, each partial is kept in staging only (a resume
    /// makes its directories again), and the daemon serves the next upload.
    func testDroppedUploadsLeaveNoDirectoriesBehind() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let kept = daemon.area("alice").appendingPathComponent("kept/inside", isDirectory: true)
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        let deep = (1...200).map { "d\($0)" }.joined(separator: "/")
        for index in 0..<30 {
            let client = try RawClient(port: daemon.port, client: env.alice)
            _ = try client.handshake()
            let base = index % 2 == 0 ? "run\(index)/" : "kept/inside/run\(index)/"
            let answer = try client.open(base + deep + "/file.bin", size: 1 << 20)
            guard case .uploadAccepted = answer else { return XCTFail("upload \(index): \(answer)") }
            try client.sendData(Content.random(4096))
        }  // each RawClient closes its socket as it goes: the daemon sees the connection drop mid-upload
        let clean = waitUntil(timeout: 20) { self.directories(under: daemon.area("alice")) == ["kept", "kept/inside"] }
        XCTAssertTrue(clean, "directories left: \(directories(under: daemon.area("alice")).prefix(5)) …")
        XCTAssertEqual(daemon.stagingEntries().filter { $0.hasSuffix(".resume") }.count, 30, "\(daemon.stagingEntries())")

        let source = try env.sourceDirectory("after")
        let file = source.appendingPathComponent("after.txt")
        try Content.write(Array("after".utf8), to: file)
        let outcome = try env.upload([file.path], to: daemon, dest: "kept/inside")
        XCTAssertEqual(outcome.status, 0, "\(outcome.files.first?.error ?? outcome.run.stderr)")
        daemon.assertRunning("after dropped uploads")
    }

    /// Every entry under `directory` with its kind and content (files), to compare before and after.
    private func snapshot(_ directory: URL) -> [String: String] {
        var entries: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: directory.path)
        while let name = walker?.nextObject() as? String {
            let path = directory.appendingPathComponent(name).path
            entries[name] = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<directory or unreadable>"
        }
        return entries
    }

    private func directories(under directory: URL) -> [String] {
        var found: [String] = []
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isDirectoryKey])
        while let url = walker?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                found.append(String(url.path.dropFirst(directory.path.count + 1)))
            }
        }
        return found.sorted()
    }
}
