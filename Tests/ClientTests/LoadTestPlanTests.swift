// `ferry loadtest` command lines: what makes a plan, and every rule that refuses one (each exits 2 in the tool).
import Foundation
import XCTest
@testable import Client
@testable import FerryClient

final class LoadTestPlanTests: XCTestCase {
    private let server = ["--server", "127.0.0.1:7443", "--ca", "ca.crt", "--cert", "c.crt", "--key", "c.key"]

    private func plan(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> LoadTestPlan {
        try LoadTestCommand.parse(arguments).makePlan()
    }

    /// The error message, or a failure if the command line was accepted.
    private func refusal(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let command = try LoadTestCommand.parse(arguments)
            let plan = try command.makePlan()
            XCTFail("accepted: \(plan)", file: file, line: line)
            return ""
        } catch let error as LoadTestUsageError {
            return error.message
        } catch {
            XCTFail("not a usage error from makePlan: \(error)", file: file, line: line)
            return ""
        }
    }

    func testSpawnPlanWithDefaults() throws {
        let plan = try plan(["--spawn", "--sessions", "64", "--files-per-session", "4", "--size", "16MiB"])
        XCTAssertEqual(plan.target, .spawn(LoadTestPlan.SpawnOptions()))
        XCTAssertEqual(plan.sessions, 64)
        XCTAssertEqual(plan.filesPerSession, 4)
        XCTAssertEqual(plan.size, 16 << 20)
        XCTAssertNil(plan.rate)
        XCTAssertNil(plan.duration)
        XCTAssertEqual(plan.idleSessions, 0)
        XCTAssertEqual(plan.timeout, 60)
        XCTAssertEqual(plan.maxSeconds, 600)
        XCTAssertNil(plan.group)
        XCTAssertNil(plan.cipher)
        XCTAssertFalse(plan.json)
        XCTAssertEqual(plan.descriptorsNeeded, 64 + LoadTestPlan.descriptorReserve)
    }

    func testSpawnOptions() throws {
        let plan = try plan(["--spawn", "--sessions", "1", "--files-per-session", "0", "--ferryd", "/x/ferryd",
                             "--storage", "/tmp/s", "--workers", "2", "--daemon-rotate-after", "1MiB",
                             "--daemon-fsync", "false", "--keep", "--idle-sessions", "10000", "--json"])
        XCTAssertEqual(plan.target, .spawn(.init(ferryd: "/x/ferryd", storage: "/tmp/s", workers: 2,
                                                 rotateAfterBytes: 1 << 20, fsync: false, keep: true)))
        XCTAssertEqual(plan.idleSessions, 10_000)
        XCTAssertEqual(plan.descriptorsNeeded, 10_001 + LoadTestPlan.descriptorReserve)
        XCTAssertTrue(plan.json)
        XCTAssertEqual(plan.size, 0, "no --size is fine without files")
    }

    func testServerPlan() throws {
        let plan = try plan(server + ["--server-name", "files.test", "--daemon-pid", "42", "--sessions", "2",
                                      "--files-per-session", "1", "--size", "4096", "--group", "x25519",
                                      "--cipher", "chacha20-poly1305", "--rotate-after", "64KiB", "--timeout", "5",
                                      "--max-seconds", "30", "--rate", "12.5", "--duration", "3"])
        XCTAssertEqual(plan.target, .server(host: "127.0.0.1", port: 7443,
                                            credentials: .init(ca: "ca.crt", certificate: "c.crt", key: "c.key",
                                                               serverName: "files.test"),
                                            daemonPID: 42))
        XCTAssertEqual(plan.group, .x25519)
        XCTAssertEqual(plan.cipher, .chacha20Poly1305)
        XCTAssertEqual(plan.rotateAfterBytes, 64 << 10)
        XCTAssertEqual(plan.rate, 12.5)
        XCTAssertEqual(plan.duration, 3)
        XCTAssertEqual(plan.timeout, 5)
        XCTAssertEqual(plan.maxSeconds, 30)
    }

    func testLoopbackServersAccepted() throws {
        for address in ["127.0.0.1:1", "[::1]:7443", "localhost:7443", "LOCALHOST:9"] {
            var arguments = server
            arguments[1] = address
            XCTAssertNoThrow(try plan(arguments + ["--sessions", "1", "--files-per-session", "0"]), address)
        }
        XCTAssertEqual(LoopbackHost.connectAddress("localhost"), "127.0.0.1")
        XCTAssertEqual(LoopbackHost.connectAddress("::1"), "::1")
    }

    func testOtherServersRefused() {
        for address in ["10.0.0.1:7443", "192.168.1.1:7443", "127.0.0.2:7443", "files.example.com:7443", "[2001:db8::1]:7443",
                        "0.0.0.0:7443"] {
            var arguments = server
            arguments[1] = address
            let message = refusal(arguments + ["--sessions", "1", "--files-per-session", "0"])
            XCTAssertTrue(message.contains("only targets this machine"), "\(address): \(message)")
        }
    }

    func testTargetRules() {
        let load = ["--sessions", "1", "--files-per-session", "0"]
        XCTAssertTrue(refusal(load).contains("--server HOST:PORT, or --spawn"))
        XCTAssertTrue(refusal(server + ["--spawn"] + load).contains("exclude each other"))
        XCTAssertTrue(refusal(["--server", "127.0.0.1:7443", "--ca", "a"] + load).contains("needs --ca, --cert and --key"))
        XCTAssertTrue(refusal(["--server", "127.0.0.1"] + load).contains("--server"))
        XCTAssertTrue(refusal(["--spawn", "--ca", "a"] + load).contains("--ca is for --server"))
        XCTAssertTrue(refusal(["--spawn", "--daemon-pid", "3"] + load).contains("--daemon-pid is for --server"))
        XCTAssertTrue(refusal(server + ["--storage", "/x"] + load).contains("--storage is for --spawn"))
        XCTAssertTrue(refusal(server + ["--keep"] + load).contains("--keep is for --spawn"))
        XCTAssertTrue(refusal(server + ["--daemon-pid", "0"] + load).contains("process id"))
        XCTAssertTrue(refusal(["--spawn", "--workers", "300"] + load).contains("--workers"))
        XCTAssertTrue(refusal(["--spawn", "--daemon-fsync", "yes"] + load).contains("true or false"))
        XCTAssertTrue(refusal(["--spawn", "--daemon-rotate-after", "1.5M"] + load).contains("--daemon-rotate-after"))
        // "1M" is one MiB (Units.ByteSize reads bare letters as binary, as rsync, rclone and curl do).
        XCTAssertEqual(try plan(["--spawn", "--daemon-rotate-after", "1M"] + load).target,
                       .spawn(.init(ferryd: nil, storage: nil, rotateAfterBytes: 1 << 20)))
        // scripts/loadtest always passes --ferryd: harmless with --server.
        XCTAssertNoThrow(try plan(server + ["--ferryd", "/x/ferryd"] + load))
    }

    func testLoadRules() {
        let spawn = ["--spawn"]
        XCTAssertTrue(refusal(spawn + ["--sessions", "0", "--files-per-session", "0"]).contains("nothing to do"))
        XCTAssertTrue(refusal(spawn + ["--sessions=-1", "--files-per-session", "0"]).contains("--sessions"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session=-2"]).contains("--files-per-session"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--idle-sessions=-1"])
            .contains("--idle-sessions"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "1"]).contains("--size is needed"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "1", "--size", "1.5GiB"]).contains("--size"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--rate", "5"]).contains("needs --duration"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--rate", "0", "--duration", "1"])
            .contains("--rate"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "0", "--idle-sessions", "5", "--files-per-session", "0", "--rate", "5",
                                       "--duration", "1"]).contains("--sessions ≥ 1"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--duration", "0"]).contains("--duration"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--duration", "inf"]).contains("--duration"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--timeout", "0"]).contains("--timeout"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--timeout", "1e20"]).contains("--timeout"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--max-seconds", "nan"]).contains("--max-seconds"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--rate", "1e9", "--duration", "1"])
            .contains("--rate"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--max-seconds=-3"])
            .contains("--max-seconds"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--group", "x448"]).contains("x25519-mlkem768"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--cipher", "rc4"]).contains("aes-256-gcm"))
        XCTAssertTrue(refusal(spawn + ["--sessions", "1", "--files-per-session", "0", "--rotate-after", "lots"])
            .contains("--rotate-after"))
    }

    func testMixPlan() throws {
        let mixed = try plan(["--spawn", "--sessions", "4", "--files-per-session", "50", "--size", "64KiB",
                              "--mix", "put=60,get=30,list=10", "--seed", "7", "--get-files", "3"])
        XCTAssertEqual(mixed.mix, try OperationMix.parse("put=60,get=30,list=10"))
        XCTAssertEqual(mixed.seed, 7)
        XCTAssertEqual(mixed.getFiles, 3)
        XCTAssertEqual(mixed.filesPerSession, 50, "with --mix: operations per session")

        let defaults = try plan(["--spawn", "--sessions", "1", "--files-per-session", "1", "--size", "1KiB", "--mix", "get=1"])
        XCTAssertEqual(defaults.seed, LoadTestPlan.defaultSeed)
        XCTAssertEqual(defaults.getFiles, LoadTestPlan.defaultGetFiles)

        // The default keeps the files for the gets to 1 GiB at most.
        XCTAssertEqual(try plan(["--spawn", "--sessions", "1", "--files-per-session", "1", "--size", "256MiB", "--mix", "get=1"])
            .getFiles, 4)
        XCTAssertEqual(try plan(["--spawn", "--sessions", "1", "--files-per-session", "1", "--size", "2GiB", "--mix", "get=1"])
            .getFiles, 1)
        XCTAssertEqual(try plan(["--spawn", "--sessions", "1", "--files-per-session", "1", "--size", "2GiB", "--mix", "get=1",
                                 "--get-files", "3"]).getFiles, 3, "what is asked for")

        let pure = try plan(["--spawn", "--sessions", "1", "--files-per-session", "1", "--size", "1KiB"])
        XCTAssertNil(pure.mix, "no --mix: a pure-put run")

        // A mix of list alone moves no file: no --size needed; put or get needs one.
        XCTAssertNoThrow(try plan(["--spawn", "--sessions", "1", "--files-per-session", "5", "--mix", "list=1"]))
        XCTAssertTrue(refusal(["--spawn", "--sessions", "1", "--files-per-session", "5", "--mix", "list=1,get=1"])
            .contains("--size is needed"))
    }

    func testMixRules() {
        let load = ["--spawn", "--sessions", "1", "--files-per-session", "2", "--size", "1KiB"]
        XCTAssertEqual(refusal(load + ["--mix", "put=1,move=1"]), "--mix: unknown operation \"move\" (put, get, list)")
        XCTAssertEqual(refusal(load + ["--mix", "put=0"]), "--mix: every weight is 0; at least one must be above 0")
        XCTAssertEqual(refusal(load + ["--mix", "put=0.5"]), "--mix: put=0.5: a weight is a whole number 0...1000000")
        XCTAssertEqual(refusal(load + ["--seed", "3"]), "--seed is for --mix (it seeds the picks of a mixed load)")
        XCTAssertEqual(refusal(load + ["--get-files", "3"]), "--get-files is for --mix (the files its gets read)")
        XCTAssertEqual(refusal(load + ["--mix", "get=1", "--get-files", "0"]), "--get-files must be 1...10000")
        XCTAssertEqual(refusal(load + ["--mix", "get=1", "--get-files", "10001"]), "--get-files must be 1...10000")
        XCTAssertEqual(refusal(["--spawn", "--sessions", "1", "--files-per-session", "0", "--mix", "put=1"]),
                       "--mix needs --files-per-session >= 1 (with --mix: operations per session)")
        XCTAssertEqual(refusal(["--spawn", "--sessions", "0", "--idle-sessions", "2", "--files-per-session", "1",
                                "--size", "1KiB", "--mix", "put=1"]), "--mix needs --sessions >= 1")
        XCTAssertThrowsError(try LoadTestCommand.parse(load + ["--mix", "put=1", "--seed=-1"]), "a seed is 0...2^32-1")
        XCTAssertThrowsError(try LoadTestCommand.parse(load + ["--mix", "put=1", "--seed", "4294967296"]))
    }

    func testParseErrorsAreLoadtestUsageErrors() {
        XCTAssertTrue(LoadTestCommand.isInvoked(by: ["/bin/ferry", "loadtest", "--sessions"]))
        XCTAssertFalse(LoadTestCommand.isInvoked(by: ["/bin/ferry", "upload", "loadtest"]))
        XCTAssertFalse(LoadTestCommand.isInvoked(by: ["/bin/ferry"]))
    }

    func testDescriptorLimitIsRaisedToWhatTheRunNeeds() throws {
        let soft = try DescriptorLimit.raise(needed: 100)
        XCTAssertGreaterThanOrEqual(soft, 100)
        var limit = rlimit()
        #if os(Linux)
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit), 0)
        #endif
        XCTAssertEqual(UInt64(limit.rlim_cur), soft)
        XCTAssertThrowsError(try DescriptorLimit.raise(needed: Int.max), "no process gets Int.max descriptors")
    }

    func testDescriptorShortfall() {
        XCTAssertNoThrow(try DescriptorLimit.check(needed: 10_064, limit: 65_536))
        XCTAssertNoThrow(try DescriptorLimit.check(needed: 10_064, limit: UInt64.max))
        XCTAssertThrowsError(try DescriptorLimit.check(needed: 10_064, limit: 4_096)) { error in
            XCTAssertTrue("\(error)".contains("10064"), "\(error)")
            XCTAssertTrue("\(error)".contains("4096"), "\(error)")
        }
    }
}
