// #17 point 3 with real processes: a directory ferryd may not write is said at Open, before any data flows, as the
// server's problem (the client's message says to tell its operator, the daemon's log names the directory), and a
// storage root ferryd may not write stops check-config naming the user it runs as. The tests run as root, which
// permissions do not stop: an immutable directory (chattr +i, which stops root too) stands in, where the file system
// supports it.
import Foundation
import TestSupport
import XCTest

final class StoragePermissionTests: XCTestCase {
    /// chattr `flag` on `path`; false when the file system or the tool does not support it.
    private func chattr(_ flag: String, _ path: String) throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chattr") else { return false }
        let scratch = FileManager.default.temporaryDirectory
        let run = try runToCompletion(URL(fileURLWithPath: "/usr/bin/chattr"), [flag, path], outputDirectory: scratch,
                                      name: "chattr", timeout: 10)
        return run.status == 0
    }

    func testAnUnwritableDirectoryIsRefusedAtOpenBeforeTheData() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let locked = daemon.area("alice").appendingPathComponent("locked", isDirectory: true)
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        guard try chattr("+i", locked.path) else { throw XCTSkip("chattr +i is not supported here") }
        defer { _ = try? chattr("-i", locked.path) }
        let file = try env.sourceDirectory("permission").appendingPathComponent("f.bin")
        _ = try Content.write(Content.random(1 << 20), to: file)

        let outcome = try env.upload([file.path], to: daemon, dest: "locked")
        XCTAssertEqual(outcome.status, 1, outcome.run.stderr)
        let entry = try XCTUnwrap(outcome.files.first)
        XCTAssertTrue(entry.error?.contains("the server could not store locked/f.bin") ?? false, "\(entry.raw)")
        XCTAssertTrue(entry.error?.contains("tell its operator") ?? false, "\(entry.raw)")
        XCTAssertEqual(entry.sentBytes, 0, "refused at Open: no byte of the file was sent")
        let logged = daemon.waitForLog(timeout: 10) { $0.message == "upload refused" || $0.message == "upload failed" }
        XCTAssertTrue(logged?.text.contains(locked.path) ?? false, "the log names the directory: \(daemon.log)")
    }

    func testAStorageRootFerrydCannotWriteStopsCheckConfigNamingTheUser() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("locked-root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        guard try chattr("+i", root.path) else { throw XCTSkip("chattr +i is not supported here") }
        defer { _ = try? chattr("-i", root.path) }
        let config = env.directory.appendingPathComponent("check.toml")
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1)
            .write(to: config, atomically: true, encoding: .utf8)
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertNotEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stderr.contains("storage.root: \(root.path) is not writable by ferryd, which runs as root (uid 0)"),
                      check.stderr)
        XCTAssertTrue(check.stderr.contains("chown root: \(root.path)"), check.stderr)
    }
}
