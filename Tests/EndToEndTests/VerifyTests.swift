// `ferry verify LOCAL [REMOTE]` against a real ferryd over 127.0.0.1 (PROTOCOL.md §14.10): an uploaded tree matches;
// a local file changed, a local file never uploaded and a stored file no longer here are each named; a stored file
// written in place on the server is "damaged" when the server re-reads it (and ferryd warns its operator), which
// --quick, trusting the digest recorded at upload, cannot see; --json gives each file its status and the three
// digests; a file verifies under the name `ferry mv` gave it.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class VerifyTests: XCTestCase {
    private let warning = "stored file differs from its recorded SHA-256"

    /// Uploads a tree as alice under "v/": a.txt, b.bin, sub/c.txt, sub/deep/d.bin, each with its own random bytes.
    private func uploadTree(_ env: TestEnvironment, to daemon: Daemon) throws -> (URL, [String: String]) {
        let tree = try env.sourceDirectory("v")
        var digests: [String: String] = [:]
        for (index, name) in ["a.txt", "b.bin", "sub/c.txt", "sub/deep/d.bin"].enumerated() {
            digests[name] = try Content.write(Content.random(2000 + 3001 * index), to: tree.appendingPathComponent(name))
        }
        let upload = try env.upload([tree.path], to: daemon)
        XCTAssertEqual(upload.status, 0, upload.run.stderr)
        return (tree, digests)
    }

    /// Writes `bytes` into the stored file at `offset`, in place, on the server's disk (its inode, its digest record
    /// and the index row untouched): what a disk that decays or an operator's editor does behind the daemon's back.
    private func damage(_ url: URL, at offset: UInt64, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: url)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    private func verify(_ env: TestEnvironment, _ arguments: [String], _ daemon: Daemon,
                        file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
        try env.ferry("verify", arguments, daemon: daemon, timeout: 120, file: file, line: line)
    }

    func testAnUploadedTreeMatchesAndEachLocalChangeIsNamed() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let (tree, _) = try uploadTree(env, to: daemon)

        let clean = try verify(env, ["-v", tree.path], daemon)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual(outputLines(clean.stdout).sorted(), ["ok: v/a.txt", "ok: v/b.bin", "ok: v/sub/c.txt", "ok: v/sub/deep/d.bin"])
        XCTAssertEqual(clean.stderr, "ferry verify: 4 files: 4 match\n")
        let quiet = try verify(env, [tree.path], daemon)
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stdout, "", "a line for a file that matches, without -v")

        // A local file changed, one added here, one removed here (still stored).
        try Content.write(Content.random(2000), to: tree.appendingPathComponent("a.txt"))
        try Content.write([1, 2, 3], to: tree.appendingPathComponent("sub/extra.txt"))
        try FileManager.default.removeItem(at: tree.appendingPathComponent("sub/deep/d.bin"))
        let expected = ["differs: v/a.txt", "missing on server: v/sub/extra.txt", "only on server: v/sub/deep/d.bin"]
        for mode in [[], ["--quick"]] {
            let changed = try verify(env, mode + [tree.path], daemon)
            XCTAssertEqual(changed.status, 1, "\(mode): \(changed.stdout)")
            XCTAssertEqual(outputLines(changed.stdout).sorted(), expected, "\(mode)")
            XCTAssertEqual(changed.stderr, "ferry verify: 5 files: 2 match, 1 differ, 1 missing on server, 1 only on server\n",
                           "\(mode)")
        }
        XCTAssertEqual(daemon.logLines(message: warning).count, 0, "an intact stored file reported damaged")
        // Requests per verify's session (the upload's ask none): the default mode a Stat, a List and a Verify per file
        // stored on both sides (4, 4, then 3: a.txt, b.bin, sub/c.txt); --quick the Stat and the List alone.
        let asked = { daemon.logLines(message: "session closed").compactMap { $0["store_requests"] }.filter { $0 != "0" } }
        XCTAssertTrue(waitUntil(timeout: 10) { asked().count == 4 }, daemon.log)
        XCTAssertEqual(asked().sorted(), ["2", "5", "6", "6"])
        daemon.assertRunning("after the verifies")
    }

    /// A stored file written in place on the server, one of 40 MiB (the server re-reads it in several steps) damaged
    /// near its end: the default mode says "damaged on server" and ferryd logs a warning with both digests. --quick
    /// compares the local file with the digest recorded at upload, which still matches it: by design it cannot see
    /// the damage (it reads nothing on the server), and says the file matches.
    func testAFileDamagedOnTheServerIsFoundByTheReReadAndNotByQuick() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("w")
        let bigDigest = try Content.writeLarge(size: 40 << 20, to: tree.appendingPathComponent("big.bin"))
        let smallDigest = try Content.write(Content.random(300_000), to: tree.appendingPathComponent("small.bin"))
        try Content.write(Content.random(5000), to: tree.appendingPathComponent("intact.bin"))
        XCTAssertEqual(try env.upload([tree.path], to: daemon).status, 0)
        let stored = daemon.area("alice").appendingPathComponent("w")
        try damage(stored.appendingPathComponent("big.bin"), at: (40 << 20) - 1000, with: [0xFF, 0xFE, 0xFD])
        try damage(stored.appendingPathComponent("small.bin"), at: 1000, with: [0x00, 0x01])
        let bigRead = try Content.sha256(of: stored.appendingPathComponent("big.bin"))
        let smallRead = try Content.sha256(of: stored.appendingPathComponent("small.bin"))
        XCTAssertNotEqual(bigRead, bigDigest)

        let run = try verify(env, [tree.path], daemon)
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertEqual(outputLines(run.stdout).sorted(), [
            "damaged on server: w/big.bin (re-read, it is no longer the file stored: tell the server's operator)",
            "damaged on server: w/small.bin (re-read, it is no longer the file stored: tell the server's operator)",
        ])
        XCTAssertEqual(run.stderr, "ferry verify: 3 files: 1 match, 2 damaged on server\n")
        let warnings = daemon.logLines(message: warning)
        XCTAssertEqual(warnings.map { $0["path"] ?? "" }.sorted(), ["alice/w/big.bin", "alice/w/small.bin"], daemon.log)
        let big = warnings.first { $0["path"] == "alice/w/big.bin" }
        XCTAssertEqual(big?["recorded"], bigDigest)
        XCTAssertEqual(big?["read"], bigRead)
        XCTAssertEqual(big?["size"], "\(40 << 20)")
        XCTAssertEqual(big?["level"], "warning")

        let json = jsonObjects(try verify(env, ["--json", tree.path], daemon).stdout)
        let small = json.first { $0["path"] as? String == "w/small.bin" }
        XCTAssertEqual(small?["status"] as? String, "damaged")
        XCTAssertEqual(small?["local_sha256"] as? String, smallDigest)
        XCTAssertEqual(small?["recorded_sha256"] as? String, smallDigest, "the digest recorded at upload is the local file's")
        XCTAssertEqual(small?["read_sha256"] as? String, smallRead)

        // --quick: not detectable (see above).
        let quick = try verify(env, ["--quick", "-v", tree.path], daemon)
        XCTAssertEqual(quick.status, 0, quick.stdout)
        XCTAssertEqual(outputLines(quick.stdout).sorted(), ["ok: w/big.bin", "ok: w/intact.bin", "ok: w/small.bin"])
        XCTAssertEqual(daemon.logLines(message: warning).count, 4, "--quick read a file on the server")
        daemon.assertRunning("after the verifies")
    }

    /// A re-read that takes the server longer than the client's --timeout: PROTOCOL.md §14.10 says the answer comes
    /// when the server is done (it does not count that time as the session being idle), so the client waits for it.
    /// The stored file is grown to 3 GiB in place on the server's disk, sparse (nothing large sent or written): a few
    /// seconds of reading and hashing for the daemon, then "damaged on server".
    /// The server's re-read of a 96 MiB file slowed to about 2 s (strace delays each of its 1 MiB reads), with the
    /// client's --timeout at 1 s: the client waits, since its timeout is extended by the file's size while the server
    /// reads it (as while an upload is made durable), and the answer comes.
    func testAReReadLongerThanTheClientTimeoutIsWaitedFor() throws {
        guard FileManager.default.isExecutableFile(atPath: SyscallTrace.strace.path) else {
            throw XCTSkip("strace is not installed")
        }
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("long").appendingPathComponent("big.bin")
        _ = try Content.write(Content.random(96 << 20), to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)

        let stored = daemon.area("alice").appendingPathComponent("big.bin").path
        let tracer = try ChildProcess(SyscallTrace.strace, ["-f", "-qq", "-e", "trace=pread64", "-P", stored,
                                                            "-e", "inject=pread64:delay_exit=20000", "-o", "/dev/null",
                                                            "-p", "\(daemon.pid)"],
                                      outputDirectory: env.directory, name: "strace-slow")
        defer {
            if tracer.isRunning { tracer.signal(SIGINT) }
            XCTAssertTrue(tracer.wait(timeout: 5), "strace did not stop")
        }
        XCTAssertTrue(waitUntil(timeout: 10, { SyscallTrace.isTraced(daemon.pid) }), "strace did not attach")
        let started = Date()
        let run = try verify(env, ["--timeout", "1", "--retries", "0", file.path], daemon)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "ferry verify: 1 file: 1 match\n")
        XCTAssertGreaterThan(seconds, 1.5, "the re-read was not slowed past --timeout: the test proves nothing")
        daemon.assertRunning("after the long re-read")
    }

    func testJSONGivesEachFileItsStatusAndDigests() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let (tree, digests) = try uploadTree(env, to: daemon)
        let changed = try Content.write(Content.random(10), to: tree.appendingPathComponent("b.bin"))
        let extra = try Content.write([9, 9], to: tree.appendingPathComponent("new.txt"))
        try FileManager.default.removeItem(at: tree.appendingPathComponent("sub/c.txt"))

        for mode in [[], ["--quick"]] {
            let run = try verify(env, mode + ["--json", tree.path], daemon)
            XCTAssertEqual(run.status, 1, "\(mode): \(run.stderr)")
            XCTAssertEqual(run.stderr, "", "\(mode): a summary with --json")
            var objects: [String: [String: Any]] = [:]
            for object in jsonObjects(run.stdout) { objects[object["path"] as? String ?? "?"] = object }
            XCTAssertEqual(objects.keys.sorted(), ["v/a.txt", "v/b.bin", "v/new.txt", "v/sub/c.txt", "v/sub/deep/d.bin"], "\(mode)")
            func field(_ path: String, _ key: String) -> String? { objects[path]?[key] as? String }
            let read = mode.isEmpty ? digests["a.txt"] : nil  // --quick: nothing re-read, no read_sha256
            XCTAssertEqual(field("v/a.txt", "status"), "match")
            XCTAssertEqual(field("v/a.txt", "local"), tree.appendingPathComponent("a.txt").path)
            XCTAssertEqual([field("v/a.txt", "local_sha256"), field("v/a.txt", "recorded_sha256")],
                           [digests["a.txt"], digests["a.txt"]])
            XCTAssertEqual(field("v/a.txt", "read_sha256"), read, "\(mode)")
            XCTAssertEqual(field("v/b.bin", "status"), "differs")
            XCTAssertEqual([field("v/b.bin", "local_sha256"), field("v/b.bin", "recorded_sha256")], [changed, digests["b.bin"]])
            XCTAssertEqual(field("v/b.bin", "read_sha256"), mode.isEmpty ? digests["b.bin"] : nil, "\(mode)")
            XCTAssertEqual(field("v/new.txt", "status"), "missing_on_server")
            XCTAssertEqual(field("v/new.txt", "local_sha256"), extra)
            XCTAssertNil(objects["v/new.txt"]?["recorded_sha256"])
            XCTAssertEqual(field("v/sub/c.txt", "status"), "only_on_server")
            XCTAssertNil(objects["v/sub/c.txt"]?["local"], "a file only on the server has no local path")
            XCTAssertNil(objects["v/sub/c.txt"]?["local_sha256"])
            XCTAssertEqual(field("v/sub/c.txt", "recorded_sha256"), digests["sub/c.txt"])
            XCTAssertEqual(field("v/sub/deep/d.bin", "status"), "match")
            XCTAssertTrue(objects.values.allSatisfy { $0["error"] == nil }, run.stdout)
        }
    }

    /// A file moved with `ferry mv` verifies under its new name given as REMOTE; under its old one (the default, its
    /// local name) it is missing. A directory, the same.
    func testAFileVerifiesUnderTheNameItWasMovedTo() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("one").appendingPathComponent("one.bin")
        let digest = try Content.write(Content.random(123_456), to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let (tree, _) = try uploadTree(env, to: daemon)
        XCTAssertEqual(try env.ferry("mv", ["one.bin", "kept/two.bin"], daemon: daemon).status, 0)
        XCTAssertEqual(try env.ferry("mv", ["v", "archive/v2"], daemon: daemon).status, 0)

        let moved = try verify(env, ["-v", file.path, "kept/two.bin"], daemon)
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertEqual(moved.stdout, "ok: kept/two.bin\n")
        XCTAssertEqual(moved.stderr, "ferry verify: 1 file: 1 match\n")
        let json = jsonObjects(try verify(env, ["--json", file.path, "/kept/two.bin"], daemon).stdout)
        XCTAssertEqual(json.first?["status"] as? String, "match")
        XCTAssertEqual(json.first?["read_sha256"] as? String, digest)

        let old = try verify(env, [file.path], daemon)
        XCTAssertEqual(old.status, 1, old.stdout)
        XCTAssertEqual(old.stdout, "missing on server: one.bin\n")
        XCTAssertEqual(old.stderr, "ferry verify: 1 file: 1 missing on server\n")

        let directory = try verify(env, ["-v", tree.path, "archive/v2"], daemon)
        XCTAssertEqual(directory.status, 0, directory.stderr)
        XCTAssertEqual(outputLines(directory.stdout).sorted(),
                       ["ok: archive/v2/a.txt", "ok: archive/v2/b.bin", "ok: archive/v2/sub/c.txt", "ok: archive/v2/sub/deep/d.bin"])
        let gone = try verify(env, ["--quick", tree.path], daemon)
        XCTAssertEqual(gone.status, 1, gone.stdout)
        XCTAssertEqual(outputLines(gone.stdout).count, 4, gone.stdout)
        XCTAssertTrue(outputLines(gone.stdout).allSatisfy { $0.hasPrefix("missing on server: v/") }, gone.stdout)
        XCTAssertEqual(daemon.logLines(message: warning).count, 0)
    }
}
