// #16 point 2 with real processes: certificates made with `openssl` under the test's CA, refused by ferryd in the
// handshake with the reason on the client's screen — a client certificate with CA:TRUE, an "alice" it issued, and an
// identity that can never be a directory.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class IdentityRulesTests: XCTestCase {
    /// Signs a new Ed25519 leaf for `subject` with the test CA (or `issuer`), writing NAME.crt / NAME.key into `dir`.
    private func makeLeaf(_ env: TestEnvironment, _ name: String, subject: String, extensions: String,
                          issuer: (certificate: String, key: String)? = nil) throws -> ClientCredentials {
        let dir = env.directory.appendingPathComponent("openssl", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "[req]\ndistinguished_name = dn\n[dn]\n".write(to: dir.appendingPathComponent("req.cnf"), atomically: true, encoding: .utf8)
        try extensions.write(to: dir.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
        try openssl(["genpkey", "-algorithm", "ED25519", "-out", "\(name).key"], in: dir)
        try openssl(["req", "-new", "-key", "\(name).key", "-subj", subject, "-config", "req.cnf", "-out", "\(name).csr"], in: dir)
        var sign = ["x509", "-req", "-in", "\(name).csr", "-CA", issuer?.certificate ?? env.pki.caCertificate.path,
                    "-CAkey", issuer?.key ?? env.pki.caKey.path, "-set_serial", "\(Int.random(in: 1000...1_000_000))",
                    "-days", "30", "-extfile", "\(name).ext", "-out", "\(name).crt"]
        let passphrase = env.pki.caKey.path + ".passphrase"
        if issuer == nil, FileManager.default.fileExists(atPath: passphrase) { sign += ["-passin", "file:" + passphrase] }
        try openssl(sign, in: dir)
        return ClientCredentials(certificate: dir.appendingPathComponent("\(name).crt"),
                                 key: dir.appendingPathComponent("\(name).key"), ca: env.pki.caCertificate)
    }

    private static let client = "basicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n"

    func testACAClientAndTheAliceItMintedAreRefused() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("mint").appendingPathComponent("f.bin")
        try Content.write(Content.random(512), to: file)

        let minter = try makeLeaf(env, "minter", subject: "/CN=bob", extensions: """
            basicConstraints = critical,CA:true
            keyUsage = critical,digitalSignature,keyCertSign
            extendedKeyUsage = clientAuth

            """)
        let refused = try env.upload([file.path], to: daemon, as: minter)
        XCTAssertEqual(refused.status, 77, refused.run.stderr)
        XCTAssertTrue((refused.files.first?.error ?? "").contains("certificate not allowed for this purpose"),
                      refused.files.first?.error ?? refused.run.stderr)

        let minted = try makeLeaf(env, "minted", subject: "/CN=alice", extensions: Self.client,
                                  issuer: (minter.certificate.path, minter.key.path))
        let chain = env.directory.appendingPathComponent("openssl/minted-chain.crt")
        try Data(try Data(contentsOf: minted.certificate) + Data(contentsOf: minter.certificate)).write(to: chain)
        let impostor = try env.upload([file.path], to: daemon,
                                      as: ClientCredentials(certificate: chain, key: minted.key, ca: minted.ca))
        XCTAssertEqual(impostor.status, 77, impostor.run.stderr)
        XCTAssertTrue(daemon.log.contains("certificate=untrustedIntermediate"), daemon.log)
        XCTAssertNil(Content.size(of: daemon.area("alice").appendingPathComponent("f.bin")), "the minted alice stored a file")
    }

    func testAnIdentityThatCannotBeADirectoryIsRefusedInTheHandshake() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("names").appendingPathComponent("f.bin")
        try Content.write(Content.random(512), to: file)
        for (name, subject, reason) in [("slashed", "/CN=a\\/b", "it contains '/'"),
                                        ("dots", "/CN=..", "it is '..'"),
                                        ("staging", "/CN=.staging", "it starts with '.'")] {
            let credentials = try makeLeaf(env, name, subject: subject, extensions: Self.client)
            let outcome = try env.upload([file.path], to: daemon, as: credentials)
            XCTAssertEqual(outcome.status, 77, "\(name): \(outcome.run.stderr)")
            let error = outcome.files.first?.error ?? outcome.run.stderr
            XCTAssertTrue(error.contains("access denied") && error.contains(reason), "\(name): \(error)")
        }
        XCTAssertEqual(daemon.logLines(message: "upload started").count, 0)
        daemon.assertRunning("after the refused identities")
    }

    func testTwoCAsAliceLiveApartUnlessMappedTogether() throws {
        let env = try TestEnvironment(self)
        let partnerCA = env.directory.appendingPathComponent("partner-ca").path
        try env.ferryCA(["init", "--dir", partnerCA, "--name", "Partner CA"])
        let partnerCerts = env.directory.appendingPathComponent("partner-certs").path
        try env.ferryCA(["issue", "--dir", partnerCA, "--name", "alice", "--client", "--out", partnerCerts])
        // Both CAs in the daemon's client_ca (the same file the clients use to check the server: harmless there).
        let bundle = try Data(contentsOf: env.pki.caCertificate) + Data(contentsOf: URL(fileURLWithPath: partnerCA + "/ca.crt"))
        try bundle.write(to: env.pki.caCertificate)
        let partnerAlice = ClientCredentials(certificate: URL(fileURLWithPath: partnerCerts + "/alice.crt"),
                                             key: URL(fileURLWithPath: partnerCerts + "/alice.key"), ca: env.pki.caCertificate)
        let daemon = try Daemon.start(environment: env, workers: 1)
        XCTAssertTrue(daemon.log.contains("identified as partner-ca:NAME"), daemon.log)
        let source = try env.sourceDirectory("namespaces")
        let ours = source.appendingPathComponent("ours.bin"), theirs = source.appendingPathComponent("theirs.bin")
        try Content.write(Content.random(1000), to: ours)
        try Content.write(Content.random(2000), to: theirs)
        XCTAssertEqual(try env.upload([ours.path], to: daemon).status, 0)
        XCTAssertEqual(try env.upload([theirs.path], to: daemon, as: partnerAlice).status, 0)
        XCTAssertEqual(Content.size(of: daemon.area("alice").appendingPathComponent("ours.bin")), 1000)
        XCTAssertEqual(Content.size(of: daemon.area("partner-ca:alice").appendingPathComponent("theirs.bin")), 2000)
        XCTAssertNil(Content.size(of: daemon.area("alice").appendingPathComponent("theirs.bin")))

        // Mapped together explicitly: the partner's alice is our alice.
        let config = try String(contentsOf: daemon.configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "[identity]\n", with: "[identity]\nclient_ca_namespaces = [\"\", \"\"]\n")
            .write(to: daemon.configURL, atomically: true, encoding: .utf8)
        let before = daemon.logLines(message: "configuration reloaded").count
        daemon.child.signal(SIGHUP)
        XCTAssertTrue(waitUntil(timeout: 10) { daemon.logLines(message: "configuration reloaded").count > before }, daemon.log)
        XCTAssertEqual(try env.upload([theirs.path], to: daemon, as: partnerAlice).status, 0)
        XCTAssertEqual(Content.size(of: daemon.area("alice").appendingPathComponent("theirs.bin")), 2000)
    }
}
