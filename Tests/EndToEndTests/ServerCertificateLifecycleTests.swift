// Issue #16 point 7, over a certificate's life: one close to its expiry starts with a warning (check-config's stderr,
// the daemon's log) and its date in ferry_certificate_expiry_timestamp_seconds; a SIGHUP reload with an expired one is
// refused and the running certificate kept; a renewal is taken and the metric follows it. A server certificate from
// another CA than the clients' is refused until `[identity] server_ca` names the bundle its clients use.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ServerCertificateLifecycleTests: XCTestCase {
    private func install(_ issued: OpenSSLIssuer.Issued, in env: TestEnvironment) throws {
        try OpenSSLIssuer.concatenate([issued.certificate], into: env.pki.serverCertificate)
        try FileManager.default.removeItem(at: env.pki.serverKey)
        try FileManager.default.copyItem(at: issued.key, to: env.pki.serverKey)
    }

    private func notAfter(_ url: URL) throws -> Double {
        let certificate = try XCTUnwrap(try Certificate.chain(fromPEM: [UInt8](try Data(contentsOf: url))).first)
        return Double(try XCTUnwrap(certificate.notAfter))
    }

    /// The expiry series of `role`, "name{labels}" → value.
    private func expiries(_ scrape: Scrape, role: String) -> [String: Double] {
        scrape.samples.filter { $0.key.hasPrefix("ferry_certificate_expiry_timestamp_seconds{role=\"\(role)\",") }
    }

    /// SIGHUP, then the first new log line with `message` (nil after 10 s).
    private func hangUp(_ daemon: Daemon, expecting message: String) -> LogLine? {
        let before = daemon.logLines(message: message).count
        daemon.child.signal(SIGHUP)
        var found: LogLine?
        waitUntil(timeout: 10) {
            let lines = daemon.logLines(message: message)
            found = lines.count > before ? lines[before] : nil
            return found != nil
        }
        return found
    }

    private func uploadSucceeds(_ env: TestEnvironment, _ daemon: Daemon, _ name: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try env.sourceDirectory("lifecycle").appendingPathComponent(name)
        try Content.write(Content.random(10_000), to: url)
        let outcome = try env.upload([url.path], to: daemon)
        XCTAssertEqual(outcome.status, 0, "\(name): \(outcome.files.first?.error ?? outcome.run.stderr)", file: file, line: line)
    }

    func testASoonExpiringCertificateWarnsAndItsExpiryMetricFollowsReloads() throws {
        let env = try TestEnvironment(self)
        let issuer = try OpenSSLIssuer(env)
        let soon = try issuer.issue("soon", commonName: "server", days: 10)
        try install(soon, in: env)
        let metricsPort = try Daemon.freePort()
        let daemon = try Daemon.start(environment: env, workers: 2,
                                      settings: ["metrics": ["listen = \"127.0.0.1:\(metricsPort)\""]])

        // The start: a warning line naming the file; the same on check-config's stderr, stdout still the configuration.
        let warning = daemon.logLines(message: "certificate warning").first
        XCTAssertTrue(warning?["warning"]?.hasPrefix("identity.certificate (\(env.pki.serverCertificate.path)): the server "
            + "certificate CN=server expires on ") ?? false, daemon.log)
        // 10 days from issue, less the seconds since (the day count rounds down).
        XCTAssertTrue(["in 9 days;", "in 10 days;"].contains { warning?["warning"]?.contains($0) ?? false },
                      "\(warning?.text ?? "")")
        XCTAssertEqual(warning?["level"], "warning")
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", daemon.configURL.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stderr.contains("warning: identity.certificate (\(env.pki.serverCertificate.path)): the server "
            + "certificate CN=server expires on "), check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("# ferryd effective configuration"), check.stdout)

        // The metric: the server's notAfter, and the CA's as client_ca.
        let first = try scrape(metricsPort)
        XCTAssertTrue(first.body.contains("# TYPE ferry_certificate_expiry_timestamp_seconds gauge\n"), first.body)
        XCTAssertEqual(Array(expiries(first, role: "server").values), [try notAfter(soon.certificate)], first.body)
        XCTAssertEqual(Array(expiries(first, role: "client_ca").values), [try notAfter(env.pki.caCertificate)], first.body)
        XCTAssertTrue(expiries(first, role: "server").keys.first?.contains("subject=\"CN=server\"") ?? false, first.body)
        try uploadSucceeds(env, daemon, "before.bin")

        // An expired certificate on reload: refused with the reason, the running one kept (new sessions still work),
        // the metric unchanged.
        try install(try issuer.issue("expired", commonName: "server", startDate: "20200101000000Z",
                                     endDate: "20200201000000Z"), in: env)
        let failed = hangUp(daemon, expecting: "reload failed: keeping the current configuration")
        XCTAssertTrue(failed?["error"]?.contains("the server certificate CN=server expired on 2020-02-01 00:00:00 UTC")
            ?? false, "\(failed?.text ?? daemon.log)")
        daemon.assertRunning("after a refused reload")
        try uploadSucceeds(env, daemon, "after-refused-reload.bin")
        XCTAssertEqual(Array(expiries(try scrape(metricsPort), role: "server").values), [try notAfter(soon.certificate)])

        // A renewal: taken; the metric shows the new date and the old series is gone; no warning this time.
        let warningsBefore = daemon.logLines(message: "certificate warning").count
        let renewed = try issuer.issue("renewed", commonName: "server", days: 200)
        try install(renewed, in: env)
        XCTAssertNotNil(hangUp(daemon, expecting: "configuration reloaded"), daemon.log)
        let after = try scrape(metricsPort)
        XCTAssertEqual(Array(expiries(after, role: "server").values), [try notAfter(renewed.certificate)], after.body)
        XCTAssertEqual(daemon.logLines(message: "certificate warning").count, warningsBefore, daemon.log)
        try uploadSucceeds(env, daemon, "after-renewal.bin")
    }

    func testAServerCertificateFromAnotherCANeedsServerCA() throws {
        let env = try TestEnvironment(self)
        let other = env.directory.appendingPathComponent("server-ca", isDirectory: true)
        try env.makeCA(other.appendingPathComponent("ca").path)
        try env.ferryCA(["issue", "--dir", other.appendingPathComponent("ca").path, "--name", "server", "--server",
                         "--san", "DNS:localhost,IP:127.0.0.1", "--out", other.appendingPathComponent("certs").path])
        let serverCA = other.appendingPathComponent("ca/ca.crt")
        try install(OpenSSLIssuer.Issued(certificate: other.appendingPathComponent("certs/server.crt"),
                                         key: other.appendingPathComponent("certs/server.key")), in: env)

        // Checked against client_ca (the default), it has no path: refused, and the message says what to set.
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let config = env.directory.appendingPathComponent("without-server-ca.toml")
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1)
            .write(to: config, atomically: true, encoding: .utf8)
        let refused = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                          outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("identity.client_ca (\(env.pki.caCertificate.path))"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("set identity.server_ca to the bundle clients verify the server with"),
                      refused.stderr)

        // With server_ca: it starts, and a client that verifies the server with that CA (and has a certificate from
        // the clients' CA) uploads; one that verifies it with the clients' CA is refused, as the check foresaw.
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["identity": ["server_ca = \"\(serverCA.path)\""]])
        let url = try env.sourceDirectory("server-ca").appendingPathComponent("file.bin")
        try Content.write(Content.random(5000), to: url)
        let good = try env.upload([url.path], to: daemon, as: ClientCredentials(
            certificate: env.alice.certificate, key: env.alice.key, ca: serverCA))
        XCTAssertEqual(good.status, 0, good.files.first?.error ?? good.run.stderr)
        let wrongCA = try env.upload([url.path], to: daemon, extra: ["--retries", "0"])
        XCTAssertEqual(wrongCA.status, 77, wrongCA.run.stderr)
        daemon.assertRunning("after both clients")
    }
}
