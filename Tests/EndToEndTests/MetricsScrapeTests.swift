// Beyond the brief's list: metrics. The real ferryd with `[metrics] listen` on loopback, one upload with the real
// `ferry` and one client from another CA; a scrape of /metrics counts the session, the bytes, the commit and the failed
// handshake with its reason, and what the metadata index holds, names nobody, and the endpoint does not hold up the
// shutdown.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class MetricsScrapeTests: XCTestCase {
    func testAScrapeCountsTheUploadAndTheFailedHandshake() throws {
        let env = try TestEnvironment(self)
        let metricsPort = try Daemon.freePort()
        let daemon = try Daemon.start(environment: env, workers: 2,
                                      settings: ["metrics": ["listen = \"127.0.0.1:\(metricsPort)\""]])
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "metrics endpoint listening" }, daemon.log)

        let before = try scrape(metricsPort)
        XCTAssertEqual(before.status, 200, before.body)
        XCTAssertEqual(before.contentType, "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(before.samples["ferry_sessions_total"], 0, before.body)
        for name in ["ferry_sessions_active", "ferry_write_backlog_bytes"] {
            XCTAssertTrue(before.body.contains("# TYPE \(name) gauge\n"), before.body)
        }
        for name in ["ferry_sessions_total", "ferry_sessions_refused_total", "ferry_handshakes_total",
                     "ferry_bytes_received_total", "ferry_uploads_total", "ferry_rotations_total", "ferry_errors_total"] {
            XCTAssertTrue(before.body.contains("# TYPE \(name) counter\n"), before.body)
        }

        // One good upload.
        let source = try env.sourceDirectory("metrics")
        let file = source.appendingPathComponent("measured.bin")
        let content = Content.random(300_000)
        try Content.write(content, to: file)
        let good = try env.upload([file.path], to: daemon)
        XCTAssertEqual(good.status, 0, good.run.stderr)
        assertStored(daemon.area("alice").appendingPathComponent("measured.bin"), equals: content)

        // One client whose certificate comes from a CA the server does not trust.
        let other = env.directory.appendingPathComponent("other-ca")
        try env.makeCA(other.appendingPathComponent("ca").path)
        try env.ferryCA(["issue", "--dir", other.appendingPathComponent("ca").path, "--name", "alice", "--client",
                         "--out", other.appendingPathComponent("certs").path])
        let impostor = ClientCredentials(certificate: other.appendingPathComponent("certs/alice.crt"),
                                         key: other.appendingPathComponent("certs/alice.key"), ca: env.pki.caCertificate)
        let refused = try env.upload([file.path], to: daemon, as: impostor)
        XCTAssertNotEqual(refused.status, 0, "the impostor's upload succeeded")

        // Both sessions have ended once the daemon has logged the refusal and no session is active.
        var after = try scrape(metricsPort)
        waitUntil(timeout: 5, interval: 0.05) {
            guard let next = try? scrape(metricsPort) else { return false }
            after = next
            return next.samples["ferry_sessions_active"] == 0
                && (next.samples[#"ferry_handshakes_total{result="failed",reason="unknown_ca"}"#] ?? 0) >= 1
                // The index's totals: a scrape shows those of the refresh the previous one started.
                && next.samples["ferry_stored_files"] == 1
        }
        let samples = after.samples
        report("metrics after one upload and one refused client: "
            + samples.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertEqual(after.status, 200)
        XCTAssertGreaterThanOrEqual(samples["ferry_sessions_total"] ?? 0, 2, after.body)
        XCTAssertEqual(samples["ferry_sessions_active"], 0, after.body)
        XCTAssertGreaterThanOrEqual(samples["ferry_bytes_received_total"] ?? 0, Double(content.count), after.body)
        XCTAssertGreaterThanOrEqual(samples[#"ferry_uploads_total{result="committed",reason="none"}"#] ?? 0, 1, after.body)
        XCTAssertGreaterThanOrEqual(samples[#"ferry_handshakes_total{result="ok",reason="none"}"#] ?? 0, 1, after.body)
        XCTAssertEqual(samples[#"ferry_handshakes_total{result="failed",reason="unknown_ca"}"#], 1, after.body)
        XCTAssertEqual(samples["ferry_write_backlog_bytes"], 0, after.body)
        XCTAssertEqual(samples["ferry_stored_files"], 1, after.body)
        XCTAssertEqual(samples["ferry_stored_bytes"], Double(content.count), after.body)
        let failedUploads = samples.filter { $0.key.hasPrefix(#"ferry_uploads_total{result="failed""#) }.values.reduce(0, +)
        XCTAssertEqual(failedUploads, 0, after.body)

        // Privacy: no identity, file name, directory or address in the exposition.
        for secret in ["alice", "measured", daemon.root.path, "127.0.0.1"] {
            XCTAssertFalse(after.body.contains(secret), "the exposition contains '\(secret)'")
        }

        // Anything but GET /metrics is refused; the endpoint then lets the daemon drain and exit on SIGTERM.
        XCTAssertEqual(try scrape(metricsPort, path: "/other").status, 404)
        XCTAssertEqual(try scrape(metricsPort, method: "POST").status, 405)
        daemon.assertRunning("after the scrapes")
        XCTAssertTrue(daemon.stop(), "ferryd needed SIGKILL with the metrics endpoint open; log:\n\(daemon.log)")
    }
}
