// `ferry rm` and `ferry mv` against a real ferryd over 127.0.0.1 (PROTOCOL.md §14.8, §14.9): a deleted file is gone
// from the listing, from Stat and from the server's disk, with the directories it left empty; a directory needs -r, and
// thousands of files go a batch of 1,000 per request; --dry-run, -f and --json say what they should; the top is never
// deleted. A name being uploaded is not deleted, and a Get that opened a file before its delete gets it whole. A rename
// keeps the file's inode, so its bytes, digest and times; an existing target is refused unless -f; a directory moves
// file by file, never into itself.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class StoreChangeTests: XCTestCase {
    /// Uploads `names` below the source directory `top` (stored as "top/…"), each with its own random bytes.
    private func uploadTree(_ env: TestEnvironment, _ top: String, _ names: [String], to daemon: Daemon,
                            file: StaticString = #filePath, line: UInt = #line) throws -> [String: [UInt8]] {
        let tree = try env.sourceDirectory(top)
        var contents: [String: [UInt8]] = [:]
        for (index, name) in names.enumerated() {
            contents[name] = Content.random(300 + (97 * index) % 1700)
            try Content.write(contents[name]!, to: tree.appendingPathComponent(name))
        }
        let upload = try env.upload([tree.path], to: daemon, parallel: names.count > 100 ? 4 : nil, timeout: 180)
        XCTAssertEqual(upload.status, 0, upload.run.stderr, file: file, line: line)
        return contents
    }

    private func inode(_ url: URL) -> ino_t? {
        var info = stat()
        return stat(url.path, &info) == 0 ? info.st_ino : nil
    }

    private func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    private func ls(_ env: TestEnvironment, _ arguments: [String], _ daemon: Daemon) throws -> [String] {
        outputLines(try env.ferry("ls", arguments, daemon: daemon).stdout)
    }

    // MARK: rm

    func testADeletedFileIsGoneFromListingStatAndDiskAndItsNameCanBeUploadedAgain() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let contents = try uploadTree(env, "t", ["a.txt", "b.txt", "sub/c.txt"], to: daemon)
        let area = daemon.area("alice")

        let rm = try env.ferry("rm", ["-v", "t/a.txt"], daemon: daemon)
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertEqual(rm.stdout, "deleted 't/a.txt'\n")
        XCTAssertEqual(try ls(env, ["-R", "t"], daemon), ["b.txt", "sub/c.txt"])
        let stat = try env.ferry("stat", ["t/a.txt"], daemon: daemon)
        XCTAssertEqual(stat.status, 1, stat.stdout)
        XCTAssertTrue(stat.stderr.contains("cannot stat 't/a.txt': 't/a.txt' is not stored"), stat.stderr)
        XCTAssertFalse(exists(area.appendingPathComponent("t/a.txt")), "the file is still on the server's disk")
        XCTAssertTrue(exists(area.appendingPathComponent("t")), "a directory that still holds b.txt was removed")

        // The last file of t/sub: its directory goes from the disk, t stays (b.txt is still in it).
        XCTAssertEqual(try env.ferry("rm", ["t/sub/c.txt"], daemon: daemon).status, 0)
        XCTAssertEqual(directories(under: area), ["t"])
        XCTAssertEqual(daemon.filesUnderRoot(), ["alice/t/b.txt"])

        // The deleted names are free: uploaded again (a.txt with new bytes), stored and listed.
        let newer = Content.random(4321)
        try Content.write(newer, to: try env.sourceDirectory("t").appendingPathComponent("a.txt"))
        let again = try env.upload([try env.sourceDirectory("t").path], to: daemon)
        XCTAssertEqual(again.status, 0, again.run.stderr)
        XCTAssertEqual(try ls(env, ["-R", "t"], daemon), ["a.txt", "b.txt", "sub/c.txt"])
        assertStored(area.appendingPathComponent("t/a.txt"), equals: newer)
        assertStored(area.appendingPathComponent("t/sub/c.txt"), equals: contents["sub/c.txt"]!)
        daemon.assertRunning("after the deletes")
    }

    func testADirectoryNeedsRecursiveAndTheTopIsNeverDeleted() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        _ = try uploadTree(env, "t", ["a.txt", "sub/b.txt", "sub/c.txt"], to: daemon)
        let before = daemon.filesUnderRoot()

        let refused = try env.ferry("rm", ["t/sub"], daemon: daemon)
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("cannot delete 't/sub'") && refused.stderr.contains("-r"), refused.stderr)
        XCTAssertEqual(try ls(env, ["-R", "t"], daemon), ["a.txt", "sub/b.txt", "sub/c.txt"])
        XCTAssertEqual(daemon.filesUnderRoot(), before)

        for top in [[""], ["/"], ["t/a.txt", "/"], ["-r", "//"]] {
            let run = try env.ferry("rm", top, daemon: daemon)
            XCTAssertEqual(run.status, 64, "\(top): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("refusing to delete the top"), run.stderr)
        }
        XCTAssertEqual(daemon.filesUnderRoot(), before, "a refused command deleted something")
    }

    func testDryRunForceAndJSONSayWhatTheyShould() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let contents = try uploadTree(env, "t", ["a.txt", "b.txt", "sub/c.txt", "sub/d.txt"], to: daemon)
        let size = { (name: String) in contents[name]!.count }
        let before = daemon.filesUnderRoot()

        let dry = try env.ferry("rm", ["-n", "-r", "t", "t/sub"], daemon: daemon)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertEqual(outputLines(dry.stdout), [
            "would delete 't' (4 files, \(size("a.txt") + size("b.txt") + size("sub/c.txt") + size("sub/d.txt")) bytes)",
            "would delete 't/sub' (2 files, \(size("sub/c.txt") + size("sub/d.txt")) bytes)",
        ])
        let dryJSON = jsonObjects(try env.ferry("rm", ["--dry-run", "--json", "t/a.txt"], daemon: daemon).stdout)
        XCTAssertEqual(dryJSON.first?["dry_run"] as? Bool, true)
        XCTAssertEqual((dryJSON.first?["bytes"] as? NSNumber)?.intValue, size("a.txt"))
        XCTAssertEqual(daemon.filesUnderRoot(), before, "a dry run deleted something")

        // -f: what is not stored is no error; without it, an error that does not stop the other REMOTEs.
        let forced = try env.ferry("rm", ["-f", "t/nope", "t/a.txt"], daemon: daemon)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(forced.stderr, "")
        let missing = try env.ferry("rm", ["t/nope", "t/b.txt"], daemon: daemon)
        XCTAssertEqual(missing.status, 1, missing.stdout)
        XCTAssertTrue(missing.stderr.contains("cannot delete 't/nope': 't/nope' is not stored"), missing.stderr)
        XCTAssertEqual(try ls(env, ["-R", "t"], daemon), ["sub/c.txt", "sub/d.txt"], "b.txt was not deleted after the miss")

        let json = try env.ferry("rm", ["--json", "-r", "t/gone", "t/sub"], daemon: daemon)
        XCTAssertEqual(json.status, 1, json.stderr)
        let objects = jsonObjects(json.stdout)
        XCTAssertEqual(objects.count, 2, json.stdout)
        XCTAssertEqual(objects.first?["path"] as? String, "t/gone")
        XCTAssertEqual(objects.first?["code"] as? String, "not_found")
        XCTAssertEqual(objects.first?["error"] as? String, "'t/gone' is not stored")
        XCTAssertEqual((objects.first?["files"] as? NSNumber)?.intValue, 0)
        XCTAssertEqual(objects.last?["path"] as? String, "t/sub")
        XCTAssertEqual((objects.last?["files"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((objects.last?["bytes"] as? NSNumber)?.intValue, size("sub/c.txt") + size("sub/d.txt"))
        XCTAssertEqual(objects.last?["dry_run"] as? Bool, false)
        XCTAssertNil(objects.last?["code"], json.stdout)
        XCTAssertNil(objects.last?["error"], json.stdout)
        XCTAssertEqual(daemon.filesUnderRoot(), [])
    }

    /// 2,500 files in a tree of several levels, next to a file that stays: moved, then deleted in three requests of at
    /// most 1,000 files, every directory that became empty removed from the disk, the identity's own directory kept.
    func testThousandsOfFilesGoInBatchesAndEmptiedDirectoriesWithThem() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        var names = (0..<100).map { "top\($0).bin" }
        for index in 0..<2400 {
            let directory = index % 6 == 5 ? "s5/deeper/deepest" : "s\(index % 6)"
            names.append("\(directory)/f\(index).bin")
        }
        let contents = try uploadTree(env, "big", names, to: daemon)
        _ = try uploadTree(env, "keep", ["k.txt"], to: daemon)
        XCTAssertEqual(try ls(env, ["big"], daemon).count, 106)
        let area = daemon.area("alice")

        // Moved first, file by file across the pages of its listing: every file once, the old tree gone from the disk.
        let mv = try env.ferry("mv", ["big", "moved"], daemon: daemon, timeout: 240)
        XCTAssertEqual(mv.status, 0, mv.stderr)
        XCTAssertEqual(try ls(env, ["-R", "moved"], daemon), names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(directories(under: area), ["keep", "moved"] + (0..<6).map { "moved/s\($0)" }
                       + ["moved/s5/deeper", "moved/s5/deeper/deepest"])

        let rm = try env.ferry("rm", ["-r", "-v", "moved"], daemon: daemon, timeout: 120)
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertEqual(rm.stdout, "deleted 'moved' (2500 files, \(contents.values.reduce(0) { $0 + $1.count }) bytes)\n")
        // Its session answered three Deletes (1,000, 1,000 and 500 files); no other session asks three questions.
        XCTAssertNotNil(daemon.waitForLog(timeout: 10) { $0.message == "session closed" && $0["store_requests"] == "3" },
                        "not three batches: \(daemon.logLines(message: "session closed").suffix(2))")
        XCTAssertEqual(try env.ferry("stat", ["big"], daemon: daemon).status, 1)
        XCTAssertEqual(try env.ferry("stat", ["moved"], daemon: daemon).status, 1)
        XCTAssertEqual(daemon.filesUnderRoot(), ["alice/keep/k.txt"])
        XCTAssertEqual(directories(under: area), ["keep"], "directories left empty stay on the disk")

        XCTAssertEqual(try env.ferry("rm", ["keep/k.txt"], daemon: daemon).status, 0)
        XCTAssertTrue(exists(area), "the identity's own directory was removed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: area.path), [])
        let top = try env.ferry("stat", ["--json", ""], daemon: daemon)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual((jsonObjects(top.stdout).first?["files"] as? NSNumber)?.intValue, 0, top.stdout)
        XCTAssertEqual(try ls(env, [], daemon), [])
        daemon.assertRunning("after the deletes")
    }

    // MARK: Races

    /// A delete of a name an upload is writing: a stored file being replaced is `busy` — that REMOTE fails, the others
    /// are deleted (`rm -r` of its directory removes the rest and keeps it) —, a rename of it too, and a new name is not
    /// stored yet; neither upload is disturbed, and both files end up whole.
    func testADeleteDuringAnUploadOfThatNameDeletesNothing() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2, settings: ["storage": ["allow_overwrite = true"]])
        let race = try env.sourceDirectory("race")
        let old = race.appendingPathComponent("old.bin"), new = race.appendingPathComponent("new.bin")
        let other = race.appendingPathComponent("other.bin")
        try Content.write(Content.random(1000), to: old)
        try Content.write(Content.random(2000), to: other)
        XCTAssertEqual(try env.upload([old.path, other.path], to: daemon, dest: "race").status, 0)
        let oldDigest = try Content.writeLarge(size: 12 << 20, to: old)
        let newDigest = try Content.writeLarge(size: 12 << 20, to: new)
        // Both at once, at 2 MiB/s together: about 12 s.
        let upload = try env.startUpload([old.path, new.path], to: daemon, dest: "race",
                                         extra: ["--overwrite", "--parallel", "2", "--bwlimit", "2MiB/s"])
        defer { upload.kill() }
        // (The small files before were pipelined: no "upload started" line of their own.)
        let started = { Set(daemon.logLines(message: "upload started").compactMap { $0["path"] }) }
        XCTAssertTrue(waitUntil(timeout: 15) { started() == ["race/old.bin", "race/new.bin"] }, daemon.log)

        let recursive = try env.ferry("rm", ["-r", "-v", "race"], daemon: daemon)
        XCTAssertEqual(recursive.status, 1, recursive.stdout)
        XCTAssertEqual(recursive.stderr, "ferry rm: cannot delete 'race': 'race/old.bin' is being uploaded; "
            + "delete it once that upload ended\n")
        XCTAssertEqual(try ls(env, ["race"], daemon), ["old.bin"], "other.bin not deleted, or old.bin deleted")
        let busy = try env.ferry("rm", ["race/old.bin"], daemon: daemon)
        XCTAssertEqual(busy.status, 1, busy.stdout)
        XCTAssertTrue(busy.stderr.contains("cannot delete 'race/old.bin': 'race/old.bin' is being uploaded"), busy.stderr)
        let mv = try env.ferry("mv", ["race/old.bin", "race/renamed.bin"], daemon: daemon)
        XCTAssertEqual(mv.status, 1, mv.stdout)
        XCTAssertTrue(mv.stderr.contains("'race/old.bin' is being uploaded; rename it once that upload ended"), mv.stderr)
        let fresh = try env.ferry("rm", ["race/new.bin"], daemon: daemon)
        XCTAssertEqual(fresh.status, 1, fresh.stdout)
        XCTAssertTrue(fresh.stderr.contains("'race/new.bin' is not stored"), fresh.stderr)
        XCTAssertTrue(upload.isRunning, "the upload ended before the deletes: the race was not run")
        XCTAssertEqual(daemon.logLines(message: "store request refused").filter { $0["code"] == "busy" }.count, 3, daemon.log)

        XCTAssertTrue(upload.wait(timeout: 60), "the upload did not end within 60 s")
        XCTAssertEqual(upload.exitStatus, 0, upload.stderr)
        let listed = jsonObjects(try env.ferry("ls", ["--json", "race"], daemon: daemon).stdout)
        XCTAssertEqual(listed.compactMap { $0["name"] as? String }, ["new.bin", "old.bin"])
        XCTAssertEqual(listed.compactMap { $0["sha256"] as? String }, [newDigest, oldDigest])
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("race/old.bin")), oldDigest)
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("race/new.bin")), newDigest)
        XCTAssertEqual(daemon.filesUnderRoot().filter { !$0.hasPrefix(".staging/") }, ["alice/race/new.bin", "alice/race/old.bin"])
        XCTAssertEqual(daemon.stagingEntries().filter { $0.hasSuffix(".part") }, [])
    }

    /// The last stored file of a directory an upload is writing a new file into: deleted, the directory kept (the
    /// upload uses it, PROTOCOL.md §14.8), and the upload stores its file there.
    func testADirectoryAnUploadUsesStaysWhenItsLastStoredFileIsDeleted() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let source = try env.sourceDirectory("u")
        try Content.write([1, 2, 3], to: source.appendingPathComponent("first.txt"))
        XCTAssertEqual(try env.upload([source.appendingPathComponent("first.txt").path], to: daemon, dest: "d/e").status, 0)
        let digest = try Content.writeLarge(size: 8 << 20, to: source.appendingPathComponent("big.bin"))
        let upload = try env.startUpload([source.appendingPathComponent("big.bin").path], to: daemon, dest: "d/e",
                                         extra: ["--bwlimit", "2MiB/s"])
        defer { upload.kill() }
        XCTAssertNotNil(daemon.waitForLog(timeout: 15) { $0.message == "upload started" && $0["path"] == "d/e/big.bin" }, daemon.log)

        let rm = try env.ferry("rm", ["d/e/first.txt"], daemon: daemon)
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertTrue(upload.isRunning, "the upload ended before the delete: the race was not run")
        XCTAssertEqual(directories(under: daemon.area("alice")), ["d", "d/e"], "a directory an upload uses was removed")
        XCTAssertTrue(upload.wait(timeout: 30), "the upload did not end within 30 s")
        XCTAssertEqual(upload.exitStatus, 0, upload.stderr)
        XCTAssertEqual(try ls(env, ["-R", "d"], daemon), ["e/big.bin"])
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("d/e/big.bin")), digest)
    }

    /// A Get streaming a file (held to 4 MiB/s by a proxy) when the file is deleted: it goes on with the version it
    /// opened and ends byte-exact; the file is gone from the store.
    func testAGetStartedBeforeADeleteStillGetsTheWholeFile() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("g").appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: 32 << 20, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon, dest: "g").status, 0)
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 600, bytesPerSecond: 4 << 20, deadline: 60)
        defer { _ = try? proxy.stop() }
        let get = try env.startFerry("get", ["--retries", "0", "g/big.bin", out.path], server: "127.0.0.1:\(proxy.port)")
        defer { get.kill() }
        let part = out.appendingPathComponent("big.bin.part")
        XCTAssertTrue(waitUntil(timeout: 20) { (Content.size(of: part) ?? 0) >= 2 << 20 }, "the get did not start: \(get.stderr)")

        let rm = try env.ferry("rm", ["g/big.bin"], daemon: daemon)
        XCTAssertEqual(rm.status, 0, rm.stderr)
        XCTAssertTrue(get.isRunning, "the get ended before the delete: the race was not run")
        XCTAssertFalse(exists(daemon.area("alice").appendingPathComponent("g/big.bin")))
        XCTAssertEqual(try env.ferry("stat", ["g/big.bin"], daemon: daemon).status, 1)

        XCTAssertTrue(get.wait(timeout: 40), "the get did not end within 40 s")
        XCTAssertEqual(get.exitStatus, 0, get.stderr)
        XCTAssertEqual(try Content.sha256(of: out.appendingPathComponent("big.bin")), digest)
        XCTAssertEqual(daemon.logLines(message: "get started").count, 1, "the get started again")
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 1, daemon.log)
    }

    // MARK: mv

    func testARenamedFileKeepsItsInodeBytesDigestAndTimes() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("m")
        var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 250_000_000), timespec(tv_sec: 1_500_000_000, tv_nsec: 250_000_000)]
        let bytes = Content.random(70_000)
        try Content.write(bytes, to: tree.appendingPathComponent("a.bin"))
        XCTAssertEqual(utimensat(AT_FDCWD, tree.appendingPathComponent("a.bin").path, &times, 0), 0)
        let other = Content.random(900)
        try Content.write(other, to: tree.appendingPathComponent("other.bin"))
        try Content.write([7], to: tree.appendingPathComponent("dir/x.bin"))
        XCTAssertEqual(try env.upload([tree.path], to: daemon).status, 0)
        let area = daemon.area("alice")
        let before = jsonObjects(try env.ferry("ls", ["--json", "m/a.bin"], daemon: daemon).stdout).first
        let storedInode = inode(area.appendingPathComponent("m/a.bin"))

        let mv = try env.ferry("mv", ["-v", "m/a.bin", "m/renamed.bin"], daemon: daemon)
        XCTAssertEqual(mv.status, 0, mv.stderr)
        XCTAssertEqual(mv.stdout, "renamed 'm/a.bin' -> 'm/renamed.bin'\n")
        let after = jsonObjects(try env.ferry("ls", ["--json", "m/renamed.bin"], daemon: daemon).stdout).first
        XCTAssertEqual(after?["path"] as? String, "m/renamed.bin")
        for key in ["sha256", "modified", "uploaded", "uploader"] {
            XCTAssertEqual(after?[key] as? String, before?[key] as? String, key)
        }
        XCTAssertEqual(after?["modified"] as? String, "2017-07-14T02:40:00.250000000Z")
        XCTAssertEqual(try env.ferry("stat", ["m/a.bin"], daemon: daemon).status, 1)
        XCTAssertFalse(exists(area.appendingPathComponent("m/a.bin")))
        XCTAssertNotNil(storedInode)
        XCTAssertEqual(inode(area.appendingPathComponent("m/renamed.bin")), storedInode, "not the same inode: a copy")
        let out = env.directory.appendingPathComponent("out", isDirectory: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let get = try env.ferry("get", ["m/renamed.bin", out.path], daemon: daemon)
        XCTAssertEqual(get.status, 0, get.stderr)
        assertStored(out.appendingPathComponent("renamed.bin"), equals: bytes)

        // Into a directory that exists (files are stored below it), and into a new one named with a trailing "/".
        XCTAssertEqual(try env.ferry("mv", ["m/other.bin", "m/dir"], daemon: daemon).status, 0)
        XCTAssertEqual(try env.ferry("mv", ["m/renamed.bin", "fresh/"], daemon: daemon).status, 0)
        XCTAssertEqual(try ls(env, ["-R", "m"], daemon), ["dir/other.bin", "dir/x.bin"])
        XCTAssertEqual(try ls(env, ["-R", "fresh"], daemon), ["renamed.bin"])
        assertStored(area.appendingPathComponent("m/dir/other.bin"), equals: other)
        XCTAssertEqual(inode(area.appendingPathComponent("fresh/renamed.bin")), storedInode)
    }

    /// -f replaces only where the server allows overwriting ([storage] allow_overwrite, as for uploads).
    func testForceNeedsTheServerToAllowOverwriting() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        _ = try uploadTree(env, "e", ["one.bin", "two.bin"], to: daemon)
        let refused = try env.ferry("mv", ["-f", "e/one.bin", "e/two.bin"], daemon: daemon)
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("does not allow replacing files"), refused.stderr)
        XCTAssertEqual(try ls(env, ["e"], daemon), ["one.bin", "two.bin"])
    }

    func testAnExistingTargetIsRefusedWithoutForceAndReplacedWithIt() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["allow_overwrite = true"]])
        let contents = try uploadTree(env, "e", ["one.bin", "two.bin"], to: daemon)
        let area = daemon.area("alice")
        let digests = {
            try jsonObjects(env.ferry("ls", ["--json", "e"], daemon: daemon).stdout).compactMap { $0["sha256"] as? String }
        }
        let before = try digests()

        let refused = try env.ferry("mv", ["e/one.bin", "e/two.bin"], daemon: daemon)
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("cannot move 'e/one.bin' to 'e/two.bin': 'e/two.bin' already exists"),
                      refused.stderr)
        XCTAssertEqual(try digests(), before)
        assertStored(area.appendingPathComponent("e/one.bin"), equals: contents["one.bin"]!)
        assertStored(area.appendingPathComponent("e/two.bin"), equals: contents["two.bin"]!)

        let forced = try env.ferry("mv", ["-f", "e/one.bin", "e/two.bin"], daemon: daemon)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try ls(env, ["e"], daemon), ["two.bin"])
        XCTAssertEqual(try digests(), [before[0]], "e/two.bin is not the file that was e/one.bin")
        assertStored(area.appendingPathComponent("e/two.bin"), equals: contents["one.bin"]!)
        XCTAssertEqual(regularFiles(under: area), ["e/two.bin"])
    }

    func testADirectoryMovesWithItsTreeAndNeverIntoItself() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let names = ["a.txt", "s/b.txt", "s/t/c.txt", "u/e.txt"]
        let contents = try uploadTree(env, "d", names, to: daemon)
        _ = try uploadTree(env, "stay", ["z.txt"], to: daemon)
        let area = daemon.area("alice")

        let mv = try env.ferry("mv", ["-v", "d", "moved"], daemon: daemon)
        XCTAssertEqual(mv.status, 0, mv.stderr)
        XCTAssertEqual(outputLines(mv.stdout).sorted(), names.map { "renamed 'd/\($0)' -> 'moved/\($0)'" }.sorted())
        XCTAssertEqual(try ls(env, ["-R", "moved"], daemon), names)
        XCTAssertEqual(try env.ferry("stat", ["d"], daemon: daemon).status, 1)
        XCTAssertFalse(exists(area.appendingPathComponent("d")), "the old directories stay on the server's disk: "
            + "\(directories(under: area))")
        XCTAssertEqual(directories(under: area), ["moved", "moved/s", "moved/s/t", "moved/u", "stay"])
        for name in names { assertStored(area.appendingPathComponent("moved/\(name)"), equals: contents[name]!, name) }

        // Into itself: refused, whether DEST is below SOURCE or SOURCE itself (then DEST/SOURCE's name is below it).
        for destination in ["moved/s/inner", "moved", "moved/"] {
            let run = try env.ferry("mv", ["moved", destination], daemon: daemon)
            XCTAssertEqual(run.status, 1, "\(destination): \(run.stdout)")
            XCTAssertTrue(run.stderr.contains("cannot move 'moved' into itself"), run.stderr)
        }
        XCTAssertEqual(try ls(env, ["-R", "moved"], daemon), names)
        XCTAssertEqual(regularFiles(under: area), names.map { "moved/\($0)" } + ["stay/z.txt"])

        // A new name the protocol cannot carry fails that move, said plainly: DEST fits (4,092 bytes) but DEST/z.txt
        // does not (4,098), and the client does not stop on it.
        let long = (Array(repeating: String(repeating: "d", count: 200), count: 20) + [String(repeating: "e", count: 72)])
            .joined(separator: "/")
        let tooLong = try env.ferry("mv", ["stay/z.txt", long + "/"], daemon: daemon)
        XCTAssertEqual(tooLong.status, 1, tooLong.stderr)
        XCTAssertTrue(tooLong.stderr.contains("cannot move 'stay/z.txt'") && tooLong.stderr.contains("4096"), tooLong.stderr)
        XCTAssertTrue(exists(area.appendingPathComponent("stay/z.txt")))
    }

    func testSeveralSourcesGoIntoDestAndAMissingOneDoesNotStopTheOthers() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let contents = try uploadTree(env, "s", ["p.txt", "q.txt", "r/z.txt", "w.txt"], to: daemon)

        let run = try env.ferry("mv", ["s/p.txt", "s/nope.txt", "s/r", "into/"], daemon: daemon)
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("cannot move 's/nope.txt': 's/nope.txt' is not stored"), run.stderr)
        XCTAssertEqual(try ls(env, ["-R", "into"], daemon), ["p.txt", "r/z.txt"])
        XCTAssertEqual(try ls(env, ["-R", "s"], daemon), ["q.txt", "w.txt"])
        // Several SOURCEs without a trailing "/": DEST is a directory all the same.
        let two = try env.ferry("mv", ["s/q.txt", "into/p.txt", "other"], daemon: daemon)
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(try ls(env, ["-R", "other"], daemon), ["p.txt", "q.txt"])
        XCTAssertEqual(regularFiles(under: daemon.area("alice")), ["into/r/z.txt", "other/p.txt", "other/q.txt", "s/w.txt"])
        assertStored(daemon.area("alice").appendingPathComponent("other/p.txt"), equals: contents["p.txt"]!)
        daemon.assertRunning("after the moves")
    }
}
