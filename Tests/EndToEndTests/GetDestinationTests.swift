// `ferry get` where the local side is the problem (issue #18), against a real ferryd over 127.0.0.1: a write that
// fails (the file-size limit, as a full disk would) stops that file's Get at once — the server does not stream the
// rest for nothing — and the next file is got on a new connection; two files for one place, a name beside its own
// partial's name, a name too long for `.part`, and a directory where a file goes.
import Foundation
import TestSupport
import XCTest

final class GetDestinationTests: XCTestCase {
    private func credentials(_ env: TestEnvironment, _ daemon: Daemon) -> [String] {
        let alice = env.alice
        return ["--server", daemon.address, "--ca", alice.ca.path, "--cert", alice.certificate.path, "--key", alice.key.path]
    }

    private func files(_ run: RunResult) -> [String: [String: Any]] { files(run.stdoutData) }

    private func files(_ data: Data) -> [String: [String: Any]] {
        let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        var byRemote: [String: [String: Any]] = [:]
        for file in report?["files"] as? [[String: Any]] ?? [] { byRemote[file["remote"] as? String ?? ""] = file }
        return byRemote
    }

    /// RLIMIT_FSIZE (`ulimit -f`, SIGXFSZ ignored) makes every write past 4 MiB fail with EFBIG, as ENOSPC would.
    func testALocalWriteFailureStopsThatGetAndTheNextFileIsStillGot() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("d")
        let big = Content.random(256 << 20 + 5), small = Content.random(100_000)
        try Content.write(big, to: source.appendingPathComponent("a-big.bin"))
        try Content.write(small, to: source.appendingPathComponent("b-small.bin"))
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let limitBlocks = 4 << 20 / 512  // ulimit -f counts 512-byte blocks
        let run = try runToCompletion(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "trap '' XFSZ; ulimit -f \(limitBlocks); exec \"$0\" \"$@\"", env.binaries.ferry.path,
            "get", "--json", "--parallel", "1", "--retries", "0"] + credentials(env, daemon) + ["d", out.path],
            outputDirectory: env.directory, name: "ferry-get-limited", timeout: 120)
        XCTAssertEqual(run.status, 1, run.stderr)
        let results = files(run)
        XCTAssertEqual(results["d/a-big.bin"]?["status"] as? String, "failed", run.stdout)
        XCTAssertTrue((results["d/a-big.bin"]?["error"] as? String ?? "").contains("too large"), run.stdout)
        // What the partial holds, as written: the limit, not what was received.
        XCTAssertEqual((results["d/a-big.bin"]?["bytes"] as? NSNumber)?.intValue, 4 << 20, run.stdout)
        let part = out.appendingPathComponent("d/a-big.bin.part")
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: part.path)[.size] as? NSNumber)?.intValue, 4 << 20)
        XCTAssertEqual([UInt8](try Data(contentsOf: part)), Array(big[..<(4 << 20)]))
        XCTAssertEqual(results["d/b-small.bin"]?["status"] as? String, "got", run.stdout)
        assertStored(out.appendingPathComponent("d/b-small.bin"), equals: small)
        // The big file's Get was stopped, not read to its end and dropped: the server never finished sending it.
        let sent = daemon.logLines(message: "get sent").map { $0.fields["path"] ?? "" }
        XCTAssertEqual(sent, ["d/b-small.bin"], daemon.log)

        // Room again: the next run goes on from the partial.
        let again = try runToCompletion(env.binaries.ferry, ["get", "--json"] + credentials(env, daemon) + ["d", out.path],
                                        outputDirectory: env.directory, name: "ferry-get-again", timeout: 120)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual((files(again)["d/a-big.bin"]?["resumed_from"] as? NSNumber)?.intValue, 4 << 20, again.stdout)
        assertStored(out.appendingPathComponent("d/a-big.bin"), equals: big)
    }

    func testEachFileGetsAPlaceAndAPartialOfItsOwn() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let one = try env.sourceDirectory("one"), two = try env.sourceDirectory("two")
        let long = String(repeating: "é", count: 120) + "-long.bin"  // 249 bytes: its ".part" would pass 255
        var contents: [String: [UInt8]] = [:]
        for name in ["x", "x.part", long, "same.bin"] {
            contents[name] = Content.random(70_000 + name.utf8.count)
            try Content.write(contents[name]!, to: one.appendingPathComponent(name))
        }
        try Content.write(Content.random(5), to: two.appendingPathComponent("same.bin"))
        XCTAssertEqual(try env.upload([one.path, two.path], to: daemon).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let run = try runToCompletion(env.binaries.ferry, ["get", "--json", "--parallel", "4"] + credentials(env, daemon)
                                        + ["one/x", "one/x.part", "one/\(long)", "one/same.bin", "two/same.bin", out.path],
                                      outputDirectory: env.directory, name: "ferry-get-places", timeout: 120)
        XCTAssertEqual(run.status, 1, run.stderr)  // two/same.bin goes where one/same.bin went
        let results = files(run)
        for name in ["x", "x.part", long, "same.bin"] {
            XCTAssertEqual(results["one/\(name)"]?["status"] as? String, "got", run.stdout)
            assertStored(out.appendingPathComponent(name), equals: contents[name]!, name)
        }
        XCTAssertEqual(results["two/same.bin"]?["status"] as? String, "failed", run.stdout)
        XCTAssertTrue((results["two/same.bin"]?["error"] as? String ?? "").contains("goes to the same place"), run.stdout)
        let left = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(left, ["same.bin", "x", "x.part", long].sorted(), "no partial left behind")

        // A directory where a file goes: said at once, nothing downloaded.
        try FileManager.default.removeItem(at: out.appendingPathComponent("x"))
        try FileManager.default.createDirectory(at: out.appendingPathComponent("x"), withIntermediateDirectories: true)
        let blocked = try runToCompletion(env.binaries.ferry, ["get"] + credentials(env, daemon) + ["one/x", out.path],
                                          outputDirectory: env.directory, name: "ferry-get-blocked", timeout: 60)
        XCTAssertEqual(blocked.status, 1)
        XCTAssertTrue(blocked.stderr.contains("\(out.path)/x is a directory"), blocked.stderr)
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 4, daemon.log)
    }

    /// A symbolic link already in the destination where the server's names go (a compromised server listing
    /// `sub/x` to write through the user's `sub -> elsewhere`): refused, nothing written there; LOCAL itself, typed
    /// by the user, may be one.
    func testAServersNamesNeverReachThroughALinkInTheDestination() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("t")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let inner = Content.random(1_000), top = Content.random(2_000)
        try Content.write(inner, to: source.appendingPathComponent("sub/x.bin"))
        try Content.write(top, to: source.appendingPathComponent("top.bin"))
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        let elsewhere = env.directory.appendingPathComponent("elsewhere", isDirectory: true)
        for directory in [out.appendingPathComponent("t"), elsewhere] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("t/sub"), withDestinationURL: elsewhere)

        let run = try runToCompletion(env.binaries.ferry, ["get", "--json"] + credentials(env, daemon) + ["t", out.path],
                                      outputDirectory: env.directory, name: "ferry-get-link", timeout: 60)
        XCTAssertEqual(run.status, 1, run.stderr)
        let results = files(run)
        XCTAssertEqual(results["t/sub/x.bin"]?["status"] as? String, "failed", run.stdout)
        XCTAssertTrue((results["t/sub/x.bin"]?["error"] as? String ?? "").contains("is a symbolic link"), run.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [], "written through the link")
        assertStored(out.appendingPathComponent("t/top.bin"), equals: top)

        // LOCAL itself a link the user made: followed, as cp does.
        let linked = env.directory.appendingPathComponent("linked")
        try FileManager.default.createSymbolicLink(at: linked, withDestinationURL: elsewhere)
        let through = try runToCompletion(env.binaries.ferry, ["get"] + credentials(env, daemon) + ["t", linked.path],
                                          outputDirectory: env.directory, name: "ferry-get-linked", timeout: 60)
        XCTAssertEqual(through.status, 0, through.stderr)
        assertStored(elsewhere.appendingPathComponent("t/sub/x.bin"), equals: inner)
    }

    /// A file uploaded without its time (--no-times): the server knows none, so a re-run compares the local copy by
    /// content (its SHA-256 against the recorded one) rather than getting it again; a copy changed in place is got.
    func testAReRunComparesByContentWhenTheServerHasNoTime() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("nt")
        let content = Content.random(300_000)
        try Content.write(content, to: source.appendingPathComponent("f.bin"))
        XCTAssertEqual(try env.upload([source.path], to: daemon, extra: ["--no-times"]).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        func get(_ name: String) throws -> RunResult {
            try runToCompletion(env.binaries.ferry, ["get", "--json"] + credentials(env, daemon) + ["nt", out.path],
                                outputDirectory: env.directory, name: name, timeout: 60)
        }
        XCTAssertEqual(files(try get("first"))["nt/f.bin"]?["status"] as? String, "got")
        XCTAssertEqual(files(try get("again"))["nt/f.bin"]?["status"] as? String, "unchanged")
        var changed = content
        changed[1_000] ^= 0xFF
        try Content.write(changed, to: out.appendingPathComponent("nt/f.bin"))
        XCTAssertEqual(files(try get("changed"))["nt/f.bin"]?["status"] as? String, "got")
        assertStored(out.appendingPathComponent("nt/f.bin"), equals: content)
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 2, daemon.log)
    }

    /// Ctrl-C while a large file arrives: the get stops, reports the file interrupted with what its partial keeps
    /// (one JSON object, still), exits 130; the next run goes on from the partial.
    func testCtrlCKeepsThePartialAndSaysSo() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("i")
        let big = Content.random(64 << 20)
        try Content.write(big, to: source.appendingPathComponent("big.bin"))
        try Content.write(Content.random(10), to: source.appendingPathComponent("small.bin"))
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // Slowed to 8 MiB/s through a proxy, so that the signal comes while bytes arrive.
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 3_600, bytesPerSecond: 8 << 20, deadline: 60)
        defer { _ = try? proxy.stop() }
        let alice = env.alice
        let child = try ChildProcess(env.binaries.ferry, [
            "get", "--json", "--parallel", "1", "--server", "127.0.0.1:\(proxy.port)", "--ca", alice.ca.path, "--cert",
            alice.certificate.path, "--key", alice.key.path, "i/big.bin", "i/small.bin", out.path,
        ], outputDirectory: env.directory, name: "ferry-get-interrupted")
        defer { child.kill() }
        let part = out.appendingPathComponent("big.bin.part").path
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.05) {
            ((try? FileManager.default.attributesOfItem(atPath: part)[.size] as? NSNumber)?.intValue ?? 0) >= 4 << 20
        }, "the get never got going")
        child.signal(SIGINT)
        XCTAssertTrue(child.wait(timeout: 20), "ferry get did not stop on Ctrl-C")
        XCTAssertEqual(child.exitStatus, 130, child.stderr)
        let report = try JSONSerialization.jsonObject(with: child.stdoutData) as? [String: Any]
        XCTAssertEqual(report?["ok"] as? Bool, false, child.stdout)
        let results = files(child.stdoutData)
        XCTAssertEqual(results["i/big.bin"]?["status"] as? String, "interrupted", child.stdout)
        let kept = (results["i/big.bin"]?["bytes"] as? NSNumber)?.intValue ?? 0
        XCTAssertGreaterThanOrEqual(kept, 4 << 20, child.stdout)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: part)[.size] as? NSNumber)?.intValue, kept,
                       "the partial holds what the report says")
        XCTAssertEqual(results["i/small.bin"]?["status"] as? String, "interrupted", "not started: \(child.stdout)")

        let again = try runToCompletion(env.binaries.ferry, ["get", "--json"] + credentials(env, daemon)
                                          + ["i/big.bin", "i/small.bin", out.path],
                                        outputDirectory: env.directory, name: "ferry-get-resumed", timeout: 60)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual((files(again)["i/big.bin"]?["resumed_from"] as? NSNumber)?.intValue, kept, again.stdout)
        assertStored(out.appendingPathComponent("big.bin"), equals: big)
    }

    /// limits.max_downloads bounds the Gets a daemon streams at once (each holds up to 5 MiB): with one streaming
    /// (slowed by a proxy), another is answered busy — said as such — and once the first is done the slot is free.
    func testTheDaemonSendsAtMostMaxDownloadsFilesAtOnce() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2, settings: ["limits": ["max_downloads = 1"]])
        let source = try env.sourceDirectory("m")
        let big = Content.random(16 << 20), small = Content.random(1_000)
        try Content.write(big, to: source.appendingPathComponent("big.bin"))
        try Content.write(small, to: source.appendingPathComponent("small.bin"))
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 3_600, bytesPerSecond: 4 << 20, deadline: 60)
        defer { _ = try? proxy.stop() }
        let alice = env.alice
        let slow = try ChildProcess(env.binaries.ferry, [
            "get", "--server", "127.0.0.1:\(proxy.port)", "--ca", alice.ca.path, "--cert", alice.certificate.path,
            "--key", alice.key.path, "m/big.bin", out.path,
        ], outputDirectory: env.directory, name: "ferry-get-slow")
        defer { slow.kill() }
        XCTAssertNotNil(daemon.waitForLog(timeout: 20) { $0.message == "get started" }, daemon.log)
        let refused = try runToCompletion(env.binaries.ferry, ["get", "--retries", "0"] + credentials(env, daemon)
                                            + ["m/small.bin", out.path],
                                          outputDirectory: env.directory, name: "ferry-get-refused", timeout: 60)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("limits.max_downloads = 1"), refused.stderr)
        XCTAssertTrue(slow.wait(timeout: 30), "the slow get did not finish")
        XCTAssertEqual(slow.exitStatus, 0, slow.stderr)
        let after = try runToCompletion(env.binaries.ferry, ["get"] + credentials(env, daemon) + ["m/small.bin", out.path],
                                        outputDirectory: env.directory, name: "ferry-get-after", timeout: 60)
        XCTAssertEqual(after.status, 0, after.stderr)
        assertStored(out.appendingPathComponent("small.bin"), equals: small)
        assertStored(out.appendingPathComponent("big.bin"), equals: big)
    }
}
