// Issue #16 point 7, the server's certificate: `ferryd check-config` and `ferryd` itself refuse one that every client
// would refuse, with a message naming the file, what is wrong and what to do, and print nothing as "effective": an
// expired one, one not yet valid (both made with `openssl ca -startdate/-enddate`), a client certificate used as the
// server's, a chain that lacks its intermediate; the fixed chain passes.
import Foundation
import TestSupport
import XCTest

final class ServerCertificateRefusalTests: XCTestCase {
    /// A configuration for `env` (its PKI's server certificate and key paths, an existing storage root).
    private func writeConfig(_ env: TestEnvironment, settings: [String: [String]] = [:]) throws -> URL {
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let url = env.directory.appendingPathComponent("check.toml")
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1, settings: settings)
            .write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Puts `issued` where the configuration expects the server's certificate (with `chain` after it) and key.
    private func install(_ issued: OpenSSLIssuer.Issued, chain: [URL] = [], in env: TestEnvironment) throws {
        try OpenSSLIssuer.concatenate([issued.certificate] + chain, into: env.pki.serverCertificate)
        try FileManager.default.removeItem(at: env.pki.serverKey)
        try FileManager.default.copyItem(at: issued.key, to: env.pki.serverKey)
    }

    /// check-config and a start both fail, each with every phrase of `expect` on stderr; nothing is printed as the
    /// effective configuration and the daemon never says it is ready.
    private func assertRefused(_ env: TestEnvironment, config: URL, _ expect: [String],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertNotNil(check.status, check.termination, file: file, line: line)
        XCTAssertNotEqual(check.status, 0, "check-config accepted it:\n\(check.stdout)", file: file, line: line)
        XCTAssertFalse(check.stdout.contains("[identity]"), "printed a configuration anyway", file: file, line: line)
        let run = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                      name: "ferryd-refused", timeout: 30)
        XCTAssertNotNil(run.status, run.termination, file: file, line: line)
        XCTAssertNotEqual(run.status, 0, "ferryd started:\n\(run.stderr)", file: file, line: line)
        XCTAssertFalse(run.stderr.contains("ferryd ready"), file: file, line: line)
        for (name, output) in [("check-config", check.stderr), ("ferryd", run.stderr)] {
            for phrase in expect {
                XCTAssertTrue(output.contains(phrase), "\(name): no '\(phrase)' in:\n\(output)", file: file, line: line)
            }
        }
        report(check.stderr.split(separator: "\n").first.map(String.init) ?? "")
    }

    func testAnExpiredServerCertificateIsRefusedWithItsDate() throws {
        let env = try TestEnvironment(self)
        let expired = try OpenSSLIssuer(env).issue("expired", commonName: "expired.test",
                                                   startDate: "20200101000000Z", endDate: "20200201000000Z")
        try install(expired, in: env)
        try assertRefused(env, config: writeConfig(env), [
            "identity.certificate (\(env.pki.serverCertificate.path)): the server certificate CN=expired.test expired on "
                + "2020-02-01 00:00:00 UTC", "certificate_expired", "renewed certificate",
        ])
    }

    func testANotYetValidServerCertificateIsRefusedWithItsDate() throws {
        let env = try TestEnvironment(self)
        let early = try OpenSSLIssuer(env).issue("early", commonName: "early.test",
                                                 startDate: "20991231000000Z", endDate: "21000131000000Z")
        try install(early, in: env)
        try assertRefused(env, config: writeConfig(env), [
            "identity.certificate (\(env.pki.serverCertificate.path)): the server certificate CN=early.test is not valid "
                + "before 2099-12-31 00:00:00 UTC", "clock",
        ])
    }

    /// The commonest mix-up: a client's certificate (here alice's, from `ferry ca issue --client`) configured as the
    /// server's. Then one made with openssl for clientAuth alone.
    func testACertificateWithoutServerAuthIsRefused() throws {
        let env = try TestEnvironment(self)
        try install(OpenSSLIssuer.Issued(certificate: env.pki.certificate("alice"), key: env.pki.key("alice")), in: env)
        let config = try writeConfig(env)
        try assertRefused(env, config: config, [
            "the server certificate CN=alice is not for servers: its extendedKeyUsage allows clientAuth but not serverAuth",
            "ferry ca issue --server",
        ])
        let clientOnly = try OpenSSLIssuer(env).issue("client-only", commonName: "files.test",
                                                      extensions: OpenSSLIssuer.clientOnly)
        try install(clientOnly, in: env)
        try assertRefused(env, config: config, ["CN=files.test is not for servers", "unsupported_certificate"])
    }

    /// A leaf issued by an intermediate CA, configured without that intermediate: named as missing; with the
    /// intermediate appended, check-config accepts the chain.
    func testAChainMissingItsIntermediateIsRefusedAndTheWholeChainAccepted() throws {
        let env = try TestEnvironment(self)
        let intermediate = try OpenSSLIssuer(env).issue("intermediate", commonName: "Ferry Test Intermediate",
                                                        extensions: OpenSSLIssuer.intermediateCA)
        let underIntermediate = try OpenSSLIssuer(directory: env.directory.appendingPathComponent("intermediate-ca"),
                                                  issuer: intermediate)
        let leaf = try underIntermediate.issue("leaf", commonName: "files.test")
        try install(leaf, in: env)
        let config = try writeConfig(env)
        try assertRefused(env, config: config, [
            "the server certificate, CN=files.test, was issued by CN=Ferry Test Intermediate, which is neither in that "
                + "file nor in identity.client_ca (\(env.pki.caCertificate.path))",
            "the chain is missing that intermediate: append its certificate (PEM) to identity.certificate",
        ])

        try install(leaf, chain: [intermediate.certificate], in: env)
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertEqual(check.status, 0, "the whole chain was refused:\n\(check.stderr)")
        XCTAssertFalse(check.stderr.contains("warning"), check.stderr)
    }
}
