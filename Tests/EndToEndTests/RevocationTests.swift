// #16 point 1 with real processes: `ferry ca revoke` + `ferry ca crl` + SIGHUP take a client's access away at once —
// new handshakes are refused with certificate_revoked, a session already open is closed mid-upload and its partial
// discarded, other clients carry on — and `[access]` deny lists do the same by identity or fingerprint.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class RevocationTests: XCTestCase {
    private func caPath(_ env: TestEnvironment) -> String { env.pki.directory.appendingPathComponent("ca").path }

    private func hangUp(_ daemon: Daemon, file: StaticString = #filePath, line: UInt = #line) {
        let before = daemon.logLines(message: "configuration reloaded").count
        daemon.child.signal(SIGHUP)
        let reloaded = waitUntil(timeout: 10) { daemon.logLines(message: "configuration reloaded").count > before }
        XCTAssertTrue(reloaded, "no reload after SIGHUP:\n\(daemon.log)", file: file, line: line)
    }

    /// A RawClient that has an upload of `size` bytes open with `sent` bytes sent.
    private func uploading(_ env: TestEnvironment, _ daemon: Daemon, as name: String, path: String, size: Int,
                           sent: Int) throws -> RawClient {
        let client = try RawClient(port: daemon.port, client: env.credentials(name))
        _ = try client.handshake()
        let answer = try client.open(path, size: UInt64(size))
        guard case .uploadAccepted = answer else { throw TestError("Open of \(path) answered \(answer)") }
        try client.sendData(Content.random(sent))
        return client
    }

    /// Waits until the server's alert reaches `client`; returns it.
    private func alert(on client: RawClient) -> AlertCode? {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !client.closedByServer { _ = try? client.nextEvent(timeout: 1) }
        return client.alertFromServer?.alert
    }

    func testRevocationOnReloadClosesTheLiveSessionAndRefusesNewOnes() throws {
        let env = try TestEnvironment(self)
        try env.issueClient("bob")
        let crl = env.directory.appendingPathComponent("clients.crl").path
        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl])
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["identity": ["crl = \"\(crl)\""]])
        let source = try env.sourceDirectory("revocation")
        let before = source.appendingPathComponent("before.bin")
        try Content.write(Content.random(4096), to: before)
        XCTAssertEqual(try env.upload([before.path], to: daemon).status, 0, "alice before the revocation")

        let alice = try uploading(env, daemon, as: "alice", path: "big.bin", size: 8 << 20, sent: 1 << 20)
        let bob = try uploading(env, daemon, as: "bob", path: "bob.bin", size: 1 << 20, sent: 512 << 10)
        waitUntil(timeout: 10) { daemon.stagingEntries().count >= 2 }

        try env.ferryCA(["revoke", "--dir", caPath(env), "--name", "alice"])
        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl])
        hangUp(daemon)

        XCTAssertEqual(alert(on: alice), .certificateRevoked)
        let closed = daemon.logLines(message: "session closed: the client is no longer admitted")
        XCTAssertEqual(closed.count, 1, daemon.log)
        XCTAssertEqual(closed.first?["client"], "alice")
        XCTAssertEqual(closed.first?["certificate"], "revoked")
        XCTAssertEqual(closed.first?["discarded_upload"], "big.bin")
        // The partial is discarded, not kept for a resume.
        XCTAssertTrue(waitUntil(timeout: 10) { !daemon.stagingEntries().contains { $0.contains("big.bin") } },
                      "alice's partial survived: \(daemon.stagingEntries())")

        // bob carries on in his session, and alice cannot come back.
        try bob.sendData(Content.random(512 << 10))
        XCTAssertFalse(bob.closedByServer)
        let after = source.appendingPathComponent("after.bin")
        try Content.write(Content.random(4096), to: after)
        let refused = try env.upload([after.path], to: daemon)
        XCTAssertEqual(refused.status, 77, refused.run.stderr)
        XCTAssertTrue((refused.files.first?.error ?? refused.run.stderr).contains("certificate revoked"),
                      "\(refused.files.first?.error ?? "") \(refused.run.stderr)")
        XCTAssertEqual(try env.upload([after.path], to: daemon, as: env.credentials("bob")).status, 0)
        XCTAssertNil(Content.size(of: daemon.area("alice").appendingPathComponent("after.bin")))
        daemon.assertRunning("after the revocation")
    }

    func testDenyListsByIdentityAndByFingerprint() throws {
        let env = try TestEnvironment(self)
        try env.issueClient("mallory")
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["access": ["deny_identities = [\"mallory\"]"]])
        let url = try env.sourceDirectory("deny").appendingPathComponent("f.bin")
        try Content.write(Content.random(1024), to: url)
        let file = url.path
        let mallory = try env.upload([file], to: daemon, as: env.credentials("mallory"))
        XCTAssertEqual(mallory.status, 77)
        XCTAssertTrue((mallory.files.first?.error ?? mallory.run.stderr).contains("access denied"), mallory.run.stderr)
        XCTAssertTrue(daemon.log.contains("identity \\\"mallory\\\" is denied"), daemon.log)

        // alice's certificate denied by fingerprint while her session is open: closed at the reload.
        let alice = try uploading(env, daemon, as: "alice", path: "open.bin", size: 4 << 20, sent: 256 << 10)
        let fingerprint = try XCTUnwrap(String(data: try openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in",
                                                                   env.pki.certificate("alice").path]), encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(fingerprint.hasPrefix("sha256 Fingerprint="), fingerprint)
        let config = try String(contentsOf: daemon.configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "deny_identities = [\"mallory\"]",
                                        with: "deny_identities = [\"mallory\"]\ndeny_fingerprints = [\"\(fingerprint)\"]")
            .write(to: daemon.configURL, atomically: true, encoding: .utf8)
        hangUp(daemon)
        XCTAssertEqual(alert(on: alice), .accessDenied)
        XCTAssertEqual(try env.upload([file], to: daemon).status, 77)
        daemon.assertRunning("after the deny list changed")
    }

    func testClientRefusesARevokedServerCertificateWithCRL() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let url = try env.sourceDirectory("client-crl").appendingPathComponent("f.bin")
        try Content.write(Content.random(1024), to: url)
        let crl = env.directory.appendingPathComponent("server-ca.crl").path
        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl])
        XCTAssertEqual(try env.upload([url.path], to: daemon, extra: ["--crl", crl]).status, 0, "before the revocation")
        try env.ferryCA(["revoke", "--dir", caPath(env), "--name", "server"])
        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl])
        let refused = try env.upload([url.path], to: daemon, extra: ["--crl", crl, "--overwrite"])
        XCTAssertEqual(refused.status, 77, refused.run.stderr)
        XCTAssertTrue((refused.files.first?.error ?? "").contains("certificate revoked"), refused.run.stderr)
        // Without the CRL the client does not know (revocation is only as good as the lists it is given).
        XCTAssertEqual(try env.upload([url.path], to: daemon).status, 0)
    }

    func testCheckConfigWarnsOfACAWithoutCRLAndRefusesAForgedOne() throws {
        let env = try TestEnvironment(self)
        let other = env.directory.appendingPathComponent("other-ca").path
        try env.makeCA(other)
        let otherCRL = env.directory.appendingPathComponent("other.crl").path
        try env.ferryCA(["crl", "--dir", other, "--out", otherCRL])
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let configURL = env.directory.appendingPathComponent("check.toml")
        try Daemon.configText(port: 7443, pki: env.pki, root: root, workers: 1,
                              settings: ["identity": ["crl = \"\(otherCRL)\""]])
            .write(to: configURL, atomically: true, encoding: .utf8)
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", configURL.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        // Both CAs are named "Ferry CA": the other one's CRL claims our CA as its issuer but is not signed by it.
        XCTAssertNotEqual(check.status, 0)
        XCTAssertTrue(check.stderr.contains("is not signed by that CA's key"), check.stderr)

        let renamed = env.directory.appendingPathComponent("renamed-ca").path
        try env.ferryCA(["init", "--dir", renamed, "--name", "Another CA"])
        let renamedCRL = env.directory.appendingPathComponent("renamed.crl").path
        try env.ferryCA(["crl", "--dir", renamed, "--out", renamedCRL])
        try Daemon.configText(port: 7443, pki: env.pki, root: root, workers: 1,
                              settings: ["identity": ["crl = \"\(renamedCRL)\""]])
            .write(to: configURL, atomically: true, encoding: .utf8)
        let warned = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", configURL.path],
                                         outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssertTrue(warned.stderr.contains("warning: identity.client_ca: no CRL in identity.crl is from \"CN=Ferry CA\""),
                      warned.stderr)
        XCTAssertTrue(warned.stderr.contains("which is not a CA in identity.client_ca"), warned.stderr)
    }

    /// ferry_crl_next_update_timestamp_seconds{issuer, number}: each configured CRL's nextUpdate, replaced on reload
    /// (a renewed CRL's series replaces its predecessor's).
    func testEachCRLsNextUpdateIsAMetricThatFollowsReloads() throws {
        let env = try TestEnvironment(self)
        let crl = env.directory.appendingPathComponent("clients.crl").path
        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl, "--days", "30"])
        let metricsPort = try Daemon.freePort()
        let daemon = try Daemon.start(environment: env, workers: 1, settings: [
            "identity": ["crl = \"\(crl)\""], "metrics": ["listen = \"127.0.0.1:\(metricsPort)\""],
        ])
        func published() throws -> [String: Double] {
            try scrape(metricsPort).samples.filter { $0.key.hasPrefix("ferry_crl_next_update_timestamp_seconds{") }
        }
        func expected() throws -> [String: Double] {
            let list = try XCTUnwrap(try RevocationList.load([UInt8](try Data(contentsOf: URL(fileURLWithPath: crl)))).first)
            let number = try XCTUnwrap(list.number), nextUpdate = try XCTUnwrap(list.nextUpdate)
            return ["ferry_crl_next_update_timestamp_seconds{issuer=\"\(list.issuerName)\",number=\"\(number)\"}":
                        Double(nextUpdate)]
        }
        let first = try expected()
        XCTAssertEqual(try published(), first)
        XCTAssertTrue(abs(try XCTUnwrap(first.values.first) - (Date().timeIntervalSince1970 + 30 * 86_400)) < 600)

        try env.ferryCA(["crl", "--dir", caPath(env), "--out", crl, "--days", "60"])
        hangUp(daemon)
        let renewed = try expected()
        XCTAssertNotEqual(renewed, first)
        XCTAssertEqual(try published(), renewed, "the renewed CRL's series alone")
    }
}
