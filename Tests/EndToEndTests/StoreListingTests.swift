// `ferry ls` and `ferry stat` against a real ferryd over 127.0.0.1 (PROTOCOL.md §14, issue #18): what an upload stored
// is listed from the index — names in byte order, a directory's files and subdirectories, every file with -R, the
// long format and JSON with the digests, sizes, times and uploader the upload gave —, a listing of thousands of entries
// crosses pages without losing or repeating one, a missing path or one against the rules is an error with exit 1 and
// the rest still answered, and a server without an index says so.
import Foundation
import TestSupport
import XCTest

final class StoreListingTests: XCTestCase {
    private func ferry(_ env: TestEnvironment, _ command: String, _ arguments: [String], daemon: Daemon,
                       file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
        let alice = env.alice
        return try runToCompletion(env.binaries.ferry, [command, "--server", daemon.address, "--ca", alice.ca.path,
                                                        "--cert", alice.certificate.path, "--key", alice.key.path] + arguments,
                                   outputDirectory: env.directory, name: "ferry-\(command)", timeout: 60, file: file, line: line)
    }

    private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    private func jsonLines(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        lines(text).compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if object == nil { XCTFail("not a JSON object: \(line)", file: file, line: 0) }
            return object
        }
    }

    /// Uploads a small tree as alice under "t/": a.txt, b-x.txt, b/c.txt, b/d/e.txt, with known contents and times.
    private func uploadTree(_ env: TestEnvironment, to daemon: Daemon) throws -> [String: (bytes: [UInt8], sha256: String)] {
        let tree = try env.sourceDirectory("t")
        var files: [String: (bytes: [UInt8], sha256: String)] = [:]
        for (index, name) in ["a.txt", "b-x.txt", "b/c.txt", "b/d/e.txt"].enumerated() {
            let url = tree.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let bytes = Content.random(1000 + index * 517)
            files[name] = (bytes, try Content.write(bytes, to: url))
            var times = [timespec(tv_sec: 1_600_000_000 + index, tv_nsec: 123_456_789),
                         timespec(tv_sec: 1_600_000_000 + index, tv_nsec: 123_456_789)]
            XCTAssertEqual(utimensat(AT_FDCWD, url.path, &times, 0), 0)
        }
        let upload = try env.upload([tree.path], to: daemon)
        XCTAssertEqual(upload.status, 0, upload.run.stderr)
        return files
    }

    func testListingAndStatShowWhatTheUploadStored() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let files = try uploadTree(env, to: daemon)

        let top = try ferry(env, "ls", [], daemon: daemon)
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(lines(top.stdout), ["t/"])
        // Byte order: "b-x.txt" (0x2D) before "b/" (0x2F); a subdirectory once, however much is below it.
        let t = try ferry(env, "ls", ["t"], daemon: daemon)
        XCTAssertEqual(lines(t.stdout), ["a.txt", "b-x.txt", "b/"], t.stderr)
        XCTAssertEqual(lines(try ferry(env, "ls", ["/t/b/"], daemon: daemon).stdout), ["c.txt", "d/"])
        let recursive = try ferry(env, "ls", ["-R", "t"], daemon: daemon)
        XCTAssertEqual(lines(recursive.stdout), ["a.txt", "b-x.txt", "b/c.txt", "b/d/e.txt"], recursive.stderr)
        let single = try ferry(env, "ls", ["t/b/c.txt"], daemon: daemon)
        XCTAssertEqual(lines(single.stdout), ["t/b/c.txt"], single.stderr)

        let json = jsonLines(try ferry(env, "ls", ["-R", "--json", "t"], daemon: daemon).stdout)
        XCTAssertEqual(json.count, 4)
        for (index, object) in json.enumerated() {
            let name = object["name"] as? String ?? ""
            XCTAssertEqual(object["path"] as? String, "t/" + name)
            XCTAssertEqual(object["type"] as? String, "file")
            XCTAssertEqual(object["sha256"] as? String, files[name]?.sha256, name)
            XCTAssertEqual((object["size"] as? NSNumber)?.intValue, files[name]?.bytes.count, name)
            XCTAssertEqual(object["uploader"] as? String, "alice")
            XCTAssertEqual(object["modified"] as? String, "2020-09-13T12:26:4\(index).123456789Z", name)
            XCTAssertNotNil(object["uploaded"] as? String)
        }
        let long = lines(try ferry(env, "ls", ["-l", "t/b"], daemon: daemon).stdout)
        XCTAssertEqual(long.count, 2)
        XCTAssertTrue(long[0].contains("\(files["b/c.txt"]!.bytes.count)") && long[0].contains(String(files["b/c.txt"]!.sha256.prefix(12)))
                      && long[0].hasSuffix("  c.txt"), long[0])
        XCTAssertTrue(long[1].hasSuffix("-  d/"), long[1])

        let stat = try ferry(env, "stat", ["--json", "t/b", "t/a.txt", "t"], daemon: daemon)
        XCTAssertEqual(stat.status, 0, stat.stderr)
        let stats = jsonLines(stat.stdout)
        XCTAssertEqual(stats.count, 3)
        XCTAssertEqual(stats[0]["type"] as? String, "directory")
        XCTAssertEqual((stats[0]["files"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((stats[0]["bytes"] as? NSNumber)?.intValue, files["b/c.txt"]!.bytes.count + files["b/d/e.txt"]!.bytes.count)
        XCTAssertEqual(stats[1]["sha256"] as? String, files["a.txt"]?.sha256)
        XCTAssertEqual((stats[2]["files"] as? NSNumber)?.intValue, 4)
        let human = try ferry(env, "stat", ["t/a.txt"], daemon: daemon)
        XCTAssertTrue(human.stdout.contains("sha256: \(files["a.txt"]!.sha256)") && human.stdout.contains("uploader: alice"),
                      human.stdout)
    }

    func testAMissingOrForbiddenPathIsAnErrorAndTheOthersAreStillAnswered() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        _ = try uploadTree(env, to: daemon)
        let ls = try ferry(env, "ls", ["t/nope", "t/b", "t/a.txt/", "t/../x"], daemon: daemon)
        XCTAssertEqual(ls.status, 1, ls.stderr)
        XCTAssertTrue(ls.stderr.contains("cannot access 't/nope': 't/nope' is not stored"), ls.stderr)
        XCTAssertTrue(ls.stderr.contains("cannot access 't/../x'") && ls.stderr.contains(".."), ls.stderr)
        XCTAssertEqual(ls.stdout, "t/b:\nc.txt\nd/\nt/a.txt\n", "the others are listed, with headings")
        let stat = try ferry(env, "stat", ["t/nope", "t/a.txt"], daemon: daemon)
        XCTAssertEqual(stat.status, 1)
        XCTAssertTrue(stat.stderr.contains("cannot stat 't/nope'"), stat.stderr)
        XCTAssertTrue(stat.stdout.contains("path: t/a.txt"), stat.stdout)
        // With --json the failure is a line of the output too (path, code, error), as ferry rm gives it.
        for command in ["ls", "stat"] {
            let json = jsonLines(try ferry(env, command, ["--json", "t/nope", "t/a.txt"], daemon: daemon).stdout)
            let failed = json.first { $0["path"] as? String == "t/nope" }
            XCTAssertEqual(failed?["code"] as? String, "not_found", "\(command): \(json)")
            XCTAssertNotNil(failed?["error"] as? String, command)
            XCTAssertEqual(json.count, 2, command)
        }
        XCTAssertEqual(daemon.logLines(message: "store request refused").count, 5, daemon.log)
        daemon.assertRunning("after the refusals")
    }

    /// 2,345 files in one directory and 7 subdirectories of 3 each: listed across pages of at most 1,000 entries, each
    /// once, in byte order, with and without -R.
    func testThousandsOfEntriesCrossPagesWithoutLossOrRepeat() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("many")
        var expected: [String] = []
        for index in 0..<2345 {
            let name = String(format: "f%05d-%@.bin", index, index % 3 == 0 ? "long-name-to-fill-pages-faster" : "x")
            try Content.write([UInt8(index & 0xFF)], to: tree.appendingPathComponent(name))
            expected.append(name)
        }
        var subdirectories: [String] = []
        for directory in 0..<7 {
            for file in 0..<3 {
                let name = "sub\(directory)/g\(file)"
                try FileManager.default.createDirectory(at: tree.appendingPathComponent("sub\(directory)"), withIntermediateDirectories: true)
                try Content.write([UInt8(file)], to: tree.appendingPathComponent(name))
                subdirectories.append(name)
            }
        }
        let upload = try env.upload([tree.path], to: daemon, parallel: 4, timeout: 120)
        XCTAssertEqual(upload.status, 0, upload.run.stderr)
        let listing = try ferry(env, "ls", ["many"], daemon: daemon)
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let names = lines(listing.stdout)
        let wanted = (expected + (0..<7).map { "sub\($0)/" }).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        XCTAssertEqual(names.count, wanted.count)
        XCTAssertEqual(names, wanted)
        let recursive = lines(try ferry(env, "ls", ["-R", "many"], daemon: daemon).stdout)
        XCTAssertEqual(recursive, (expected + subdirectories).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    func testAServerWithoutAnIndexSaysItCannotList() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["index": ["backend = \"off\""]])
        let run = try ferry(env, "ls", [], daemon: daemon)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("keeps no metadata index"), run.stderr)
        let stat = try ferry(env, "stat", ["x"], daemon: daemon)
        XCTAssertEqual(stat.status, 1)
        XCTAssertTrue(stat.stderr.contains("keeps no metadata index"), stat.stderr)
    }

    func testAServerThatCannotBeReachedExits69() throws {
        let env = try TestEnvironment(self)
        let port = try Daemon.freePort()
        let alice = env.alice
        let run = try runToCompletion(env.binaries.ferry, ["ls", "--server", "127.0.0.1:\(port)", "--ca", alice.ca.path,
                                                           "--cert", alice.certificate.path, "--key", alice.key.path,
                                                           "--retries", "1"],
                                      outputDirectory: env.directory, name: "ferry-ls", timeout: 60)
        XCTAssertEqual(run.status, 69, run.stderr)
        XCTAssertTrue(run.stderr.contains("cannot connect") && run.stderr.contains("trying again"), run.stderr)
    }
}
