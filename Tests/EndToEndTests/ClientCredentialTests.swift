// What `ferry` says about its own credentials before it connects (CredentialFiles): an expired client certificate
// and one not yet valid are named with their file and date (a server would only answer certificate_expired), a key
// that is not the certificate's names both files, and a file that cannot be read says why. Nothing is sent.
import Foundation
import TestSupport
import XCTest

final class ClientCredentialTests: XCTestCase {
    private func ls(_ env: TestEnvironment, _ daemon: Daemon, cert: String, key: String, ca: String? = nil) throws -> RunResult {
        try runToCompletion(env.binaries.ferry, ["ls", "--server", daemon.address, "--ca", ca ?? env.alice.ca.path,
                                                 "--cert", cert, "--key", key, "--retries", "0"],
                            outputDirectory: env.directory, name: "ferry-ls-credentials", timeout: 60)
    }

    func testOwnCredentialProblemsAreNamedBeforeConnecting() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let issuer = try OpenSSLIssuer(env)
        let expired = try issuer.issue("old", commonName: "alice", extensions: OpenSSLIssuer.clientOnly,
                                       startDate: "20200101000000Z", endDate: "20200201000000Z")
        let early = try issuer.issue("early", commonName: "alice", extensions: OpenSSLIssuer.clientOnly,
                                     startDate: "20990101000000Z", endDate: "20990201000000Z")
        let run = try ls(env, daemon, cert: expired.certificate.path, key: expired.key.path)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("your certificate \(expired.certificate.path) expired on 2020-02-01 00:00:00 UTC"),
                      run.stderr)
        let notYet = try ls(env, daemon, cert: early.certificate.path, key: early.key.path)
        XCTAssertTrue(notYet.stderr.contains("is not valid before 2099-01-01 00:00:00 UTC"), notYet.stderr)

        let mismatched = try ls(env, daemon, cert: env.alice.certificate.path, key: expired.key.path)
        XCTAssertTrue(mismatched.stderr.contains("\(env.alice.certificate.path) with the key \(expired.key.path)"),
                      mismatched.stderr)
        let directory = try ls(env, daemon, cert: env.alice.certificate.path, key: env.alice.key.path, ca: env.directory.path)
        XCTAssertTrue(directory.stderr.contains("it is a directory"), directory.stderr)
        let missing = try ls(env, daemon, cert: env.directory.path + "/nope.crt", key: env.alice.key.path)
        XCTAssertTrue(missing.stderr.contains("nope.crt: No such file or directory"), missing.stderr)
        XCTAssertEqual(daemon.logLines(message: "session established").count, 0, "nothing connected: \(daemon.log)")
    }
}
