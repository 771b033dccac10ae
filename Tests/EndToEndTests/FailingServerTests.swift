// A multi-file session against a server that fails uploads at every point where it can (issue #15): refusals of each
// kind before Accepted, failures while Data flows (the client answers with Abort and waits for its answer), failures
// at Close, `exists` asked again with the digest, and `busy`. The client never traps, reports each file with its own
// reason, stores the one the server takes, and exits 1. The server is RawServer's scripted mode, on 127.0.0.1.
import Foundation
import Protocol
import TestSupport
import XCTest

final class FailingServerTests: XCTestCase {
    func testEachFileFailsAloneWhereverTheServerFailsIt() throws {
        let env = try TestEnvironment(self)
        let tree = try env.sourceDirectory("many")
        for index in 0..<9 { try Content.write(Content.random(2 << 20), to: tree.appendingPathComponent("f\(index).bin")) }
        let server = try RawServer(pki: env.pki, holding: [], script: [
            .refuse(.badPath), .refuse(.tooLarge), .failAfter(1 << 20, .noSpace), .failAtClose(.storageFailure), .commit,
            .failAfter(512 << 10, .permissionDenied), .failAtClose(.digestMismatch),
            .refuse(.exists), .refuse(.exists),  // the second answers the Open sent again with the file's digest
            .refuse(.busy),
        ], deadline: 60)
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--server-name", "localhost", "--ca", env.alice.ca.path,
            "--cert", env.alice.certificate.path, "--key", env.alice.key.path, "--parallel", "1", "--retries", "0",
            "--json", tree.path,
        ], outputDirectory: env.directory, name: "ferry-failing", timeout: 60)
        let observed = try server.finish()
        XCTAssertEqual(run.status, 1, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        XCTAssertEqual(observed.problems, [])
        // Ten Opens on the one connection and no protocol error: after each failure while sending, the next Open came
        // only once the client's Abort was answered (PROTOCOL.md §8.4), and the session went on.
        XCTAssertEqual(observed.opened.count, 10, "\(observed.opened)")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any])
        let files = ((json["files"] as? [[String: Any]]) ?? []).map(TestEnvironment.FileEntry.init)
        let byName = Dictionary(uniqueKeysWithValues: files.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0) })
        XCTAssertEqual(byName.count, 9, run.stdout)
        XCTAssertEqual(byName["f4.bin"]?.ok, true, "\(byName["f4.bin"]?.raw ?? [:])")
        for (name, expected) in [("f0.bin", "scripted refusal"), ("f1.bin", "scripted refusal"),
                                 ("f2.bin", "scripted failure after"), ("f3.bin", "scripted failure at Close"),
                                 ("f5.bin", "scripted failure after"), ("f6.bin", "scripted failure at Close"),
                                 ("f7.bin", "scripted refusal"), ("f8.bin", "busy")] {
            let error = byName[name]?.error ?? ""
            XCTAssertTrue(error.contains(expected), "\(name): \(error)")
        }
    }
}
