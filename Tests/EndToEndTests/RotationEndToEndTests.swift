// Key rotation with real processes: tuned in the config, on time for a slow upload, and retuned live by SIGHUP.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class RotationEndToEndTests: XCTestCase {
    /// rotate_after_bytes = 1 MiB: a 256 MiB upload rotates the client→server keys once per MiB — or, on a link fast
    /// enough to cross it more than 16 times a second, 16 times a second (the pacing of PROTOCOL.md §7.5) — and the
    /// stored bytes are exact.
    func testOneMebibyteThresholdRotatesAtLeastOncePerMebibyte() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["protocol": ["rotate_after_bytes = \"1MiB\""]])
        let source = try env.sourceDirectory("rotation")
        let file = source.appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: 256 << 20, to: file)
        let outcome = try env.upload([file.path], to: daemon)
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr)
        let entry = try XCTUnwrap(outcome.file(file.path))
        XCTAssertEqual(entry.sha256, digest)
        let seconds = entry.seconds ?? 0
        // At least half the paced rate: a rotation also waits for the previous one's reply, which a loaded machine
        // delays; at most the paced rate.
        let expected = min(256, Int(seconds * 16 * 0.5))
        XCTAssertGreaterThanOrEqual(entry.rotations ?? 0, expected, "rotations reported by ferry --json in \(seconds) s")
        XCTAssertLessThanOrEqual(Double(entry.rotations ?? 0), seconds * 16 + 2, "paced to 16 a second")
        let stored = daemon.root.appendingPathComponent("alice/big.bin")
        XCTAssertEqual(try Content.sha256(of: stored), digest)
        let rotated = daemon.logLines(message: "keys rotated").filter { $0["direction"] == "client->server" }
        XCTAssertEqual(rotated.count, entry.rotations, "one log line per rotation")
        report("1 MiB threshold: \(entry.rotations ?? 0) rotations in \(seconds) s for 256 MiB")
    }

    /// rotate_after_seconds = 1: a slow upload (a chunk every 0.3 s for about 4 s) rotates on time, in both directions.
    func testShortTimeThresholdRotatesASlowUploadOnTime() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["protocol": ["rotate_after_seconds = 1"]])
        let client = try RawClient(port: daemon.port, client: env.alice)
        let parameters = try client.handshake()
        XCTAssertEqual(parameters.rotation.afterSeconds, 1, "the client adopts the server's time policy")
        let chunks = 14
        let chunk = Content.random(4096)
        guard case .uploadAccepted = try client.open("slow.bin", size: UInt64(chunks * chunk.count)) else {
            return XCTFail("upload refused")
        }
        var clientRotations = 0
        for _ in 0..<chunks {
            try client.sendData(chunk)
            usleep(300_000)
            while let event = try? client.nextEvent(timeout: 0.05) {
                if case .rotated(let rotation) = event, rotation.direction == .send { clientRotations += 1 }
            }
        }
        let answer = try client.finish(digest: DigestContext.hash(.sha256, Array(repeating: chunk, count: chunks).flatMap { $0 }))
        guard case .uploadCommitted = answer else { return XCTFail("not committed: \(answer)") }
        XCTAssertGreaterThanOrEqual(clientRotations, 2, "about one per second over ~4 s")
        let rotated = daemon.logLines(message: "keys rotated")
        XCTAssertGreaterThanOrEqual(rotated.filter { $0["direction"] == "client->server" }.count, 2, daemon.log)
        XCTAssertGreaterThanOrEqual(rotated.filter { $0["direction"] == "server->client" && $0["reason"] == "time" }.count, 1,
                                    "the server's own direction rotates on time too: \(daemon.log)")
        try client.goodbye()
    }

    /// A SIGHUP that lowers rotate_after_bytes while an upload runs raises that upload's rotation count (through
    /// RotateRequest: the client keeps the policy it agreed to), and the upload still commits correctly.
    func testSIGHUPLoweringTheThresholdMidUploadRaisesItsRotationCount() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["protocol": ["rotate_after_bytes = \"8GiB\""]])
        let source = try env.sourceDirectory("sighup")
        let file = source.appendingPathComponent("long.bin")
        let digest = try Content.writeLarge(size: 1 << 30, to: file)
        let upload = try env.startUpload([file.path], to: daemon)
        XCTAssertTrue(waitUntil(timeout: 20) { !daemon.logLines(message: "upload started").isEmpty }, daemon.log)
        let original = try String(contentsOf: daemon.configURL, encoding: .utf8)
        let lowered = original.replacingOccurrences(of: "rotate_after_bytes = \"8GiB\"", with: "rotate_after_bytes = \"1MiB\"")
        XCTAssertNotEqual(lowered, original)
        try lowered.write(to: daemon.configURL, atomically: true, encoding: .utf8)
        daemon.child.signal(SIGHUP)
        XCTAssertTrue(upload.wait(timeout: 120), "the upload did not finish")
        XCTAssertEqual(upload.exitStatus, 0, upload.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: upload.stdoutData) as? [String: Any])
        let entry = try XCTUnwrap((json["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(entry["sha256"] as? String, digest)
        XCTAssertTrue(daemon.logLines(message: "configuration reloaded").count == 1, daemon.log)
        XCTAssertFalse(daemon.logLines(message: "rotation policy updated").isEmpty, "the running session got the new policy")
        let rotations = (entry["rotations"] as? NSNumber)?.intValue ?? 0
        XCTAssertGreaterThanOrEqual(rotations, 10, "no rotation at all under 8 GiB; many after lowering to 1 MiB")
        XCTAssertTrue(daemon.logLines(message: "keys rotated").contains { $0["reason"] == "peer" }, daemon.log)
        XCTAssertEqual(try Content.sha256(of: daemon.root.appendingPathComponent("alice/long.bin")), digest)
    }
}
