// `ferry upload`'s exit statuses (issue #15, point 9; listed in `ferry help upload` and the README): 69 when nothing
// listens on the server's port or its name does not resolve, 77 when the server's certificate is from a CA the client
// does not trust, 64 for a usage error, 78 for credentials that cannot be read, 1 when files failed for different
// reasons. (75, a server that never answers the handshake, is ClientTimeoutTests.) Runtime failures print no usage text.
import Foundation
import TestSupport
import XCTest

final class ExitStatusTests: XCTestCase {
    /// Nothing listens on the port (connection refused), or the name does not resolve (.invalid never does, RFC 6761).
    func testAServerThatCannotBeReachedIs69() throws {
        let env = try TestEnvironment(self)
        let file = try sourceFile(env)
        let port = try Daemon.freePort()
        let run = try upload(env, server: "127.0.0.1:\(port)", [file.path])
        XCTAssertEqual(run.status, 69, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        XCTAssertTrue(run.stdout.contains("cannot connect to 127.0.0.1:\(port)"), run.stdout)
        XCTAssertFalse(run.stderr.contains("Usage:"), run.stderr)

        let unresolved = try upload(env, server: "no-such-host.invalid:7443", [file.path])
        XCTAssertEqual(unresolved.status, 69, "\(unresolved.termination)\n\(unresolved.stdout)\n\(unresolved.stderr)")
        XCTAssertTrue(unresolved.stdout.contains("cannot resolve the server name"), unresolved.stdout)
    }

    /// The client trusts another CA than the one that signed the server's certificate: the handshake is refused.
    func testAServerCertificateFromAnotherCAIs77() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let other = env.directory.appendingPathComponent("other-ca")
        try env.makeCA(other.appendingPathComponent("ca").path)
        let file = try sourceFile(env)
        let run = try upload(env, server: daemon.address, [file.path],
                             ca: other.appendingPathComponent("ca/ca.crt").path)
        XCTAssertEqual(run.status, 77, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        XCTAssertTrue(run.stdout.contains("the server's certificate is not from a CA in"), run.stdout)
        XCTAssertEqual(daemon.filesUnderRoot(), [])
    }

    func testUsageErrorsAre64AndRuntimeSetupErrorsAre78WithoutUsageText() throws {
        let env = try TestEnvironment(self)
        let file = try sourceFile(env)
        let port = try Daemon.freePort()
        for (name, extra) in [("bad value", ["--parallel", "0", "--", file.path]), ("unknown option", ["--bogus", file.path]),
                              ("no paths", [])] {
            let run = try upload(env, server: "127.0.0.1:\(port)", [], extra: extra, json: false)
            XCTAssertEqual(run.status, 64, "\(name): \(run.termination)\n\(run.stderr)")
            XCTAssertTrue(run.stderr.contains("Usage:"), "\(name): \(run.stderr)")
        }
        let missingKey = env.directory.appendingPathComponent("no-such.key").path
        let run = try upload(env, server: "127.0.0.1:\(port)", [file.path], key: missingKey)
        XCTAssertEqual(run.status, 78, "\(run.termination)\n\(run.stderr)")
        XCTAssertTrue(run.stderr.contains("cannot read the private key at \(missingKey)"), run.stderr)
        XCTAssertFalse(run.stderr.contains("Usage:"), run.stderr)
    }

    /// A missing path (that file's own failure) beside a server that is not there: two reasons, so 1 — and the JSON
    /// has both entries.
    func testFilesFailingForDifferentReasonsAre1() throws {
        let env = try TestEnvironment(self)
        let file = try sourceFile(env)
        let missing = file.deletingLastPathComponent().appendingPathComponent("missing").path
        let port = try Daemon.freePort()
        let run = try upload(env, server: "127.0.0.1:\(port)", [file.path, missing])
        XCTAssertEqual(run.status, 1, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        let errors = (json?["files"] as? [[String: Any]] ?? []).map { $0["error"] as? String ?? "" }
        XCTAssertEqual(errors.count, 2, run.stdout)
        XCTAssertTrue(errors[0].contains("cannot connect"), "\(errors)")
        XCTAssertEqual(errors[1], "cannot read \(missing): no such file or directory")
    }

    // MARK: Helpers

    private func sourceFile(_ env: TestEnvironment) throws -> URL {
        let file = try env.sourceDirectory("status").appendingPathComponent("f.txt")
        try Content.write(Array("status".utf8), to: file)
        return file
    }

    /// `ferry upload` as alice (with another CA bundle or key when given), bounded at 60 s. `--retries 0`: these are
    /// the statuses of the first failure (retrying a server that is not there is RetryTests').
    private func upload(_ env: TestEnvironment, server: String, _ paths: [String], ca: String? = nil, key: String? = nil,
                        extra: [String] = [], json: Bool = true) throws -> RunResult {
        let client = env.alice
        var arguments = ["upload", "--server", server, "--ca", ca ?? client.ca.path, "--cert", client.certificate.path,
                         "--key", key ?? client.key.path, "--retries", "0"]
        if json { arguments.append("--json") }
        arguments += extra + (paths.isEmpty ? [] : ["--"] + paths)
        return try runToCompletion(env.binaries.ferry, arguments, outputDirectory: env.directory, name: "ferry-status",
                                   timeout: 60)
    }
}
