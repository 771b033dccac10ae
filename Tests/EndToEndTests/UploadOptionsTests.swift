// Issue #17 point 1 with real processes: the options rsync and scp users type — --exclude / --include /
// --exclude-from, -n / --dry-run, --bwlimit, -v / -q, -r, -j — and the environment variables between the flags and
// client.toml (flag > environment > file).
import Foundation
import TestSupport
import XCTest

final class UploadOptionsTests: XCTestCase {
    /// photos/{a.jpg, b.tmp, raw/x.dng, raw/y.jpg, build/out.o}.
    private func tree(_ env: TestEnvironment) throws -> URL {
        let photos = try env.sourceDirectory("options").appendingPathComponent("photos")
        for (name, size) in [("a.jpg", 1000), ("b.tmp", 10), ("raw/x.dng", 2000), ("raw/y.jpg", 30), ("build/out.o", 40)] {
            let url = photos.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = try Content.write(Content.random(size), to: url)
        }
        return photos
    }

    /// Every regular file under `directory`, relative to it, sorted.
    private func files(under directory: URL) -> [String] {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        var found: [String] = []
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            found.append(String(url.path.dropFirst(directory.path.count + 1)))
        }
        return found.sorted()
    }

    func testExcludeIncludeAndExcludeFromChooseWhatIsStored() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let photos = try tree(env)
        let patterns = env.directory.appendingPathComponent("patterns.txt")
        try "# build products\nbuild/\r\n\n; and temporaries\n*.tmp\n".write(to: patterns, atomically: true, encoding: .utf8)

        let first = try env.upload([photos.path], to: daemon, extra: ["--exclude-from", patterns.path, "-r"])
        XCTAssertEqual(first.status, 0, first.run.stderr)
        XCTAssertEqual(files(under: daemon.area("alice")), ["photos/a.jpg", "photos/raw/x.dng", "photos/raw/y.jpg"])
        XCTAssertEqual(first.files.count, 3, "left-out files are not reported")

        // rsync's idiom: only the JPEGs, in their directories.
        let jpegs = try env.upload([photos.path], to: daemon, dest: "jpegs",
                                   extra: ["--include", "*/", "--include", "*.jpg", "--exclude", "*"])
        XCTAssertEqual(jpegs.status, 0, jpegs.run.stderr)
        XCTAssertEqual(files(under: daemon.area("alice").appendingPathComponent("jpegs")), ["photos/a.jpg", "photos/raw/y.jpg"])

        let missing = try runToCompletion(env.binaries.ferry, ["upload", "--exclude-from", "/nonexistent/patterns", photos.path],
                                          outputDirectory: env.directory, name: "missing-patterns", timeout: 30)
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("--exclude-from /nonexistent/patterns"), missing.stderr)
    }

    func testDryRunSendsNothingAndSaysWhatWouldBeSent() throws {
        let env = try TestEnvironment(self)
        let photos = try tree(env)
        // No server at all: a dry run makes no connection (and needs no credentials).
        let run = try runToCompletion(env.binaries.ferry, ["upload", "-n", "--exclude", "*.tmp", "--dest", "in", photos.path],
                                      outputDirectory: env.directory, name: "dry-run", timeout: 30)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("would send \(photos.path)/raw/x.dng → in/photos/raw/x.dng ("), run.stdout)
        XCTAssertFalse(run.stdout.contains("b.tmp"), run.stdout)
        XCTAssertTrue(run.stdout.contains("dry run: 4 entries — 4 would be sent ("), run.stdout)
        XCTAssertTrue(run.stdout.contains("no server was asked what it holds"), run.stdout)

        let json = try runToCompletion(env.binaries.ferry, ["upload", "--dry-run", "--json", photos.path, "/nonexistent"],
                                       outputDirectory: env.directory, name: "dry-run-json", timeout: 30)
        XCTAssertEqual(json.status, 1, "a path that would fail makes the dry run fail too")
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any], json.stdout)
        XCTAssertEqual(document["dry_run"] as? Bool, true)
        let entries = try XCTUnwrap(document["files"] as? [[String: Any]])
        XCTAssertEqual(entries.filter { $0["status"] as? String == "would send" }.count, 5)
        XCTAssertEqual(entries.filter { $0["status"] as? String == "would fail" }.map { $0["path"] as? String }, ["/nonexistent"])
        XCTAssertEqual((document["bytes"] as? NSNumber)?.intValue, 1000 + 10 + 2000 + 30 + 40)
        XCTAssertEqual(document["asked_server"] as? Bool, false)
    }

    /// With a server, a dry run asks it about every file (a probe with the file's SHA-256: PROTOCOL.md §8.10) and
    /// says what the upload would do — already stored, would send, would replace, would skip, would fail — whatever
    /// the file's size; nothing is stored, replaced or left behind.
    func testDryRunWithAServerSaysWhatItAlreadyHolds() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let photos = try tree(env)
        let large = photos.appendingPathComponent("raw/large.bin")
        _ = try Content.write(Content.random(3 << 20), to: large)
        let stored = try env.upload([photos.path], to: daemon)
        XCTAssertEqual(stored.status, 0, stored.run.stderr)
        let area = daemon.area("alice").appendingPathComponent("photos")
        let before = files(under: area)
        let storedA = try Data(contentsOf: area.appendingPathComponent("a.jpg"))

        _ = try Content.write(Content.random(1000), to: photos.appendingPathComponent("a.jpg"))  // other content
        _ = try Content.write(Content.random(77), to: photos.appendingPathComponent("new.txt"))
        func statuses(_ outcome: TestEnvironment.UploadOutcome) -> [String: String] {
            var byName: [String: String] = [:]
            for entry in (outcome.json?["files"] as? [[String: Any]]) ?? [] {
                byName[URL(fileURLWithPath: entry["path"] as? String ?? "").lastPathComponent] = entry["status"] as? String
            }
            return byName
        }

        let plain = try env.upload([photos.path], to: daemon, extra: ["-n"])
        XCTAssertEqual(plain.status, 1, "a file that would fail (a.jpg exists) fails the dry run: \(plain.run.stderr)")
        XCTAssertEqual(statuses(plain), ["a.jpg": "would fail", "b.tmp": "already stored", "x.dng": "already stored",
                                         "y.jpg": "already stored", "out.o": "already stored",
                                         "large.bin": "already stored", "new.txt": "would send"])
        XCTAssertEqual(plain.json?["asked_server"] as? Bool, true)
        XCTAssertEqual((plain.json?["bytes"] as? NSNumber)?.intValue, 77, "only new.txt would be sent")
        let failed = ((plain.json?["files"] as? [[String: Any]]) ?? []).first { $0["status"] as? String == "would fail" }
        XCTAssertTrue((failed?["reason"] as? String ?? "").contains("--ignore-existing"), "\(String(describing: failed))")

        let replacing = try env.upload([photos.path], to: daemon, extra: ["-n", "--overwrite"])
        XCTAssertEqual(replacing.status, 0, replacing.run.stderr)
        XCTAssertEqual(statuses(replacing)["a.jpg"], "would replace")
        XCTAssertEqual((replacing.json?["bytes"] as? NSNumber)?.intValue, 77 + 1000)

        let skipping = try env.upload([photos.path], to: daemon, extra: ["-n", "--ignore-existing"])
        XCTAssertEqual(skipping.status, 0, skipping.run.stderr)
        XCTAssertEqual(statuses(skipping)["a.jpg"], "would skip")

        let text = try runToCompletion(env.binaries.ferry, ["upload", "-n", "--server", daemon.address, "--ca", env.alice.ca.path,
                                                            "--cert", env.alice.certificate.path, "--key", env.alice.key.path,
                                                            photos.path], outputDirectory: env.directory, name: "dry-run-text",
                                       timeout: 30)
        XCTAssertTrue(text.stdout.contains("already stored \(large.path) → photos/raw/large.bin\n"), text.stdout)
        XCTAssertTrue(text.stdout.contains("would send \(photos.path)/new.txt → photos/new.txt (77 B)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("1 would be sent (77 B), 5 already stored, 1 would fail; nothing was sent"),
                      text.stdout)
        XCTAssertFalse(text.stderr.contains("FAILED"), "each file reported once, by the dry run: \(text.stderr)")

        XCTAssertEqual(files(under: area), before, "nothing stored")
        XCTAssertEqual(try Data(contentsOf: area.appendingPathComponent("a.jpg")), storedA, "nothing replaced")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: daemon.stagingDirectory.path), [],
                       "nothing left in staging")

        // A server that is not there: the dry run exits as the upload would (69), every file saying why.
        let dead = try Daemon.freePort()
        let unreachable = try runToCompletion(env.binaries.ferry, ["upload", "-n", "--retries", "0", "--server",
                                                                   "127.0.0.1:\(dead)", "--ca", env.alice.ca.path,
                                                                   "--cert", env.alice.certificate.path, "--key",
                                                                   env.alice.key.path, photos.path],
                                              outputDirectory: env.directory, name: "dry-run-unreachable", timeout: 30)
        XCTAssertEqual(unreachable.status, 69, unreachable.stdout + unreachable.stderr)
        XCTAssertTrue(unreachable.stdout.contains("would fail \(photos.path)/new.txt: cannot connect to 127.0.0.1:\(dead)"),
                      unreachable.stdout)
    }

    func testEnvironmentSitsBetweenFlagsAndTheConfigurationFile() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("environment").appendingPathComponent("env.bin")
        _ = try Content.write(Content.random(5000), to: file)
        let dead = try Daemon.freePort()
        // client.toml names a port nobody listens on; the environment the real one; the flag wins over both.
        let config = env.directory.appendingPathComponent("client.toml")
        try "server = \"127.0.0.1:\(dead)\"\nretries = 0\n".write(to: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["FERRY_CONFIG"] = config.path
        environment["FERRY_CA"] = env.alice.ca.path
        environment["FERRY_CERT"] = env.alice.certificate.path
        environment["FERRY_KEY"] = env.alice.key.path
        func upload(_ extra: [String], name: String) throws -> RunResult {
            try runToCompletion(env.binaries.ferry, ["upload", "-q"] + extra + [file.path],
                                outputDirectory: env.directory, name: name, timeout: 60, environment: environment)
        }
        let fromFile = try upload([], name: "from-file")
        XCTAssertEqual(fromFile.status, 69, "client.toml's dead port, through FERRY_CONFIG: \(fromFile.stderr)")
        environment["FERRY_SERVER"] = daemon.address
        let fromEnvironment = try upload([], name: "from-environment")
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
        XCTAssertEqual(fromEnvironment.stdout, "", "-q prints nothing on success")
        environment["FERRY_SERVER"] = "127.0.0.1:\(dead)"
        let fromFlag = try upload(["-s", daemon.address], name: "from-flag")
        XCTAssertEqual(fromFlag.status, 0, fromFlag.stderr)
        environment["FERRY_PARALLEL"] = "many"
        let bad = try upload(["-s", daemon.address], name: "bad-parallel")
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("FERRY_PARALLEL=many"), bad.stderr)
    }

    func testVerboseSaysWhatWasNegotiated() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("verbose").appendingPathComponent("v.bin")
        _ = try Content.write(Content.random(3000), to: file)
        let once = try env.upload([file.path], to: daemon, extra: ["-v"])
        XCTAssertEqual(once.status, 0, once.run.stderr)
        XCTAssertTrue(once.run.stderr.contains("session 1: connected to 127.0.0.1:\(daemon.port)"), once.run.stderr)
        XCTAssertTrue(once.run.stderr.contains("session 1: authenticated server in "), once.run.stderr)
        XCTAssertTrue(once.run.stderr.contains("x25519-mlkem768"), once.run.stderr)
        XCTAssertTrue(once.run.stderr.contains("v.bin: stored as v.bin in "), once.run.stderr)
        let twice = try env.upload([file.path], to: daemon, dest: "again", extra: ["-vv", "-j", "1"])
        // A small file is pipelined (PROTOCOL.md §8.10): probed first (the run starts as if it were a re-run), then sent.
        XCTAssertTrue(twice.run.stderr.contains("session 1: Probe again/v.bin (3000 bytes, SHA-256 "), twice.run.stderr)
        XCTAssertTrue(twice.run.stderr.contains("session 1: again/v.bin: not stored yet"), twice.run.stderr)
        XCTAssertTrue(twice.run.stderr.contains("session 1: Open again/v.bin (3000 bytes, pipelined)"), twice.run.stderr)
        // A larger one goes as a v1 upload: Open, then Accepted.
        let large = try env.sourceDirectory("verbose-large").appendingPathComponent("l.bin")
        _ = try Content.write(Content.random((1 << 20) + 1), to: large)
        let v1 = try env.upload([large.path], to: daemon, dest: "again", extra: ["-vv", "-j", "1"])
        XCTAssertTrue(v1.run.stderr.contains("session 1: Open again/l.bin (1048577 bytes)"), v1.run.stderr)
        XCTAssertTrue(v1.run.stderr.contains("again/l.bin: accepted at byte 0"), v1.run.stderr)
    }

    /// --bwlimit paces the whole run: 3 MiB at 1 MiB/s cannot finish in less than about 2.9 s (the bucket starts with
    /// a tenth of a second's worth). A lower bound only — a slow machine makes it longer, never shorter.
    func testBandwidthLimitPacesTheUpload() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let directory = try env.sourceDirectory("bwlimit")
        var paths: [String] = []
        for index in 0..<3 {
            let url = directory.appendingPathComponent("part-\(index).bin")
            _ = try Content.write(Content.random(1 << 20), to: url)
            paths.append(url.path)
        }
        let started = monotonicSeconds()
        let paced = try env.upload(paths, to: daemon, parallel: 3, extra: ["--bwlimit", "1MiB/s"])
        let seconds = monotonicSeconds() - started
        XCTAssertEqual(paced.status, 0, paced.run.stderr)
        XCTAssertGreaterThan(seconds, 2.8, "3 MiB at 1 MiB/s in \(seconds) s")
        let refused = try runToCompletion(env.binaries.ferry, ["upload", "--bwlimit", "10", "-s", daemon.address] + paths,
                                          outputDirectory: env.directory, name: "bwlimit-10", timeout: 30)
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--bwlimit must be at least 1KiB"), refused.stderr)
    }
}
