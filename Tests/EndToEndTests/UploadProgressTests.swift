// What `ferry upload` writes while it runs and at the end (issue #17, point 4), with real processes: on a 40-column
// terminal (a pseudo-terminal from `script`, sized with stty) no character ever goes past the last column, and once
// it is done the screen holds the report alone — no stale bar, no blank line; with stdout and stderr in one pipe
// (2>&1) every file is reported once.
import Foundation
import TestSupport
import XCTest

final class UploadProgressTests: XCTestCase {
    /// Names that must be shortened (a deep path, a long name) or measured in columns (East Asian wide characters).
    static let names = [
        "a/deeply/nested/directory/with/a/long/path/file-one.bin", "file-two.bin", "東京の写真-三.bin",
        "a-rather-long-file-name-that-cannot-fit-in-forty-columns-four.bin",
    ]

    func testANarrowTerminalGetsNoLineWiderThanItAndNoStaleBars() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try makeTree(env, "narrow", size: 24 << 20)
        let ferry = ([env.binaries.ferry.path] + uploadArguments(env, daemon) + ["--parallel", "2", tree.path])
            .map(TerminalSession.shellQuoted).joined(separator: " ")
        // COLUMNS says otherwise: the terminal's own size (TIOCGWINSZ) is what counts.
        var environment = ChildProcess.isolatedEnvironment(home: env.directory)
        environment["COLUMNS"] = "200"
        let run = try TerminalSession.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "stty cols 40 rows 24 && exec " + ferry],
                                          in: env.directory, environment: environment, answers: [], timeout: 120)
        XCTAssertEqual(run.status, 0, run.output)

        let screen = ScreenModel(columns: 40, replaying: run.output)
        XCTAssertEqual(screen.overflows, [], "lines went past column 40 (the terminal wrapped them)")
        XCTAssertTrue(run.output.contains("files "), "the bars were never drawn:\n\(run.output)")
        let lines = screen.lines
        report("the 40-column screen at the end:\n" + lines.joined(separator: "\n"))
        XCTAssertEqual(lines.filter { $0.hasPrefix("stored ") }.count, Self.names.count, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.last?.hasPrefix("4 of 4 files, 96.0 MiB in ") == true, lines.last ?? "")
        XCTAssertEqual(lines.count, Self.names.count + 1, "the report alone, no blank line:\n" + lines.joined(separator: "\n"))
        for line in lines {
            for remnant in ["files ", "%", "[#", "[-", "committing", "opening"] {
                XCTAssertFalse(line.contains(remnant), "a stale bar line: \(line)")
            }
        }
        XCTAssertTrue(lines.contains { $0.contains("東京の写真-三.bin") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("…") }, "no path was shortened:\n" + lines.joined(separator: "\n"))
    }

    func testStdoutAndStderrInOnePipeReportEachFileOnce() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try makeTree(env, "pipe", size: 1 << 20)
        let missing = env.directory.appendingPathComponent("no-such-file.bin").path
        let ferry = ([env.binaries.ferry.path] + uploadArguments(env, daemon) + [tree.path, missing])
            .map(TerminalSession.shellQuoted).joined(separator: " ")
        // ferry's status is echoed into the pipe too (a pipeline's own status is cat's).
        let merged = try runToCompletion(URL(fileURLWithPath: "/bin/sh"), ["-c", "{ \(ferry) 2>&1; echo \"status $?\"; } | cat"],
                                         outputDirectory: env.directory, name: "ferry-merged", timeout: 60)
        report("ferry upload … 2>&1 | cat:\n" + merged.stdout)
        XCTAssertTrue(merged.stdout.hasSuffix("status 1\n"), "the missing path fails the run: \(merged.stdout)")
        // One line each (a line may name a file twice: its path and its stored name, or a failure's reason).
        for name in Self.names.map({ URL(fileURLWithPath: $0).lastPathComponent }) + ["no-such-file.bin"] {
            XCTAssertEqual(merged.stdout.split(separator: "\n").filter { $0.contains(name) }.count, 1,
                           "\(name) is not reported once:\n\(merged.stdout)")
        }

        // Apart, each stream has its own part: the report on stdout, the error on stderr, no file on both.
        let apart = try runToCompletion(env.binaries.ferry, uploadArguments(env, daemon) + ["--dest", "again", tree.path, missing],
                                        outputDirectory: env.directory, name: "ferry-apart", timeout: 60)
        XCTAssertEqual(apart.status, 1, apart.stdout + apart.stderr)
        XCTAssertEqual(apart.stdout.split(separator: "\n").filter { $0.contains("] stored ") }.count, Self.names.count,
                       apart.stdout)
        XCTAssertTrue(apart.stderr.contains("no-such-file.bin"), "the failure is said on stderr at once: \(apart.stderr)")
        for name in Self.names.map({ URL(fileURLWithPath: $0).lastPathComponent }) {
            XCTAssertFalse(apart.stderr.contains(name), "\(name) is reported on stderr too:\n\(apart.stderr)")
        }
    }

    // MARK: Helpers

    private func makeTree(_ env: TestEnvironment, _ name: String, size: UInt64) throws -> URL {
        let tree = try env.sourceDirectory(name)
        for file in Self.names { try Content.writeLarge(size: size, to: tree.appendingPathComponent(file)) }
        return tree
    }

    /// `upload` with the server and alice's credentials, human output.
    private func uploadArguments(_ env: TestEnvironment, _ daemon: Daemon) -> [String] {
        ["upload", "--server", daemon.address, "--ca", env.alice.ca.path, "--cert", env.alice.certificate.path,
         "--key", env.alice.key.path]
    }
}
