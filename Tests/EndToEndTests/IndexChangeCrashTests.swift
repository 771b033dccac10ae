// ferryd SIGKILLed at each step of a delete and of a rename (`ferry rm`, `ferry mv`; Store+Delete.swift,
// Store+Rename.swift) and started again: the metadata index equals the tree (`ferryd reindex --check` exits 0), the
// file is whole under exactly one name or (deleted) gone, and the command run again finishes the change. The steps:
//
//   delete:  intent: write(journal), fdatasync(journal) ─► unlinkat(file) ─► fsync(directory) ─► the row's removal:
//            the WAL's writes ─► unlinkat(the directory it left empty)
//   rename:  intents: write(journal) ×2, fdatasync(journal) ─► renameat2 ─► fsync(new directory), fsync(its new
//            parent), fsync(old directory) ─► the rows: the WAL's writes ─► unlinkat(the old directory, left empty)
//
// Every WAL write is a point of its own, swept until a change completes with no kill.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class IndexChangeCrashTests: XCTestCase {
    /// More WAL writes than one change's transaction makes.
    static let walWrites = 16

    func testAKillAtEachStepOfADeleteLeavesIndexAndTreeEqual() throws {
        let points = [CrashPoint(name: "at the delete intent's write", calls: "write", when: 1, file: .journal),
                      CrashPoint(name: "intent written, not yet synced", calls: "fdatasync", when: 1, file: .journal),
                      CrashPoint(name: "intent durable, before the unlink", calls: "unlinkat", when: 1),
                      CrashPoint(name: "unlinked, before the directory's fsync", calls: "fsync", when: 1),
                      CrashPoint(name: "before the emptied directory's removal", calls: "unlinkat", when: 2)]
            + Self.walPoints("the row's removal")
        try sweep(points, operation: "delete") { env, daemon, number in
            let before = "crash/s\(number)/p.bin"
            let run = try self.ferry(env, daemon, ["rm", before])
            return (run, before, nil)
        }
    }

    func testAKillAtEachStepOfARenameLeavesIndexAndTreeEqual() throws {
        let points = [CrashPoint(name: "at the delete intent's write", calls: "write", when: 1, file: .journal),
                      CrashPoint(name: "at the commit intent's write", calls: "write", when: 2, file: .journal),
                      CrashPoint(name: "intents written, not yet synced", calls: "fdatasync", when: 1, file: .journal),
                      CrashPoint(name: "intents durable, before the rename", calls: "renameat2", when: 1),
                      CrashPoint(name: "renamed, before the new directory's fsync", calls: "fsync", when: 1),
                      CrashPoint(name: "before the fsync of the new directory's parent", calls: "fsync", when: 2),
                      CrashPoint(name: "before the old directory's fsync", calls: "fsync", when: 3),
                      CrashPoint(name: "before the emptied old directory's removal", calls: "unlinkat", when: 1)]
            + Self.walPoints("the rows")
        try sweep(points, operation: "rename") { env, daemon, number in
            let (from, to) = ("crash/s\(number)/p.bin", "moved/n\(number)/q.bin")
            let run = try self.ferry(env, daemon, ["mv", from, to])
            return (run, from, to)
        }
    }

    private static func walPoints(_ what: String) -> [CrashPoint] {
        (1...walWrites).map { CrashPoint(name: "writing \(what) before WAL write \($0)", calls: "pwrite64", when: $0, file: .wal) }
    }

    /// For each point: a file uploaded, `change` run with the kill armed, ferryd started again, the index compared with
    /// the tree and the file checked; then `change` run again completes it. `change` returns the run, the file's path
    /// before and (a rename) after.
    private func sweep(_ points: [CrashPoint], operation: String,
                       _ change: (TestEnvironment, Daemon, Int) throws -> (RunResult, String, String?)) throws {
        guard FileManager.default.isExecutableFile(atPath: SyscallTrace.strace.path) else {
            throw XCTSkip("strace is not installed")
        }
        let env = try TestEnvironment(self)
        var daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("crash-source")
        var killed = 0, walSweepEnded = false
        for (number, point) in points.enumerated() {
            let isWAL = point.file == .wal
            if isWAL, walSweepEnded { continue }
            let content = Content.random((16 << 10) + number)
            let file = source.appendingPathComponent("s\(number)/p.bin")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Content.write(content, to: file)
            XCTAssertEqual(try env.upload([file.deletingLastPathComponent().path], to: daemon, dest: "crash").status, 0, "\(point)")

            var paths: (String, String?) = ("", nil)
            let died = try point.inject(into: daemon, in: env) { () throws -> Bool in
                let (run, before, after) = try change(env, daemon, number)
                paths = (before, after)
                let died = waitUntil(timeout: run.status == 0 ? 0.5 : 10) { !daemon.isRunning }
                if !died { XCTAssertEqual(run.status, 0, "\(point): failed without a kill: \(run.stderr)") }
                return died
            }
            if died { killed += 1 } else if isWAL { walSweepEnded = true }
            if !isWAL { XCTAssertTrue(died, "\(point): the daemon was not killed there") }
            if died {
                daemon = try daemon.restarted(environment: env)
                XCTAssertTrue(daemon.stop(), "\(point): the restarted ferryd did not stop")
            } else {
                XCTAssertTrue(daemon.stop(), "\(point): ferryd did not stop")
            }
            try assertIndexMatchesTree(daemon, env, "\(operation): \(point), after the restart")
            let area = daemon.area("alice")
            let before = try? Data(contentsOf: area.appendingPathComponent(paths.0))
            let after = paths.1.flatMap { try? Data(contentsOf: area.appendingPathComponent($0)) }
            for copy in [before, after] where copy != nil {
                XCTAssertEqual(copy, Data(content), "\(point): a name holds a damaged file")
            }
            if paths.1 != nil {
                XCTAssertTrue((before == nil) != (after == nil), "\(point): the file is under \(before == nil ? "neither" : "both") names")
            }
            if !died { XCTAssertNil(before, "\(point): completed without a kill, yet the old name is there") }

            // Run again, the change completes (or finds it done), and the index follows.
            daemon = try daemon.restarted(environment: env)
            if before != nil {
                let again = try ferry(env, daemon, paths.1.map { ["mv", paths.0, $0] } ?? ["rm", paths.0])
                XCTAssertEqual(again.status, 0, "\(point): the run again failed: \(again.stderr)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: area.appendingPathComponent(paths.0).path), "\(point)")
            if let moved = paths.1 { XCTAssertEqual(try? Data(contentsOf: area.appendingPathComponent(moved)), Data(content)) }
        }
        XCTAssertTrue(daemon.stop())
        try assertIndexMatchesTree(daemon, env, "\(operation): at the end")
        XCTAssertTrue(walSweepEnded, "a \(operation) with a kill at WAL write \(Self.walWrites) still died: raise walWrites")
        XCTAssertGreaterThanOrEqual(killed, points.count - Self.walWrites + 1, "too few points killed the daemon")
        report("\(operation): \(killed) kills, index equal to the tree after each")
    }

    private func ferry(_ env: TestEnvironment, _ daemon: Daemon, _ arguments: [String]) throws -> RunResult {
        let alice = env.alice
        return try runToCompletion(env.binaries.ferry, [arguments[0], "--server", daemon.address, "--ca", alice.ca.path,
                                                        "--cert", alice.certificate.path, "--key", alice.key.path,
                                                        "--retries", "0"] + arguments.dropFirst(),
                                   outputDirectory: env.directory, name: "ferry-\(arguments[0])", timeout: 30)
    }
}
