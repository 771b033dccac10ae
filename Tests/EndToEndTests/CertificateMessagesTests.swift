// Issue #17 point 3 with real processes: a refused certificate says what the certificates are and what to do, in the
// user's terms (the names a certificate holds, the --ca file, the command that makes the right one) rather than
// OpenSSL's; so do the mistakes made with key files, and the server's answers about one file.
import Foundation
import TestSupport
import XCTest

final class CertificateMessagesTests: XCTestCase {
    private func source(_ env: TestEnvironment, _ name: String = "m.txt") throws -> String {
        let url = try env.sourceDirectory("messages").appendingPathComponent(name)
        _ = try Content.write(Content.random(100), to: url)
        return url.path
    }

    /// `ferry upload` with explicit credentials and `extra`, no JSON: what a person sees on stderr.
    private func upload(_ env: TestEnvironment, _ daemon: Daemon?, _ extra: [String], cert: String? = nil,
                        key: String? = nil, ca: String? = nil, paths: [String]) throws -> RunResult {
        let arguments = ["upload", "--retries", "0", "--server", daemon?.address ?? "127.0.0.1:9",
                         "--ca", ca ?? env.alice.ca.path, "--cert", cert ?? env.alice.certificate.path,
                         "--key", key ?? env.alice.key.path] + extra + paths
        return try runToCompletion(env.binaries.ferry, arguments, outputDirectory: env.directory, name: "ferry-upload",
                                   timeout: 60)
    }

    func testANameMismatchNamesTheCertificatesNamesAndTheWayOut() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let run = try upload(env, daemon, ["--server-name", "files.example.net"], paths: [try source(env)])
        let output = run.stdout + run.stderr  // the report line goes to stdout without a terminal
        XCTAssertEqual(run.status, 77, output)
        XCTAssertTrue(output.contains("is valid for DNS:localhost, IP:127.0.0.1, not for \"files.example.net\""), output)
        XCTAssertTrue(output.contains("pass --server-name with one of them"), output)
        XCTAssertTrue(output.contains("`ferry ca issue --server --san DNS:files.example.net`"), output)
        XCTAssertFalse(output.contains("nameMismatch"), "OpenSSL's vocabulary is not the message: \(output)")
    }

    func testAnUnknownCANamesTheIssuerAndTheCAFile() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let other = env.directory.appendingPathComponent("other-ca").path
        try env.ferryCA(["init", "--dir", other, "--name", "Other CA"])
        let otherCA = other + "/ca.crt"
        let run = try upload(env, daemon, [], ca: otherCA, paths: [try source(env)])
        let output = run.stdout + run.stderr
        XCTAssertEqual(run.status, 77, output)
        XCTAssertTrue(output.contains("is not from a CA in \(otherCA) (--ca)"), output)
        XCTAssertTrue(output.contains("issued by CN=Ferry CA, which is not a trusted CA (trusted: CN=Other CA)"), output)
    }

    /// A server whose chain lacks its intermediate (accepted by ferryd because server_ca pins the intermediate): the
    /// client, trusting only the root, is told an intermediate is missing and by whom.
    func testAMissingIntermediateIsNamedAsSuch() throws {
        let env = try TestEnvironment(self)
        let intermediate = try OpenSSLIssuer(env).issue("intermediate", commonName: "Ferry Test Intermediate",
                                                        extensions: OpenSSLIssuer.intermediateCA)
        let underIntermediate = try OpenSSLIssuer(directory: env.directory.appendingPathComponent("intermediate-ca"),
                                                  issuer: intermediate)
        let leaf = try underIntermediate.issue("leaf", commonName: "server")
        try OpenSSLIssuer.concatenate([leaf.certificate], into: env.pki.serverCertificate)
        try FileManager.default.removeItem(at: env.pki.serverKey)
        try FileManager.default.copyItem(at: leaf.key, to: env.pki.serverKey)
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["identity": ["server_ca = \"\(intermediate.certificate.path)\""]])
        let run = try upload(env, daemon, [], paths: [try source(env)])
        let output = run.stdout + run.stderr
        XCTAssertEqual(run.status, 77, output)
        XCTAssertTrue(output.contains("is issued by CN=Ferry Test Intermediate, which is not a trusted CA"), output)
        XCTAssertTrue(output.contains("a missing intermediate"), output)
    }

    func testMistakesWithKeyFilesAreNamed() throws {
        let env = try TestEnvironment(self)
        let file = try source(env)
        // A server certificate as ours: said before connecting (no server at all here), with the command to fix it.
        let server = try upload(env, nil, [], cert: env.pki.serverCertificate.path, key: env.pki.serverKey.path, paths: [file])
        XCTAssertEqual(server.status, 78, server.stderr)
        XCTAssertTrue(server.stderr.contains("is a server certificate (extendedKeyUsage serverAuth only): issue a client "
            + "one with `ferry ca issue --client --name NAME`"), server.stderr)
        // --cert and --key the other way round.
        let swapped = try upload(env, nil, [], cert: env.alice.key.path, key: env.alice.certificate.path, paths: [file])
        XCTAssertEqual(swapped.status, 78, swapped.stderr)
        XCTAssertTrue(swapped.stderr.contains("--cert and --key are swapped"), swapped.stderr)
        // Keys Ferry cannot sign with, named for what they are.
        for (name, algorithm, options, described) in [
            ("ed448", "ED448", [String](), "an Ed448 key"),
            ("p521", "EC", ["-pkeyopt", "ec_paramgen_curve:P-521"], "an EC key on secp521r1"),
            ("rsa1024", "RSA", ["-pkeyopt", "rsa_keygen_bits:1024"], "a 1024-bit RSA key"),
        ] {
            let key = env.directory.appendingPathComponent("\(name).key").path
            let certificate = env.directory.appendingPathComponent("\(name).crt").path
            _ = try runOpenSSL(["genpkey", "-algorithm", algorithm] + options + ["-out", key])
            _ = try runOpenSSL(["req", "-new", "-x509", "-key", key, "-subj", "/CN=alice", "-days", "2", "-out", certificate])
            chmod(key, 0o600)
            let run = try upload(env, nil, [], cert: certificate, key: key, paths: [file])
            XCTAssertEqual(run.status, 78, run.stderr)
            XCTAssertTrue(run.stderr.contains("the private key is \(described), which Ferry cannot sign with: it supports "
                + "Ed25519, ECDSA on P-256 or P-384, and RSA of 2048 bits or more"), "\(name): \(run.stderr)")
        }
    }

    func testAnExistingNameSaysHowToReplaceOrSkipIt() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try source(env, "same-name.bin")
        XCTAssertEqual(try upload(env, daemon, ["-q"], paths: [file]).status, 0)
        _ = try Content.write(Content.random(200), to: URL(fileURLWithPath: file))
        let taken = try upload(env, daemon, [], paths: [file])
        XCTAssertEqual(taken.status, 1, taken.stderr)
        // ferryd's text says how to replace it, the client adds how to skip it: each said once.
        XCTAssertTrue((taken.stdout + taken.stderr).contains("use --overwrite to replace it (if the server allows it); "
            + "--ignore-existing leaves it and goes on"), taken.stdout + taken.stderr)
        let skipped = try upload(env, daemon, ["--ignore-existing", "--json"], paths: [file])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: skipped.stdoutData) as? [String: Any])
        let entry = try XCTUnwrap((document["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(entry["status"] as? String, "skipped")
        XCTAssertTrue((entry["skipped"] as? String)?.contains("--ignore-existing") ?? false, "\(entry)")
    }
}
