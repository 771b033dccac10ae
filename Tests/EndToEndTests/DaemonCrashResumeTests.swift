// ferryd SIGKILLed three times while one `ferry upload` of a large file runs, and started again at once on the same
// configuration each time: the command completes by itself with exit 0 and the file byte for byte; after each restart
// the daemon keeps the partial with the resume point last made durable and the client resumes there; and what was sent
// again over all the kills stays within what the server had not recorded durable at each kill plus what was in flight
// (measured at each kill from the staging directory, checked against the client's JSON). And the same across a
// SIGTERM drain and a restart.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class DaemonCrashResumeTests: XCTestCase {
    /// What can be in flight at a kill beyond what reached the .part: the daemon's write budget (16 MiB), the client's
    /// socket queue (4 MiB), a 1 MiB block being sealed and the kernel's socket buffers on both sides.
    static let inFlight: UInt64 = 32 << 20

    func testAnUploadCompletesByItselfAcrossThreeKillsAndResumesEachTime() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 384 << 20
        guard env.freeBytes() > 3 * size else {
            throw XCTSkip("needs about 1.2 GiB free in \(env.directory.path), has \(env.freeBytes()) bytes")
        }
        let interval: UInt64 = 16 << 20
        var daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["resume_interval = \"16MiB\""]])
        let source = try env.sourceDirectory("crash")
        let big = source.appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: size, to: big)

        let client = try env.startUpload([big.path], to: daemon, dest: "crash")
        defer { client.stop(grace: 1) }
        var unrecorded: UInt64 = 0  // over the kills: bytes on the server that no durable record covered
        var recordedAtKills: [UInt64] = []
        for kill in 1...3 {
            // Each kill once the upload has a resume point past the previous kill's and the .part has grown beyond it.
            let floor = (recordedAtKills.last ?? 0) + interval
            let ready = waitUntil(timeout: 60) {
                guard let (recorded, part) = daemon.partialState() else { return false }
                return recorded >= floor && part >= recorded + interval / 2
            }
            XCTAssertTrue(ready, "kill \(kill): no resume point past \(floor) within 60 s; staging: \(daemon.stagingEntries())")
            guard client.isRunning else { return XCTFail("the upload ended before kill \(kill): \(client.stdout)") }
            daemon.child.signal(SIGKILL)
            XCTAssertTrue(daemon.child.wait(timeout: 5), "ferryd did not die on SIGKILL")
            let (recorded, part) = try XCTUnwrap(daemon.partialState(), "no partial after kill \(kill)")
            recordedAtKills.append(recorded)
            unrecorded += part - min(part, recorded)
            XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").appendingPathComponent("crash/big.bin").path))
            daemon = try daemon.restarted(environment: env)
            XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "partial uploads found at start" && $0["kept"] == "1" },
                            "kill \(kill): the restarted daemon did not keep the partial:\n\(daemon.log)")
            let resumed = daemon.waitForLog(timeout: 60) { $0.message == "upload resumed" }
            let offset = resumed?["offset"].flatMap { UInt64($0) } ?? 0
            XCTAssertEqual(offset, recorded - recorded % 4096, "kill \(kill): not resumed at the durable point")
        }

        XCTAssertTrue(client.wait(timeout: 180), "ferry still running 180 s after the last restart:\n\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 0, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        let json = try? JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        let entry = try XCTUnwrap(((json?["files"] as? [[String: Any]]) ?? []).first.map(TestEnvironment.FileEntry.init))
        XCTAssertTrue(entry.ok, entry.error ?? "")
        XCTAssertEqual(entry.sha256, digest)
        XCTAssertGreaterThanOrEqual(entry.attempts ?? 0, 4, "\(entry.raw)")
        let sentAgain = (entry.sentBytes ?? 0) - min(entry.sentBytes ?? 0, size)
        XCTAssertLessThanOrEqual(sentAgain, unrecorded + 3 * Self.inFlight,
                                 "sent again \(sentAgain) bytes; the server held \(unrecorded) unrecorded at the kills")
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("crash/big.bin")), digest)
        XCTAssertEqual(daemon.stagingEntries(), [])
        report("3 kills, durable points \(recordedAtKills); sent \(entry.sentBytes ?? 0) for \(size) "
            + "(\(sentAgain) again; \(unrecorded) were written but not yet recorded at the kills); \(entry.attempts ?? 0) attempts")
    }

    /// The same with a SIGTERM drain (shutdown_grace = 0: the upload cannot finish in time, the session is closed
    /// and its partial kept with everything received) and a restart: the command completes by itself, resumed.
    func testAnUploadCompletesByItselfAcrossADrainAndARestart() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 384 << 20
        guard env.freeBytes() > 3 * size else { throw XCTSkip("needs about 1.2 GiB free in \(env.directory.path)") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["server": ["shutdown_grace = 0"]])
        let big = try env.sourceDirectory("drain").appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: size, to: big)
        let client = try env.startUpload([big.path], to: daemon, dest: "drain")
        defer { client.stop(grace: 1) }
        XCTAssertTrue(waitUntil(timeout: 30) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 32 << 20 }
        }, "the upload never got going: \(client.stderr)")
        daemon.child.signal(SIGTERM)
        XCTAssertTrue(daemon.child.wait(timeout: 10), "ferryd did not drain within 10 s")
        XCTAssertEqual(daemon.child.exitStatus, 0, daemon.child.terminationDescription)
        let (recorded, _) = try XCTUnwrap(daemon.partialState(), "no partial kept by the drain: \(daemon.stagingEntries())\n\(daemon.log.suffix(2500))")
        let second = try daemon.restarted(environment: env)
        XCTAssertTrue(client.wait(timeout: 180), "ferry still running 180 s after the restart:\n\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 0, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        let offset = second.waitForLog(timeout: 5) { $0.message == "upload resumed" }?["offset"].flatMap { UInt64($0) } ?? 0
        XCTAssertEqual(offset, recorded - recorded % 4096, "not resumed where the drain left it")
        XCTAssertGreaterThanOrEqual(offset, 32 << 20)
        XCTAssertEqual(try Content.sha256(of: second.area("alice").appendingPathComponent("drain/big.bin")), digest)
        report("drained with \(recorded) bytes kept; resumed at \(offset) of \(size)")
    }
}
