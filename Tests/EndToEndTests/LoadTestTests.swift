// `ferry loadtest` as scripts run it: real ferry and ferryd processes on 127.0.0.1, the JSON report read back.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class LoadTestTests: XCTestCase {
    struct LoadRun {
        let run: RunResult
        let json: [String: Any]

        func object(_ key: String) -> [String: Any] { json[key] as? [String: Any] ?? [:] }
        func int(_ section: String, _ key: String) -> Int? { (object(section)[key] as? NSNumber)?.intValue }
        func double(_ section: String, _ key: String) -> Double? { (object(section)[key] as? NSNumber)?.doubleValue }
        var details: String { "\(run.termination)\nstdout:\n\(run.stdout)\nstderr:\n\(run.stderr)" }
    }

    /// `ferry loadtest ARGUMENTS` to completion (bounded); stdout must be exactly one JSON object when `json` is set.
    private func loadtest(_ env: TestEnvironment, _ arguments: [String], timeout: Double = 30,
                          file: StaticString = #filePath, line: UInt = #line) throws -> LoadRun {
        let run = try runToCompletion(env.binaries.ferry, ["loadtest", "--ferryd", env.binaries.ferryd.path] + arguments,
                                      outputDirectory: env.directory, name: "ferry-loadtest", timeout: timeout,
                                      file: file, line: line)
        guard arguments.contains("--json") else { return LoadRun(run: run, json: [:]) }
        guard let json = try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any] else {
            XCTFail("stdout is not one JSON object (\(run.termination)):\n\(run.stdout)\nstderr:\n\(run.stderr)",
                    file: file, line: line)
            throw TestError("no JSON")
        }
        return LoadRun(run: run, json: json)
    }

    func testClosedLoopWithIdleSessionsUploadsEverythingAndReportsTheDaemon() throws {
        let env = try TestEnvironment(self)
        let result = try loadtest(env, ["--spawn", "--sessions", "4", "--files-per-session", "3", "--size", "200KiB",
                                        "--idle-sessions", "20", "--json"])
        report("loadtest closed loop: \(String(format: "%.2f", result.run.seconds)) s")
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(result.run.stderr, "", "--json prints nothing on stderr")
        XCTAssertEqual(result.int("uploads", "completed"), 12, result.details)
        XCTAssertEqual(result.int("uploads", "bytes"), 12 * 204_800)
        XCTAssertEqual(result.int("handshakes", "completed"), 24, "4 load + 20 idle")
        XCTAssertEqual(result.int("idle_sessions", "requested"), 20)
        XCTAssertEqual(result.int("idle_sessions", "established"), 20)
        XCTAssertEqual(result.int("idle_sessions", "open_at_end"), 20)
        for kind in ["connect", "handshake", "integrity", "timeout", "server", "total"] {
            XCTAssertEqual(result.int("errors", kind), 0, "errors.\(kind): \(result.object("errors"))")
        }
        XCTAssertEqual(result.object("errors")["examples"] as? [String], [])
        XCTAssertGreaterThan(result.double("uploads", "mb_per_second") ?? 0, 0)
        let latency = result.object("uploads")["latency_ms"] as? [String: Any] ?? [:]
        let p50 = (latency["p50"] as? NSNumber)?.doubleValue ?? 0
        let max = (latency["max"] as? NSNumber)?.doubleValue ?? 0
        XCTAssertGreaterThan(p50, 0)
        XCTAssertGreaterThanOrEqual(max, p50)

        let config = result.object("config")
        XCTAssertEqual(config["spawned"] as? Bool, true)
        XCTAssertTrue((config["server"] as? String ?? "").hasPrefix("127.0.0.1:"))
        XCTAssertTrue(result.json["rate"] is NSNull)
        let daemon = result.object("daemon")
        XCTAssertGreaterThan((daemon["pid"] as? NSNumber)?.intValue ?? 0, 0)
        for key in ["rss_kib_before", "rss_kib_with_idle", "rss_kib_peak", "rss_kib_end"] {
            XCTAssertGreaterThan((daemon[key] as? NSNumber)?.intValue ?? 0, 0, "daemon.\(key): \(daemon)")
        }
        XCTAssertGreaterThanOrEqual((daemon["rss_kib_peak"] as? NSNumber)?.intValue ?? 0,
                                    (daemon["rss_kib_before"] as? NSNumber)?.intValue ?? .max)
        XCTAssertNotNil(daemon["cpu_seconds_per_gb"] as? NSNumber)

        // The spawned daemon is gone and its temporary directory removed.
        let pid = Int32((daemon["pid"] as? NSNumber)?.intValue ?? 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/proc/\(pid)/stat"), "ferryd \(pid) still runs (or was not reaped)")
    }

    func testIdleSessionsAloneAreHeldAndClosedWithoutErrors() throws {
        let env = try TestEnvironment(self)
        // No load sessions: the last idle handshake ends the run, which then closes every idle session (that one too).
        let result = try loadtest(env, ["--spawn", "--sessions", "0", "--files-per-session", "0", "--idle-sessions", "40",
                                        "--json"])
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(result.int("idle_sessions", "established"), 40)
        XCTAssertEqual(result.int("idle_sessions", "open_at_end"), 40)
        XCTAssertEqual(result.int("handshakes", "completed"), 40)
        XCTAssertEqual(result.int("errors", "total"), 0, result.details)
        XCTAssertGreaterThan(result.double("client", "cpu_seconds") ?? 0, 0, "--sessions 0: CPU of the idle setup")
        let daemon = result.object("daemon")
        XCTAssertGreaterThanOrEqual((daemon["rss_kib_with_idle"] as? NSNumber)?.intValue ?? 0,
                                    (daemon["rss_kib_before"] as? NSNumber)?.intValue ?? .max)
    }

    func testOpenLoopHandshakesAtTheRequestedRate() throws {
        let env = try TestEnvironment(self)
        let result = try loadtest(env, ["--spawn", "--sessions", "2", "--files-per-session", "0", "--rate", "20",
                                        "--duration", "2", "--json"])
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(result.double("rate", "requested"), 20)
        let achieved = result.double("rate", "achieved") ?? 0
        report("loadtest open loop: requested 20/s, achieved \(achieved)/s")
        XCTAssertGreaterThan(achieved, 5, result.details)
        XCTAssertLessThan(achieved, 25, result.details)
        XCTAssertGreaterThan(result.int("handshakes", "completed") ?? 0, 10, result.details)
        XCTAssertEqual(result.int("uploads", "completed"), 0)
        XCTAssertEqual(result.int("errors", "total"), 0, result.details)
        XCTAssertGreaterThanOrEqual((result.json["elapsed_seconds"] as? NSNumber)?.doubleValue ?? 0, 2, "the window is 2 s")
    }

    func testNothingListeningCountsOneConnectErrorPerSession() throws {
        let env = try TestEnvironment(self)
        let port = try Daemon.freePort()
        let alice = env.alice
        let result = try loadtest(env, ["--server", "127.0.0.1:\(port)", "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--sessions", "3", "--files-per-session", "1",
                                        "--size", "1KiB", "--timeout", "5", "--json"])
        XCTAssertEqual(result.run.status, 1, result.details)
        XCTAssertEqual(result.int("errors", "connect"), 3, result.details)
        XCTAssertEqual(result.int("errors", "total"), 3)
        XCTAssertEqual(result.int("handshakes", "completed"), 0)
        XCTAssertEqual(result.object("config")["spawned"] as? Bool, false)
        XCTAssertTrue(result.json["daemon"] is NSNull, "no --daemon-pid: no daemon figures")
        XCTAssertFalse((result.object("errors")["examples"] as? [String] ?? []).isEmpty)
    }

    /// A listener that never accepts and never answers: the kernel completes the TCP handshake (backlog), then silence.
    private func silentListener() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestError("bind/listen: errno \(errno)")
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    func testAServerThatNeverAnswersCountsHandshakeTimeouts() throws {
        let env = try TestEnvironment(self)
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let alice = env.alice
        let result = try loadtest(env, ["--server", "127.0.0.1:\(port)", "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--sessions", "3", "--files-per-session", "1",
                                        "--size", "1KiB", "--timeout", "1", "--json"])
        XCTAssertEqual(result.run.status, 1, result.details)
        XCTAssertEqual(result.int("errors", "timeout"), 3, result.details)
        XCTAssertEqual(result.int("errors", "total"), 3, result.details)
        XCTAssertTrue((result.object("errors")["examples"] as? [String] ?? []).contains { $0.contains("handshake took longer than 1 s") },
                      result.details)
        XCTAssertLessThan(result.run.seconds, 10)
    }

    func testMaxSecondsStopsTheRunAndCountsUnfinishedWorkAsTimeouts() throws {
        let env = try TestEnvironment(self)
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let alice = env.alice
        let result = try loadtest(env, ["--server", "127.0.0.1:\(port)", "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--sessions", "2", "--files-per-session", "0",
                                        "--idle-sessions", "3", "--max-seconds", "1.5", "--json"])
        XCTAssertEqual(result.run.status, 1, result.details)
        // 3 idle sessions stuck in their handshake, and the 2 load sessions that never got to start.
        XCTAssertEqual(result.int("errors", "timeout"), 5, result.details)
        XCTAssertEqual(result.int("idle_sessions", "established"), 0)
        XCTAssertLessThan(result.run.seconds, 10, "the bound held")
    }

    func testOpenLoopKeepsAtMostNInFlightAndCountsTheBacklogAtTheBound() throws {
        let env = try TestEnvironment(self)
        let (fd, port) = try silentListener()
        defer { close(fd) }
        let alice = env.alice
        // 10 sessions/s for 5 s, one at a time, against a server that never answers: the first session hangs, the rest
        // queue behind it (not started: at most --sessions in flight). At 1.5 s the bound stops the run: about 15
        // sessions were due, each counted as a timeout; nothing was achieved.
        let result = try loadtest(env, ["--server", "127.0.0.1:\(port)", "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--sessions", "1", "--files-per-session", "0",
                                        "--rate", "10", "--duration", "5", "--max-seconds", "1.5", "--json"])
        XCTAssertEqual(result.run.status, 1, result.details)
        let timeouts = result.int("errors", "timeout") ?? 0
        XCTAssertTrue((12...16).contains(timeouts), "timeouts: \(timeouts)\n\(result.details)")
        XCTAssertEqual(result.int("errors", "total"), timeouts)
        XCTAssertEqual(result.double("rate", "achieved"), 0)
        XCTAssertEqual(result.int("handshakes", "completed"), 0)
        XCTAssertLessThan(result.run.seconds, 10)
    }

    func testAServerOffThisMachineIsRefusedBeforeAnyConnection() throws {
        let env = try TestEnvironment(self)
        let alice = env.alice
        let result = try loadtest(env, ["--server", "10.0.0.1:7443", "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--sessions", "1", "--files-per-session", "1",
                                        "--size", "1KiB"], timeout: 10)
        XCTAssertEqual(result.run.status, 2, result.details)
        XCTAssertEqual(result.run.stdout, "")
        XCTAssertTrue(result.run.stderr.contains("only targets this machine"), result.run.stderr)
        XCTAssertLessThan(result.run.seconds, 5, "refused at once, no connect attempt")

        // A command line ArgumentParser itself refuses (a missing required option) exits 2 as well.
        let missing = try loadtest(env, ["--spawn", "--sessions", "1"], timeout: 10)
        XCTAssertEqual(missing.run.status, 2, missing.details)
    }

    // MARK: Mixed load (--mix)

    /// The completed count of each operation in a mixed run's JSON.
    private func operationCounts(_ result: LoadRun) -> [String: Int] {
        let operations = result.object("operations")
        return operations.compactMapValues { (($0 as? [String: Any])?["completed"] as? NSNumber)?.intValue }
    }

    func testMixedRunDoesEveryOperationByWeightVerifiesTheGetsAndRepeatsWithTheSameSeed() throws {
        let env = try TestEnvironment(self)
        let size = 16 * 1024
        let arguments = ["--spawn", "--sessions", "4", "--files-per-session", "30", "--size", "16KiB",
                         "--mix", "put=60,get=30,list=10", "--seed", "5", "--get-files", "4"]
        let result = try loadtest(env, arguments + ["--json"], timeout: 60)
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(result.run.stderr, "", "--json prints nothing on stderr")

        let counts = operationCounts(result)
        XCTAssertEqual(Set(counts.keys), ["put", "get", "list"], result.details)
        let put = counts["put"] ?? 0, get = counts["get"] ?? 0, list = counts["list"] ?? 0
        report("loadtest --mix put=60,get=30,list=10 --seed 5: put \(put), get \(get), list \(list)")
        XCTAssertEqual(put + get + list, 4 * 30, "every operation of every session, once: \(counts)")
        // Roughly the weights (60 %, 30 %, 10 % of 120 are 72, 36, 12); each weight above 0 got operations.
        XCTAssertTrue((50...95).contains(put), "\(counts)")
        XCTAssertTrue((18...55).contains(get), "\(counts)")
        XCTAssertTrue((3...25).contains(list), "\(counts)")

        let operations = result.object("operations")
        for name in ["put", "get", "list"] {
            let errors = (operations[name] as? [String: Any])?["errors"] as? [String: Any] ?? [:]
            XCTAssertEqual((errors["total"] as? NSNumber)?.intValue, 0, "\(name): \(errors)")
        }
        XCTAssertEqual(result.int("errors", "total"), 0, result.details)
        // Every get that counts was checked against its header's SHA-256 and the file stored: bytes of whole files.
        let getFigures = operations["get"] as? [String: Any] ?? [:]
        XCTAssertEqual((getFigures["bytes"] as? NSNumber)?.intValue, get * size)
        XCTAssertGreaterThan((getFigures["mb_per_second"] as? NSNumber)?.doubleValue ?? 0, 0)
        XCTAssertNil((operations["list"] as? [String: Any])?["bytes"], "a list moves no file")
        // "uploads" stays the put figures; the staging session (4 files) is in no figure, its handshake neither.
        XCTAssertEqual(result.int("uploads", "completed"), put)
        XCTAssertEqual(result.int("uploads", "bytes"), put * size)
        XCTAssertEqual(result.int("handshakes", "completed"), 4)
        let config = result.object("config")
        XCTAssertEqual(config["mix"] as? NSDictionary, ["put": 60, "get": 30, "list": 10])
        XCTAssertEqual((config["seed"] as? NSNumber)?.intValue, 5)
        XCTAssertEqual((config["get_files"] as? NSNumber)?.intValue, 4)

        // The same command line again, as a table: the same operations (one stream per session, from the seed).
        let again = try loadtest(env, arguments, timeout: 60)
        XCTAssertEqual(again.run.status, 0, again.details)
        for (name, count) in [("put", put), ("get", get), ("list", list)] {
            let row = again.run.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            XCTAssertEqual(row?.split(separator: " ").dropFirst().first.map(String.init), String(count),
                           "\(name) row:\n\(again.run.stdout)")
        }
        XCTAssertTrue(again.run.stdout.contains("put=60,get=30,list=10, seed 5; gets read 4 files stored before the load"),
                      again.run.stdout)
        XCTAssertTrue(again.run.stdout.contains("during operations: put 0, get 0, list 0"), again.run.stdout)
        XCTAssertFalse(again.run.stdout.contains("\nuploads "), "a row per operation instead:\n\(again.run.stdout)")
    }

    func testMixedOpenLoopAgainstARunningDaemon() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let alice = env.alice
        let result = try loadtest(env, ["--server", daemon.address, "--ca", alice.ca.path, "--cert", alice.certificate.path,
                                        "--key", alice.key.path, "--daemon-pid", String(daemon.pid),
                                        "--sessions", "2", "--files-per-session", "6", "--size", "4KiB",
                                        "--mix", "put=1,get=1,list=1", "--get-files", "3", "--rate", "10",
                                        "--duration", "1", "--json"], timeout: 60)
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(result.int("errors", "total"), 0, result.details)
        let counts = operationCounts(result)
        let sessions = result.int("handshakes", "completed") ?? 0
        XCTAssertEqual(sessions, 10, "10 sessions/s for 1 s\n\(result.details)")
        XCTAssertEqual(counts.values.reduce(0, +), sessions * 6, "\(counts)")
        XCTAssertTrue(counts.values.allSatisfy { $0 > 0 }, "\(counts)")
        XCTAssertGreaterThan(result.double("rate", "achieved") ?? 0, 0)
        // The files for the gets went to alice's area, under the run's directory, before the load.
        let staged = daemon.filesUnderRoot().filter { $0.hasPrefix("alice/loadtest/") && $0.contains("/get/") }
        XCTAssertEqual(staged.count, 3, "\(daemon.filesUnderRoot())")
        let stored = daemon.filesUnderRoot().filter { $0.hasPrefix("alice/loadtest/") && !$0.contains("/get/") }
        XCTAssertEqual(stored.count, counts["put"], "one file per put")
        daemon.assertRunning("after the load test")
    }

    func testListsAloneNeedNoSizeAndFindTheRunsDirectoryFromTheFirstOne() throws {
        let env = try TestEnvironment(self)
        // Nothing is put: the one file stored before the load makes the directory the lists read.
        let result = try loadtest(env, ["--spawn", "--sessions", "2", "--files-per-session", "5", "--mix", "list=1",
                                        "--json"], timeout: 30)
        XCTAssertEqual(result.run.status, 0, result.details)
        XCTAssertEqual(operationCounts(result), ["put": 0, "get": 0, "list": 10], result.details)
        XCTAssertEqual(result.int("errors", "total"), 0, result.details)
        XCTAssertEqual(result.int("uploads", "completed"), 0, "the file stored before the load is in no figure")
        XCTAssertTrue(result.object("config")["get_files"] is NSNull, "no get, no files for gets")
    }

    func testMixValidationErrorsExitTwoWithAMessage() throws {
        let env = try TestEnvironment(self)
        let base = ["--spawn", "--sessions", "1", "--files-per-session", "2", "--size", "1KiB"]
        let cases: [([String], String)] = [
            (["--mix", "put=70,copy=5"], "ferry loadtest: --mix: unknown operation \"copy\" (put, get, list)"),
            (["--mix", "put=1.5"], "ferry loadtest: --mix: put=1.5: a weight is a whole number 0...1000000"),
            (["--mix", "put=0,get=0,list=0"], "ferry loadtest: --mix: every weight is 0; at least one must be above 0"),
            (["--mix", "put"], "ferry loadtest: --mix: \"put\" is not OPERATION=WEIGHT"),
            (["--seed", "3"], "ferry loadtest: --seed is for --mix"),
            (["--mix", "get=1", "--get-files", "0"], "ferry loadtest: --get-files must be 1...10000"),
        ]
        for (extra, message) in cases {
            let result = try loadtest(env, base + extra, timeout: 10)
            XCTAssertEqual(result.run.status, 2, "\(extra): \(result.details)")
            XCTAssertEqual(result.run.stdout, "", "\(extra)")
            XCTAssertTrue(result.run.stderr.contains(message), "\(extra): \(result.run.stderr)")
            XCTAssertFalse(result.run.stderr.contains("ferryd (pid"), "refused before any daemon starts: \(extra)")
        }
        let badSeed = try loadtest(env, base + ["--mix", "put=1", "--seed=-1"], timeout: 10)
        XCTAssertEqual(badSeed.run.status, 2, badSeed.details)
    }

    func testHumanTableOnStdout() throws {
        let env = try TestEnvironment(self)
        let result = try loadtest(env, ["--spawn", "--sessions", "2", "--files-per-session", "1", "--size", "64KiB"])
        XCTAssertEqual(result.run.status, 0, result.details)
        for expected in ["handshakes", "uploads", "p99.9 ms", "MB/s", "errors          0", "daemon RSS"] {
            XCTAssertTrue(result.run.stdout.contains(expected), "\(expected) missing from:\n\(result.run.stdout)")
        }
        XCTAssertTrue(result.run.stderr.contains("ferryd (pid"), "progress goes to stderr:\n\(result.run.stderr)")
    }
}
