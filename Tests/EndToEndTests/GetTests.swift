// `ferry get` against a real ferryd over 127.0.0.1 (PROTOCOL.md §14.4, issue #18): files at every size boundary back
// byte for byte with their times, a directory tree, a re-run that gets nothing again, an interrupted get resumed from
// its .part (and a .part that is not a prefix of the file got again from the start), and a stored file changed on the
// server refused — never a silent copy.
import Foundation
import TestSupport
import XCTest

final class GetTests: XCTestCase {
    private func ferry(_ env: TestEnvironment, _ arguments: [String], daemon: Daemon, timeout: Double = 120,
                       file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
        let alice = env.alice
        return try runToCompletion(env.binaries.ferry, ["get", "--server", daemon.address, "--ca", alice.ca.path,
                                                        "--cert", alice.certificate.path, "--key", alice.key.path] + arguments,
                                   outputDirectory: env.directory, name: "ferry-get", timeout: timeout, file: file, line: line)
    }

    private func destination(_ env: TestEnvironment, _ name: String) throws -> URL {
        let url = env.directory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func modificationTime(_ url: URL) -> timespec {
        var info = stat()
        XCTAssertEqual(stat(url.path, &info), 0, url.path)
        return info.st_mtim
    }

    func testFilesAtEverySizeBoundaryComeBackByteForByteWithTheirTimes() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("sizes")
        var contents: [String: [UInt8]] = [:]
        // The last two are read past the server's page cache (StoredFileReader.directFrom), one ending off a block.
        for size in [0, 1, 65_535, 65_536, 65_537, 3 << 20 + 7, 8 << 20, 8 << 20 + 4_097] {
            let name = "f\(size).bin"
            contents[name] = Content.random(size)
            try Content.write(contents[name]!, to: source.appendingPathComponent(name))
        }
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        for name in contents.keys.sorted() {
            let run = try ferry(env, ["sizes/\(name)", out.path], daemon: daemon)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            assertStored(out.appendingPathComponent(name), equals: contents[name]!, name)
            let got = modificationTime(out.appendingPathComponent(name)), sent = modificationTime(source.appendingPathComponent(name))
            XCTAssertEqual(got.tv_sec, sent.tv_sec, name)
            XCTAssertEqual(got.tv_nsec, sent.tv_nsec, name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(name + ".part").path))
        }
        // As LOCAL, a file name: the file is put there.
        let renamed = out.appendingPathComponent("renamed.bin")
        XCTAssertEqual(try ferry(env, ["sizes/f65537.bin", renamed.path], daemon: daemon).status, 0)
        assertStored(renamed, equals: contents["f65537.bin"]!)
        // Relative names, in the current directory: a bare file name, and the default "." for a directory.
        let alice = env.alice
        let credentials = ["--server", daemon.address, "--ca", alice.ca.path, "--cert", alice.certificate.path, "--key",
                           alice.key.path]
        for arguments in [["sizes/f1.bin", "bare.bin"], ["sizes"]] {
            let run = try runToCompletion(env.binaries.ferry, ["get"] + credentials + arguments, outputDirectory: env.directory,
                                          name: "ferry-get-relative", timeout: 60, currentDirectory: out)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        }
        assertStored(out.appendingPathComponent("bare.bin"), equals: contents["f1.bin"]!)
        assertStored(out.appendingPathComponent("sizes/f65536.bin"), equals: contents["f65536.bin"]!)
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 18, daemon.log)
    }

    func testADirectoryTreeComesBackAndARerunGetsNothingAgain() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("tree")
        var contents: [String: [UInt8]] = [:]
        for (index, name) in ["a.txt", "sub/b.bin", "sub/deeper/c.bin", "z"].enumerated() {
            let url = source.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            contents[name] = Content.random(10_000 * index + 3)
            try Content.write(contents[name]!, to: url)
        }
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let first = try ferry(env, ["--json", "tree", out.path], daemon: daemon)
        XCTAssertEqual(first.status, 0, first.stderr)
        let report = try JSONSerialization.jsonObject(with: first.stdoutData) as? [String: Any]
        XCTAssertEqual(report?["ok"] as? Bool, true, first.stdout)
        XCTAssertEqual((report?["files"] as? [[String: Any]])?.count, 4)
        for (name, bytes) in contents { assertStored(out.appendingPathComponent("tree/\(name)"), equals: bytes, name) }

        let again = try ferry(env, ["tree", out.path], daemon: daemon)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout.split(separator: "\n").filter { $0.hasPrefix("unchanged ") }.count, 4, again.stdout)
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 4, "a re-run got a file again")

        // A local file changed since: got again, and only it.
        try Content.write([1, 2, 3], to: out.appendingPathComponent("tree/sub/b.bin"))
        let third = try ferry(env, ["tree", out.path], daemon: daemon)
        XCTAssertEqual(third.stdout.split(separator: "\n").filter { $0.hasPrefix("got ") }.count, 1, third.stdout)
        assertStored(out.appendingPathComponent("tree/sub/b.bin"), equals: contents["sub/b.bin"]!)
    }

    func testAnInterruptedGetResumesFromItsPartAndAForeignPartStartsOver() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("r").appendingPathComponent("big.bin")
        let bytes = Content.random(9 << 20 + 3)  // read with O_DIRECT by the server: from an odd offset below
        try Content.write(bytes, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let target = out.appendingPathComponent("big.bin")

        // What an interrupted run leaves: the first 2 MiB and a bit in the .part.
        let kept = 2 << 20 + 1_001
        try Data(bytes[..<kept]).write(to: URL(fileURLWithPath: target.path + ".part"))
        let resumed = try ferry(env, ["--json", "big.bin", out.path], daemon: daemon)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let entry = ((try JSONSerialization.jsonObject(with: resumed.stdoutData) as? [String: Any])?["files"] as? [[String: Any]])?.first
        XCTAssertEqual((entry?["resumed_from"] as? NSNumber)?.intValue, kept, resumed.stdout)
        assertStored(target, equals: bytes)

        // A .part that is no prefix of the file (another version's): the digest disagrees, the file is got again.
        try FileManager.default.removeItem(at: target)
        try Data(Content.random(1 << 20)).write(to: URL(fileURLWithPath: target.path + ".part"))
        let restarted = try ferry(env, ["big.bin", out.path], daemon: daemon)
        XCTAssertEqual(restarted.status, 0, restarted.stderr)
        assertStored(target, equals: bytes)
        XCTAssertEqual(daemon.logLines(message: "get sent").count, 3, "resumed, then the foreign prefix and the whole file")

    }

    /// Through a proxy that cuts every connection each second, at 8 MiB/s: the get tries again by itself and goes
    /// on from its .part each time, and the file is whole at the end.
    func testAGetThroughAProxyThatKeepsCuttingCompletesByItself() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("c").appendingPathComponent("big.bin")
        let bytes = Content.random(20 << 20)
        try Content.write(bytes, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 1.0, bytesPerSecond: 8 << 20, deadline: 90)
        defer { _ = try? proxy.stop() }
        let alice = env.alice
        let run = try runToCompletion(env.binaries.ferry, ["get", "--server", "127.0.0.1:\(proxy.port)", "--ca", alice.ca.path,
                                                           "--cert", alice.certificate.path, "--key", alice.key.path,
                                                           "--retries", "20", "big.bin", out.path],
                                      outputDirectory: env.directory, name: "ferry-get-cut", timeout: 80)
        let counts = try proxy.stop()
        XCTAssertEqual(run.status, 0, "\(run.stdout)\n\(run.stderr)")
        assertStored(out.appendingPathComponent("big.bin"), equals: bytes)
        XCTAssertGreaterThan(counts.cut, 0, "the proxy never cut: \(counts)")
        let offsets = daemon.logLines(message: "get started").compactMap { $0["offset"].flatMap(UInt64.init) }
        XCTAssertTrue(offsets.dropFirst().contains { $0 > 0 }, "no get went on from its .part: \(offsets)")
        XCTAssertEqual(offsets, offsets.sorted(), "a resumed get went back: \(offsets)")
        XCTAssertTrue(run.stderr.contains("trying again"), run.stderr)
    }

    func testAStoredFileChangedOnTheServerIsRefusedNeverCopied() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("t").appendingPathComponent("doc.bin")
        try Content.write(Content.random(300_000), to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        // Someone writes into the stored file in place, on the server.
        let stored = daemon.area("alice").appendingPathComponent("doc.bin")
        let handle = try FileHandle(forWritingTo: stored)
        try handle.seek(toOffset: 1000)
        handle.write(Data([0xFF, 0xFE, 0xFD]))
        try handle.close()
        let out = try destination(env, "out")
        let run = try ferry(env, ["doc.bin", out.path], daemon: daemon)
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("was changed on the server after it was stored"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("doc.bin").path), "a damaged copy kept")
        daemon.assertRunning("after the refusal")
    }

    /// 300 small files over four sessions: every one got once, by more than one session.
    func testManyFilesGoOverParallelSessions() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("many")
        var contents: [String: [UInt8]] = [:]
        for index in 0..<300 {
            let name = "d\(index % 7)/f\(index).bin"
            try FileManager.default.createDirectory(at: tree.appendingPathComponent("d\(index % 7)"), withIntermediateDirectories: true)
            contents[name] = Content.random(100 + index)
            try Content.write(contents[name]!, to: tree.appendingPathComponent(name))
        }
        XCTAssertEqual(try env.upload([tree.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let sessionsBefore = daemon.logLines(message: "session established").count
        let run = try ferry(env, ["-j", "4", "--json", "many", out.path], daemon: daemon)
        XCTAssertEqual(run.status, 0, run.stderr)
        let files = ((try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any])?["files"] as? [[String: Any]]) ?? []
        XCTAssertEqual(files.count, 300)
        XCTAssertEqual(Set(files.compactMap { $0["remote"] as? String }).count, 300, "a file reported twice")
        for (name, bytes) in contents { assertStored(out.appendingPathComponent("many/\(name)"), equals: bytes, name) }
        XCTAssertEqual(daemon.logLines(message: "session established").count - sessionsBefore, 5, "one to plan, four to get")
        let perSession = Dictionary(grouping: daemon.logLines(message: "get sent"), by: { $0["session"] ?? "" })
        XCTAssertGreaterThan(perSession.count, 1, "every file went over one session")
    }

    /// On a terminal, a progress line while the file comes (slowed to 8 MiB/s by a proxy), erased at the end.
    func testOnATerminalAProgressLineShowsAndIsErased() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("p").appendingPathComponent("big.bin")
        let bytes = Content.random(12 << 20)
        try Content.write(bytes, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 600, bytesPerSecond: 8 << 20, deadline: 60)
        defer { _ = try? proxy.stop() }
        let alice = env.alice
        let run = try TerminalSession.run(env.binaries.ferry, ["get", "--server", "127.0.0.1:\(proxy.port)", "--ca", alice.ca.path,
                                                                "--cert", alice.certificate.path, "--key", alice.key.path,
                                                                "big.bin", out.path],
                                          in: env.directory, environment: ChildProcess.isolatedEnvironment(home: env.directory),
                                          answers: [], timeout: 60)
        XCTAssertEqual(run.status, 0, run.output)
        assertStored(out.appendingPathComponent("big.bin"), equals: bytes)
        XCTAssertTrue(run.output.contains("[0/1] "), "no progress line: \(run.output)")
        XCTAssertTrue(run.output.contains("/12.0 MiB") && run.output.contains("MiB/s  big.bin"), run.output)
        let last = run.output.components(separatedBy: "\u{1B}[K").last ?? ""
        XCTAssertTrue(last.hasPrefix("got big.bin"), "the progress line was not erased before the report: \(last.debugDescription)")
    }

    func testWhatIsNotStoredIsAnErrorAndTheRestIsGot() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("n").appendingPathComponent("here.txt")
        try Content.write([1, 2, 3], to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let out = try destination(env, "out")
        let run = try ferry(env, ["nope.txt", "here.txt", "../x", out.path], daemon: daemon)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("cannot get 'nope.txt': 'nope.txt' is not stored"), run.stderr)
        XCTAssertTrue(run.stderr.contains("cannot get '../x'"), run.stderr)
        assertStored(out.appendingPathComponent("here.txt"), equals: [1, 2, 3])
    }
}
