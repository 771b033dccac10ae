// ferryd SIGKILLed at each step of a commit — strace injects the signal at the system call itself — and started again:
// the metadata index equals the tree (`ferryd reindex --check` exits 0), the file is stored whole or not at all, and
// the upload run again stores it. The steps, in the order a commit makes them (docs/STORE.md):
//
//   fsync(part) ─► intent: write(journal), fdatasync(journal) ─► linkat / renameat ─► fsync(directory)
//   ─► the row waits in memory ─► written with its batch: the WAL's writes (here at the stop that flushes it)
//
// Every write into the WAL is a point of its own (a kill inside the batch's frames), swept until a stop completes
// with no kill; and a kill once the upload was answered, its row still in memory. For a new name (linked) and for a
// replaced one (renamed over it).
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class IndexCrashTests: XCTestCase {
    /// More WAL writes than the batch of one row makes (its pages, each frame 2 writes).
    static let walWrites = 16

    func testAKillAtEachStepOfANewFilesCommitLeavesIndexAndTreeEqual() throws {
        try sweep(overwrite: false)
    }

    func testAKillAtEachStepOfAReplacingCommitLeavesIndexAndTreeEqual() throws {
        try sweep(overwrite: true)
    }

    /// Many commits at once (pipelined small files over eight sessions, two workers), the daemon killed in the middle
    /// while intents are in the journal and rows wait in memory: after the restart the index is the tree, and the run
    /// again stores the rest.
    func testAKillAmongManyConcurrentCommitsLeavesIndexAndTreeEqual() throws {
        let env = try TestEnvironment(self)
        var daemon = try Daemon.start(environment: env, workers: 2)
        let tree = try env.sourceDirectory("many").appendingPathComponent("tree", isDirectory: true)
        let count = 1_500
        for number in 0..<count {
            try Content.write(Content.random(2_000 + number % 7), to: tree.appendingPathComponent("d\(number % 12)/f\(number)"))
        }
        let client = try env.startUpload([tree.path], to: daemon, extra: ["--parallel", "8"])
        defer { client.stop(grace: 1) }
        let area = daemon.area("alice").appendingPathComponent("tree")
        let midway = waitUntil(timeout: 60, interval: 0.01) { regularFiles(under: area).count >= count / 3 }
        XCTAssertTrue(midway, "the upload never got a third of the way: \(client.stderr)")
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5))
        let storedAtKill = regularFiles(under: area).count
        XCTAssertLessThan(storedAtKill, count, "killed too late to be among the commits")
        client.stop(grace: 1)

        daemon = try daemon.restarted(environment: env)
        XCTAssertTrue(daemon.stop())
        try assertIndexMatchesTree(daemon, env, "after the kill with \(storedAtKill) of \(count) stored")
        daemon = try daemon.restarted(environment: env)
        let again = try env.upload([tree.path], to: daemon, parallel: 8, timeout: 120)
        XCTAssertEqual(again.status, 0, again.run.stderr)
        XCTAssertEqual(regularFiles(under: area).count, count)
        XCTAssertTrue(daemon.stop())
        try assertIndexMatchesTree(daemon, env, "after the run again")
        report("killed with \(storedAtKill) of \(count) files stored; index equal to the tree after the restart and the re-run")
    }

    private func sweep(overwrite: Bool) throws {
        guard FileManager.default.isExecutableFile(atPath: SyscallTrace.strace.path) else {
            throw XCTSkip("strace is not installed")
        }
        let env = try TestEnvironment(self)
        var daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["allow_overwrite = true"]])
        let link = overwrite ? "renameat,renameat2" : "linkat"
        var points = [CrashPoint(name: "before the intent (the file's fsync)", calls: "fsync", when: 1),
                      CrashPoint(name: "at the intent's write", calls: "write", when: 1, file: .journal),
                      CrashPoint(name: "intent written, not yet synced", calls: "fdatasync", when: 1, file: .journal),
                      CrashPoint(name: "intent durable, before the \(overwrite ? "rename" : "link")", calls: link, when: 1),
                      CrashPoint(name: "after the \(overwrite ? "rename" : "link"), before its directory's fsync", calls: "fsync", when: 2),
                      CrashPoint(name: "answered, the row waiting in memory", calls: "none", when: 0)]
        points += (1...Self.walWrites).map {
            CrashPoint(name: "writing the row's batch at the stop, before WAL write \($0)", calls: "pwrite64", when: $0, file: .wal, atStop: true)
        }
        let source = try env.sourceDirectory("crash")
        var killed = 0, walSweepEnded = false
        for (number, point) in points.enumerated() {
            if point.atStop, walSweepEnded { continue }
            let name = "p\(number).bin"
            let file = source.appendingPathComponent(name)
            let old = Content.random(48 << 10)
            let new = Content.random((64 << 10) + number)
            if overwrite {
                _ = try Content.write(old, to: file)
                XCTAssertEqual(try env.upload([file.path], to: daemon, dest: "crash").status, 0, "\(point): first version")
            }
            let digest = try Content.write(new, to: file)
            let stored = daemon.area("alice").appendingPathComponent("crash/\(name)")

            let died = try upload(file, to: daemon, in: env, overwrite: overwrite, killedAt: point)
            if died { killed += 1 } else if point.atStop { walSweepEnded = true }
            if !point.atStop { XCTAssertTrue(died, "\(point): the daemon was not killed there") }
            if !died, !point.atStop { XCTAssertTrue(daemon.stop(), "\(point): ferryd did not stop") }
            // Started again (settling the intents the kill left), stopped, compared.
            if died {
                daemon = try daemon.restarted(environment: env)
                XCTAssertTrue(daemon.stop(), "\(point): the restarted ferryd did not stop")
            }
            try assertIndexMatchesTree(daemon, env, "\(point), after the restart")
            let content = try? Data(contentsOf: stored)
            XCTAssertTrue(content == nil || content == Data(new) || (overwrite && content == Data(old)),
                          "\(point): the stored file is neither version whole (\(content?.count ?? -1) bytes)")
            if !died { XCTAssertEqual(content, Data(new), "\(point): completed without a kill, yet not stored") }

            // The re-run stores it, and the index follows.
            daemon = try daemon.restarted(environment: env)
            let again = try env.upload([file.path], to: daemon, dest: "crash", extra: overwrite ? ["--overwrite"] : [])
            XCTAssertEqual(again.status, 0, "\(point): the re-run failed: \(again.run.stderr)")
            XCTAssertEqual(try Content.sha256(of: stored), digest, "\(point): the re-run did not store the file")
        }
        XCTAssertTrue(daemon.stop())
        try assertIndexMatchesTree(daemon, env, "at the end")
        XCTAssertTrue(walSweepEnded, "an upload with a kill at WAL write \(Self.walWrites) still died: raise walWrites")
        XCTAssertGreaterThanOrEqual(killed, 7, "too few points killed the daemon")
        report("\(overwrite ? "replacing" : "new") file: \(killed) kills, index equal to the tree after each")
    }

    /// Uploads `file` while strace kills the daemon at `point` (during the upload, or during the stop after it);
    /// whether the daemon died of it.
    private func upload(_ file: URL, to daemon: Daemon, in env: TestEnvironment, overwrite: Bool,
                        killedAt point: CrashPoint) throws -> Bool {
        let upload = { () throws -> RunResult in
            try env.upload([file.path], to: daemon, dest: "crash",
                           extra: ["--retries", "0"] + (overwrite ? ["--overwrite"] : []), timeout: 30).run
        }
        if point.calls == "none" {
            // Killed once answered: the row was still waiting in memory.
            XCTAssertEqual(try upload().status, 0, "\(point)")
            daemon.child.signal(SIGKILL)
            return daemon.child.wait(timeout: 10)
        }
        if point.atStop { XCTAssertEqual(try upload().status, 0, "\(point)") }
        return try point.inject(into: daemon, in: env) { () throws -> Bool in
            if point.atStop {
                daemon.child.signal(SIGTERM)
                XCTAssertTrue(daemon.child.wait(timeout: 10), "\(point): ferryd did not stop")
                return daemon.child.exitStatus != 0
            }
            let status = try upload().status
            let died = waitUntil(timeout: status == 0 ? 0.5 : 10) { !daemon.isRunning }
            if !died { XCTAssertEqual(status, 0, "\(point): the upload failed without a kill") }
            return died
        }
    }
}
