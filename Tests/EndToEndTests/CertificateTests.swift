// 3. Client certificates: one from another CA is refused (and the daemon keeps serving); one made with the plain
// `openssl` command line, signed by the right CA, works like one from `ferry ca`.
import Foundation
import TestSupport
import XCTest

final class CertificateTests: XCTestCase {
    func testAClientCertificateFromAnotherCAIsRefusedAndNothingIsStored() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("certs")
        let file = source.appendingPathComponent("secret.txt")
        let content = Content.random(1000)
        try Content.write(content, to: file)

        // An impostor: same name as the legitimate client ("alice"), but issued by a CA the server does not trust.
        let other = env.directory.appendingPathComponent("other-ca")
        try env.makeCA(other.appendingPathComponent("ca").path)
        try env.ferryCA(["issue", "--dir", other.appendingPathComponent("ca").path, "--name", "alice", "--client",
                         "--out", other.appendingPathComponent("certs").path])
        let impostor = ClientCredentials(certificate: other.appendingPathComponent("certs/alice.crt"),
                                         key: other.appendingPathComponent("certs/alice.key"), ca: env.pki.caCertificate)

        let refused = try env.upload([file.path], to: daemon, as: impostor)
        XCTAssertNotNil(refused.status, "ferry upload: \(refused.run.termination)")
        XCTAssertNotEqual(refused.status, 0, "ferry upload with a certificate from another CA succeeded")
        XCTAssertEqual(refused.ok, false)
        let error = refused.files.first?.error ?? ""
        XCTAssertFalse(refused.files.first?.ok ?? true)
        XCTAssertTrue(error.contains("the server does not trust the CA that issued our certificate"),
                      "the JSON error should say the server does not trust our certificate's CA: \(error)")
        XCTAssertTrue(refused.run.stderr.contains("ask its operator to add that CA to identity.client_ca"),
                      "stderr: \(refused.run.stderr)")

        // Nothing stored, nothing staged; the daemon logged why.
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").path),
                       "the impostor's upload created \(daemon.area("alice").path)")
        XCTAssertEqual(daemon.filesUnderRoot(), [], "something was stored for a refused client")
        let failure = daemon.waitForLog(timeout: 5) { $0.message == "handshake failed" }
        XCTAssertNotNil(failure, "no 'handshake failed' in the daemon log:\n\(daemon.log)")
        XCTAssertEqual(failure?["alert"], "certificate from an unknown CA", "daemon log: \(daemon.log)")
        XCTAssertEqual(failure?["certificate"], "untrustedIssuer", "daemon log: \(daemon.log)")
        XCTAssertEqual(daemon.logLines(message: "session established").count, 0)
        daemon.assertRunning("after refusing a certificate")

        // The daemon keeps serving: the real alice uploads the same file.
        let good = try env.upload([file.path], to: daemon)
        XCTAssertEqual(good.status, 0, "\(good.run.stderr)")
        XCTAssertEqual(good.ok, true)
        assertStored(daemon.area("alice").appendingPathComponent("secret.txt"), equals: content)
        daemon.assertRunning("after the good upload")
    }

    func testAClientCertificateMadeWithTheOpenSSLCommandLineWorks() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let work = env.directory.appendingPathComponent("openssl", isDirectory: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let key = work.appendingPathComponent("bob.key")
        let csr = work.appendingPathComponent("bob.csr")
        let certificate = work.appendingPathComponent("bob.crt")
        let extensions = work.appendingPathComponent("client.ext")
        try """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature
            extendedKeyUsage = clientAuth
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid

            """.write(to: extensions, atomically: true, encoding: .utf8)
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.path], env: env)
        try openssl(["req", "-new", "-key", key.path, "-subj", "/CN=bob", "-out", csr.path], env: env)
        // `ferry ca init` without a terminal encrypted ca.key with a generated passphrase beside it; openssl reads
        // the same file.
        try openssl(["x509", "-req", "-in", csr.path, "-CA", env.pki.caCertificate.path, "-CAkey", env.pki.caKey.path,
                     "-passin", "file:" + env.pki.caKey.path + ".passphrase", "-set_serial", "4242", "-days", "30", "-sha256", "-extfile", extensions.path, "-out", certificate.path],
                    env: env)

        let source = try env.sourceDirectory("openssl")
        let file = source.appendingPathComponent("from-bob.bin")
        let content = Content.random(70_000)
        try Content.write(content, to: file)
        let outcome = try env.upload([file.path], to: daemon,
                                     as: ClientCredentials(certificate: certificate, key: key, ca: env.pki.caCertificate))
        XCTAssertEqual(outcome.status, 0, "\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, true, "\(outcome.files.first?.error ?? "")")
        let stored = daemon.area("bob").appendingPathComponent("from-bob.bin")
        assertStored(stored, equals: content, "stored under <root>/bob/")
        let session = daemon.logLines(message: "session established").first
        XCTAssertEqual(session?["client"], "bob")
        XCTAssertEqual(session?["client_sig"], "ecdsa-p256-sha256")
        daemon.assertRunning("after the openssl-made client")
    }

    private func openssl(_ arguments: [String], env: TestEnvironment, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runToCompletion(URL(fileURLWithPath: "/usr/bin/env"), ["openssl"] + arguments,
                                         outputDirectory: env.directory, name: "openssl", timeout: 30, file: file, line: line)
        guard result.status == 0 else {
            XCTFail("openssl \(arguments.joined(separator: " ")): \(result.termination)\n\(result.stderr)", file: file, line: line)
            throw TestError("openssl failed")
        }
    }
}
