// A kill -9 of ferryd at one system call, for the crash matrices (IndexCrashTests, IndexChangeCrashTests): strace fails
// the call (EIO, so it is not made) and SIGKILLs the daemon as it returns; then the test starts ferryd again and checks
// that the metadata index equals the tree (`ferryd reindex --check`).
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where strace kills the daemon: instead of the `when`-th call of `calls` (counted per thread, and one store job runs
/// on one), only counting calls on `file` when given; during the operation, or during the stop that writes the
/// waiting rows (`atStop`).
struct CrashPoint: CustomStringConvertible {
    enum File { case journal, wal }
    let name: String
    let calls: String
    let when: Int
    var file: File?
    var atStop = false
    var description: String { "\(name) (\(calls) #\(when))" }

    /// Runs `body` with strace attached to `daemon`, armed for this point; strace is stopped after.
    func inject<R>(into daemon: Daemon, in env: TestEnvironment, while body: () throws -> R) throws -> R {
        var arguments = ["-f", "-qq", "-e", "trace=\(calls)", "-e", "inject=\(calls):error=EIO:signal=KILL:when=\(when)"]
        switch file {
        case .journal?: arguments += ["-P", try activeJournal(daemon)]
        case .wal?: arguments += ["-P", daemon.root.appendingPathComponent(".index/metadata.sqlite-wal").path]
        case nil: break
        }
        let trace = env.directory.appendingPathComponent("strace-crash.txt")
        let tracer = try ChildProcess(SyscallTrace.strace, arguments + ["-o", trace.path, "-p", "\(daemon.pid)"],
                                      outputDirectory: env.directory, name: "strace-crash")
        defer {
            if tracer.isRunning { tracer.signal(SIGINT) }
            XCTAssertTrue(tracer.wait(timeout: 5), "strace did not stop")
        }
        guard waitUntil(timeout: 10, { SyscallTrace.isTraced(daemon.pid) }) else {
            throw TestError("strace did not attach to ferryd within 10 s: \(tracer.stderr)")
        }
        return try body()
    }
}

/// The journal file the daemon appends to: the highest generation in <root>/.index.
func activeJournal(_ daemon: Daemon) throws -> String {
    let directory = daemon.root.appendingPathComponent(".index")
    let generations = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .compactMap { $0.hasPrefix("intents.") ? Int($0.dropFirst("intents.".count)) : nil }
    let highest = try XCTUnwrap(generations.max(), "no intent journal in \(directory.path)")
    return directory.appendingPathComponent("intents.\(highest)").path
}

/// `ferryd reindex --check` of the stopped daemon's configuration exits 0: its index equals its tree.
func assertIndexMatchesTree(_ daemon: Daemon, _ env: TestEnvironment, _ when: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
    let check = try runToCompletion(env.binaries.ferryd, ["reindex", "--check", "--config", daemon.configURL.path],
                                    outputDirectory: env.directory, name: "ferryd-reindex", timeout: 30)
    XCTAssertEqual(check.status, 0, "\(when): the index differs from the tree:\n\(check.stdout)\(check.stderr)",
                   file: file, line: line)
}
