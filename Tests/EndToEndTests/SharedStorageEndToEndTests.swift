// Two real ferryd on one storage root with one PostgreSQL index (`storage.shared`, docs/STORE.md "Several daemons on
// one root"), each test in a schema of its own: what one stores the other lists, gets and deletes at once; neither an
// unshared daemon, a second daemon of the same node name nor `ferryd reindex` starts beside them; an upload one of
// them writes is `busy` on the other, and once its client is gone it resumes on the other where it stopped; a daemon
// started while the other writes leaves that upload alone; a quota counts the uploads in progress of both, and those
// of one killed until it starts again.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SharedStorageEndToEndTests: PostgresSchemaTestCase {
    private func settings(_ url: String, node: String, quota: String? = nil) -> [String: [String]] {
        ["storage": ["shared = true", "resume_interval = \"1MiB\""],
         "index": ["backend = \"postgresql\"", "url = \"\(url)\"", "pool_size = 2", "node = \"\(node)\""],
         "quotas": quota.map { ["bytes = \"\($0)\""] } ?? []]
    }

    private func startPair(_ env: TestEnvironment, quota: String? = nil) throws -> (Daemon, Daemon) {
        let url = try XCTUnwrap(schema?.url)
        let first = try Daemon.start(environment: env, workers: 2, settings: settings(url, node: "a", quota: quota), name: "a")
        let second = try Daemon.start(environment: env, workers: 2, settings: settings(url, node: "b", quota: quota), name: "b")
        XCTAssertEqual(first.root, second.root)
        return (first, second)
    }

    private func ls(_ env: TestEnvironment, _ daemon: Daemon) throws -> [String] {
        let run = try env.ferry("ls", ["-R"], daemon: daemon)
        XCTAssertEqual(run.status, 0, run.stderr)
        return outputLines(run.stdout)
    }

    func testWhatOneDaemonStoresTheOtherListsGetsAndDeletesAtOnce() throws {
        let env = try TestEnvironment(self)
        let (first, second) = try startPair(env)
        let source = try env.sourceDirectory("both")
        var contents: [String: [UInt8]] = [:]
        for (name, size) in [("one.bin", 70_000), ("sub/two.bin", 1), ("three.bin", 0)] {
            let file = source.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            contents[name] = Content.random(size)
            try Content.write(contents[name] ?? [], to: file)
        }
        XCTAssertEqual(try env.upload([source.path], to: first).status, 0)
        // No batch waits in the first daemon's memory: the second one's listing sees every file at once.
        XCTAssertEqual(try ls(env, second), ["both/one.bin", "both/sub/two.bin", "both/three.bin"])
        let got = env.directory.appendingPathComponent("got.bin")
        let get = try env.ferry("get", ["both/one.bin", got.path], daemon: second)
        XCTAssertEqual(get.status, 0, get.stderr)
        XCTAssertEqual(try Array(Data(contentsOf: got)), contents["one.bin"])

        XCTAssertEqual(try env.ferry("rm", ["both/one.bin"], daemon: second).status, 0)
        XCTAssertEqual(try ls(env, first), ["both/sub/two.bin", "both/three.bin"])
        let again = try env.upload([source.appendingPathComponent("one.bin").path], to: second, dest: "both")
        XCTAssertEqual(again.status, 0, again.run.stderr)
        XCTAssertEqual(try ls(env, first), ["both/one.bin", "both/sub/two.bin", "both/three.bin"])
        let usage = try TestPostgres.psql(try XCTUnwrap(schema?.url),
                                          "SELECT bytes, files FROM ferry_usage WHERE namespace = 'alice'")
        XCTAssertEqual(usage, "70001|3\n")
        first.assertRunning("after the exchange")
        second.assertRunning("after the exchange")
    }

    func testNeitherAnUnsharedDaemonNorASecondOfOneNodeNorReindexRunsBesideThem() throws {
        let env = try TestEnvironment(self)
        let url = try XCTUnwrap(schema?.url)
        let (first, _) = try startPair(env)
        let configURL = env.directory.appendingPathComponent("other.toml")
        func attempt(_ settings: [String: [String]], _ name: String) throws -> RunResult {
            try Daemon.configText(port: try TestPorts.free(), pki: env.pki, root: first.root, workers: 1, settings: settings)
                .write(to: configURL, atomically: true, encoding: .utf8)
            return try runToCompletion(env.binaries.ferryd, ["--config", configURL.path], outputDirectory: env.directory,
                                       name: name, timeout: 60)
        }
        let unshared = try attempt(["index": ["backend = \"postgresql\"", "url = \"\(url)\""]], "unshared")
        XCTAssertEqual(unshared.status, 1)
        XCTAssertTrue(unshared.stderr.contains("(or several with storage.shared) is using this storage root"), unshared.stderr)
        // (It waits half a minute for the journal first: a daemon settling it, had "a" left, would hold it that long
        // at most — IndexOpening.journalAttempts.)
        let twin = try attempt(settings(url, node: "a"), "twin")
        XCTAssertEqual(twin.status, 1)
        XCTAssertTrue(twin.stderr.contains("another ferryd named \\\"a\\\" is running on this storage root")
                      || twin.stderr.contains("another ferryd named \"a\" is running on this storage root"), twin.stderr)
        XCTAssertTrue(twin.stderr.contains("give each daemon sharing it its own [index] node"), twin.stderr)
        let reindex = try runToCompletion(env.binaries.ferryd, ["reindex", "--config", first.configURL.path],
                                          outputDirectory: env.directory, name: "reindex", timeout: 30)
        XCTAssertNotEqual(reindex.status, 0)
        XCTAssertTrue(reindex.stderr.contains("is using this storage root"), reindex.stderr)
    }

    /// One daemon writes a file (a raw client holding it open half-sent): the other answers `busy` to the same name,
    /// and a third daemon started meanwhile leaves the upload alone. The client goes: the partial is kept, and the
    /// upload of the file through the other daemon resumes where it stopped and stores it whole.
    func testAnUploadOneDaemonWritesIsBusyOnTheOtherAndResumesThereOnceItsClientLeft() throws {
        let env = try TestEnvironment(self)
        let url = try XCTUnwrap(schema?.url)
        let (first, second) = try startPair(env)
        let content = Content.random(6 << 20)
        var writer: RawClient? = try RawClient(port: first.port, client: env.alice)
        _ = try writer?.handshake()
        guard case .uploadAccepted(offset: 0) = try XCTUnwrap(writer?.open("held.bin", size: UInt64(content.count))) else {
            return XCTFail("the first daemon did not accept the upload")
        }
        try writer?.sendData(Array(content[..<(4 << 20)]))
        XCTAssertTrue(waitUntil(timeout: 10) { first.logLines(message: "upload started").count == 1 }, first.log)

        let other = try RawClient(port: second.port, client: env.alice)
        _ = try other.handshake()
        let answer = try other.open("held.bin", size: UInt64(content.count))
        guard case .uploadFailed(let failure) = answer, failure.code == .busy else {
            return XCTFail("the second daemon answered \(answer), not busy")
        }

        // A third daemon starting on the root finds the .part another daemon writes: it is not its to keep or remove.
        let third = try Daemon.start(environment: env, workers: 1, settings: settings(url, node: "c"), name: "c")
        XCTAssertTrue(third.stop())

        writer = nil  // the client is gone: the first daemon keeps the partial at its last durable point
        // Kept once its record is written and its name given back (the lock file goes last).
        XCTAssertTrue(waitUntil(timeout: 10) {
            first.partialState() != nil && !first.stagingEntries().contains { $0.hasSuffix(".lock") }
        }, "no partial kept: \(first.stagingEntries())")
        let recorded = try XCTUnwrap(first.partialState()?.recorded)
        XCTAssertGreaterThanOrEqual(recorded, 1 << 20)
        let file = try env.sourceDirectory("src").appendingPathComponent("held.bin")
        try Content.write(content, to: file)
        let resumed = try env.upload([file.path], to: second)
        XCTAssertEqual(resumed.status, 0, resumed.run.stderr)
        let entry = try XCTUnwrap(resumed.files.first)
        XCTAssertEqual(entry.resumedBytes, recorded - recorded % 4096, "not resumed where the first daemon stopped: \(entry.raw)")
        XCTAssertEqual(try Array(Data(contentsOf: first.area("alice").appendingPathComponent("held.bin"))), content)
        XCTAssertEqual(first.stagingEntries(), [], "nothing left in staging")
        XCTAssertEqual(try ls(env, first), ["held.bin"])
    }

    /// Opens `path` of `size` bytes on `daemon` in a session of its own; the answer, and the client (which holds an
    /// accepted upload open until it is released).
    private func open(_ path: String, size: Int, on daemon: Daemon, _ env: TestEnvironment) throws -> (ClientEvent, RawClient) {
        let client = try RawClient(port: daemon.port, client: env.alice)
        _ = try client.handshake()
        return (try client.open(path, size: UInt64(size)), client)
    }

    private func refusal(_ event: ClientEvent) -> UploadFailure? {
        guard case .uploadFailed(let failure) = event else { return nil }
        return failure
    }

    /// 100 KiB for alice: 60 KiB held open on one daemon leaves no room for 60 KiB on the other, then stored it counts
    /// as usage; a claim of a daemon killed -9 counts until that daemon starts again (or the other settles its
    /// departure, within a minute), and then no more.
    func testAQuotaCountsTheUploadsInProgressOfBothDaemons() throws {
        let env = try TestEnvironment(self)
        let (first, second) = try startPair(env, quota: "100KiB")
        let content = Content.random(60 << 10)
        let (accepted, holder) = try open("one.bin", size: content.count, on: first, env)
        guard case .uploadAccepted = accepted else { return XCTFail("not accepted: \(accepted)") }
        let (crowded, _) = try open("two.bin", size: 60 << 10, on: second, env)
        XCTAssertEqual(refusal(crowded)?.code, .noSpace, "\(crowded)")
        XCTAssertTrue(refusal(crowded)?.message.contains("0 bytes stored, 60.0 KiB in uploads in progress") == true, "\(crowded)")

        try holder.sendData(content)
        guard case .uploadCommitted = try holder.finish(digest: DigestContext.hash(.sha256, content)) else {
            return XCTFail("the held upload did not commit")
        }
        let (full, _) = try open("two.bin", size: 60 << 10, on: second, env)
        XCTAssertTrue(refusal(full)?.message.contains("60.0 KiB stored, 0 bytes in uploads in progress") == true, "\(full)")
        let (fits, claimant) = try open("two.bin", size: 40 << 10, on: second, env)
        guard case .uploadAccepted = fits else { return XCTFail("40 KiB did not fit beside 60: \(fits)") }
        let (over, _) = try open("three.bin", size: 1, on: first, env)
        XCTAssertEqual(refusal(over)?.code, .noSpace, "the other daemon's claim counts: \(over)")

        second.child.signal(SIGKILL)  // with the claim of two.bin's upload, its client still there
        XCTAssertTrue(second.child.wait(timeout: 5))
        withExtendedLifetime(claimant) {}
        let (stillOver, _) = try open("three.bin", size: 1, on: first, env)
        XCTAssertEqual(refusal(stillOver)?.code, .noSpace, "the killed daemon's claim counts until it is settled")
        let restarted = try second.restarted(environment: env)
        let (room, _) = try open("three.bin", size: 1, on: first, env)
        guard case .uploadAccepted = room else { return XCTFail("the claim of the killed daemon stayed: \(room)") }
        restarted.assertRunning("after its restart")
    }
}
