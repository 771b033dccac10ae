// `[access] grants` against a real ferryd over 127.0.0.1 (docs/STORE.md "Namespaces and access", config/ferryd.toml):
// every identity keeps its own namespace, and `-N NAMESPACE` reaches another's only as far as a grant allows — a
// backup identity reads and verifies alice's files and changes none, a publisher writes into `shared` (its uploads
// recorded as its), a writer granted alice's namespace resumes an upload alice's client left there, a grant on a path
// covers that path and what is below it and nothing beside it, a rename needs delete on the old name and write on the
// new one. A namespace that cannot be a directory of the root is refused, whatever the grants, and nothing lands
// outside it. SIGHUP applies a changed list to the next session, and a malformed entry stops check-config and the
// daemon, naming the entry. Each refusal names the grant that would allow it.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class AccessGrantTests: XCTestCase {
    /// `grants = [...]` as the configuration writes it (no entry here holds a quote or a backslash).
    private func grantsLine(_ grants: [String]) -> String {
        "grants = [" + grants.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    private func start(_ env: TestEnvironment, grants: [String]) throws -> Daemon {
        try Daemon.start(environment: env, workers: 1, settings: ["access": [grantsLine(grants)]])
    }

    /// A client certificate for `name` from the test's CA.
    private func identity(_ env: TestEnvironment, _ name: String) throws -> ClientCredentials {
        try env.issueClient(name)
        return env.credentials(name)
    }

    /// Uploads `names` below the source directory `top` as alice (stored as "top/…"), each with its own bytes.
    private func uploadTree(_ env: TestEnvironment, _ top: String, _ names: [String], to daemon: Daemon,
                            file: StaticString = #filePath, line: UInt = #line) throws -> [String: [UInt8]] {
        let tree = try env.sourceDirectory(top)
        var contents: [String: [UInt8]] = [:]
        for (index, name) in names.enumerated() {
            contents[name] = Content.random(700 + 311 * index)
            try Content.write(contents[name]!, to: tree.appendingPathComponent(name))
        }
        let upload = try env.upload([tree.path], to: daemon)
        XCTAssertEqual(upload.status, 0, upload.run.stderr, file: file, line: line)
        return contents
    }

    /// One source file of `count` random bytes, named `name`.
    private func sourceFile(_ env: TestEnvironment, _ name: String, _ count: Int) throws -> (URL, [UInt8]) {
        let url = try env.sourceDirectory("single").appendingPathComponent(name)
        let bytes = Content.random(count)
        try Content.write(bytes, to: url)
        return (url, bytes)
    }

    /// A store command refused by the access policy: exit 1, the reason `'who' may not VERB 'target'`, and the grant
    /// that would allow it, quoted as the operator would add it.
    private func assertRefused(_ run: RunResult, _ reason: String, needing grant: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 1, "refused without exit 1 (\(run.termination)): \(run.stdout)", file: file, line: line)
        XCTAssertTrue(run.stderr.contains(reason + ": its own files only, unless the server's [access] grants hold \""
                                          + grant + "\" (or one wider); ask its operator"), run.stderr, file: file, line: line)
    }

    /// The same for an upload: exit 1, and the file's error says so.
    private func assertRefused(_ upload: TestEnvironment.UploadOutcome, _ reason: String, needing grant: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(upload.status, 1, upload.run.stderr, file: file, line: line)
        let error = upload.files.first?.error ?? ""
        XCTAssertTrue(error.contains(reason) && error.contains("\"\(grant)\""), "\(error)\n\(upload.run.stderr)",
                      file: file, line: line)
    }

    private func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    // MARK: Grants

    func testABackupIdentityReadsListsAndVerifiesEveryNamespaceButChangesNothing() throws {
        let env = try TestEnvironment(self)
        let backup = try identity(env, "backup")
        let daemon = try start(env, grants: ["backup: read, list on *"])
        let contents = try uploadTree(env, "t", ["a.txt", "sub/b.bin", "sub/deep/c.txt"], to: daemon)
        let before = daemon.filesUnderRoot()

        let listed = try env.ferry("ls", ["-N", "alice", "-R", "t"], daemon: daemon, as: backup)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(outputLines(listed.stdout), ["a.txt", "sub/b.bin", "sub/deep/c.txt"])
        XCTAssertEqual(outputLines(try env.ferry("ls", ["--namespace", "alice"], daemon: daemon, as: backup).stdout), ["t/"])
        let restored = env.directory.appendingPathComponent("restored", isDirectory: true)
        let get = try env.ferry("get", ["-N", "alice", "t", restored.path], daemon: daemon, as: backup)
        XCTAssertEqual(get.status, 0, get.stderr)
        for (name, bytes) in contents { assertStored(restored.appendingPathComponent(name), equals: bytes, name) }
        let verify = try env.ferry("verify", ["-N", "alice", "-v", restored.path, "t"], daemon: daemon, as: backup)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertEqual(outputLines(verify.stdout).sorted(), ["ok: t/a.txt", "ok: t/sub/b.bin", "ok: t/sub/deep/c.txt"])
        // Without -N, backup's own namespace, where alice's files are not.
        let own = try env.ferry("stat", ["t/a.txt"], daemon: daemon, as: backup)
        XCTAssertEqual(own.status, 1, own.stdout)
        XCTAssertTrue(own.stderr.contains("'t/a.txt' is not stored"), own.stderr)

        assertRefused(try env.ferry("rm", ["-N", "alice", "t/a.txt"], daemon: daemon, as: backup),
                      "'backup' may not delete 'alice/t/a.txt'", needing: "backup: delete on alice/t/a.txt")
        assertRefused(try env.ferry("rm", ["-r", "-N", "alice", "t/sub"], daemon: daemon, as: backup),
                      "'backup' may not delete 'alice/t/sub'", needing: "backup: delete on alice/t/sub")
        assertRefused(try env.ferry("mv", ["-N", "alice", "t/a.txt", "t/z.txt"], daemon: daemon, as: backup),
                      "'backup' may not delete 'alice/t/a.txt'", needing: "backup: delete on alice/t/a.txt")
        let (intruder, _) = try sourceFile(env, "intruder.txt", 900)
        assertRefused(try env.upload([intruder.path], to: daemon, as: backup, extra: ["-N", "alice"]),
                      "'backup' may not write to 'alice/intruder.txt'", needing: "backup: write on alice/intruder.txt")
        XCTAssertEqual(daemon.filesUnderRoot(), before, "a refused change reached the disk")
        for (name, bytes) in contents { assertStored(daemon.area("alice").appendingPathComponent("t/" + name), equals: bytes) }
        daemon.assertRunning("after the refusals")
    }

    /// A partial belongs to its namespace and path (PROTOCOL.md §8.3): alice's upload cut mid-way is resumed by a
    /// client whose grant lets it write there, and the file stored whole.
    func testAGrantedWriterResumesWhatTheNamespacesClientLeft() throws {
        let env = try TestEnvironment(self)
        let publisher = try identity(env, "publisher")
        let daemon = try start(env, grants: ["publisher: write on alice"])
        let big = try env.sourceDirectory("cut").appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: 48 << 20, to: big)
        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: 1.0, bytesPerSecond: 8 << 20, deadline: 60)
        let cut = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(proxy.port)", "--ca", env.alice.ca.path, "--cert", env.alice.certificate.path,
            "--key", env.alice.key.path, "--retries", "0", "--", big.path,
        ], outputDirectory: env.directory, name: "ferry-upload-cut", timeout: 60)
        _ = try proxy.stop()
        XCTAssertNotEqual(cut.status, 0, "the proxy's cut ended alice's upload: \(cut.stderr)")
        XCTAssertTrue(waitUntil(timeout: 5) { !daemon.logLines(message: "upload interrupted; kept for resume").isEmpty }, daemon.log)

        let resumed = try env.upload([big.path], to: daemon, as: publisher, extra: ["-N", "alice"])
        XCTAssertEqual(resumed.status, 0, resumed.run.stderr)
        XCTAssertGreaterThanOrEqual(resumed.files.first?.resumedBytes ?? 0, 4096, resumed.run.stdout)
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("big.bin")), digest)
    }

    func testAPublisherWritesIntoSharedAndItsUploadsAreListedAsItsOwn() throws {
        let env = try TestEnvironment(self)
        let publisher = try identity(env, "publisher")
        let daemon = try start(env, grants: ["publisher: write, list on shared", "*: list on shared"])
        let (report, bytes) = try sourceFile(env, "report.txt", 5000)

        let upload = try env.upload([report.path], to: daemon, as: publisher, extra: ["-N", "shared"])
        XCTAssertEqual(upload.status, 0, upload.run.stderr)
        XCTAssertEqual(upload.files.first?.ok, true, upload.files.first?.error ?? "")
        assertStored(daemon.area("shared").appendingPathComponent("report.txt"), equals: bytes)
        XCTAssertEqual(daemon.filesUnderRoot(), ["shared/report.txt"], "stored elsewhere than <root>/shared/")

        // alice lists it (the "*" grant), with publisher as its uploader; her own namespace stays empty.
        let listing = try env.ferry("ls", ["-N", "shared", "--json"], daemon: daemon)
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let entries = jsonObjects(listing.stdout)
        XCTAssertEqual(entries.count, 1, listing.stdout)
        XCTAssertEqual(entries.first?["path"] as? String, "report.txt")
        XCTAssertEqual(entries.first?["uploader"] as? String, "publisher")
        XCTAssertEqual(entries.first?["sha256"] as? String, upload.files.first?.sha256)
        XCTAssertEqual((entries.first?["size"] as? NSNumber)?.intValue, 5000)
        XCTAssertEqual(outputLines(try env.ferry("ls", ["-N", "shared"], daemon: daemon, as: publisher).stdout),
                       ["report.txt"])

        // Writing and listing is not reading: neither gets it; nor does alice write or delete there.
        let copy = env.directory.appendingPathComponent("copy.txt")
        assertRefused(try env.ferry("get", ["-N", "shared", "report.txt", copy.path], daemon: daemon, as: publisher),
                      "'publisher' may not read 'shared/report.txt'", needing: "publisher: read on shared/report.txt")
        assertRefused(try env.ferry("get", ["-N", "shared", "report.txt", copy.path], daemon: daemon),
                      "'alice' may not read 'shared/report.txt'", needing: "alice: read on shared/report.txt")
        XCTAssertFalse(exists(copy), "a refused get left a file")
        assertRefused(try env.ferry("rm", ["-N", "shared", "report.txt"], daemon: daemon, as: publisher),
                      "'publisher' may not delete 'shared/report.txt'", needing: "publisher: delete on shared/report.txt")
        let (other, _) = try sourceFile(env, "other.txt", 100)
        assertRefused(try env.upload([other.path], to: daemon, extra: ["-N", "shared"]),
                      "'alice' may not write to 'shared/other.txt'", needing: "alice: write on shared/other.txt")
        XCTAssertEqual(daemon.filesUnderRoot(), ["shared/report.txt"])
    }

    func testAGrantOnAPathCoversItAndBelowAndARenameNeedsDeleteAndWrite() throws {
        let env = try TestEnvironment(self)
        let bob = try identity(env, "bob")
        let daemon = try start(env, grants: ["bob: read, list on alice/pub", "bob: delete on alice/pub",
                                             "bob: list, write on alice/pub2"])
        let pub = try uploadTree(env, "pub", ["a.txt", "sub/b.txt"], to: daemon)
        _ = try uploadTree(env, "priv", ["c.txt"], to: daemon)
        _ = try uploadTree(env, "pubx", ["d.txt"], to: daemon)  // "pub" is its prefix, not its parent
        let bobFerry = { (command: String, arguments: [String]) in
            try env.ferry(command, arguments, daemon: daemon, as: bob)
        }

        XCTAssertEqual(outputLines(try bobFerry("ls", ["-N", "alice", "pub"]).stdout), ["a.txt", "sub/"])
        XCTAssertEqual(outputLines(try bobFerry("ls", ["-N", "alice", "-R", "pub/sub"]).stdout), ["b.txt"])
        let copy = env.directory.appendingPathComponent("b-copy.txt")
        let get = try bobFerry("get", ["-N", "alice", "pub/sub/b.txt", copy.path])
        XCTAssertEqual(get.status, 0, get.stderr)
        assertStored(copy, equals: pub["sub/b.txt"]!)

        assertRefused(try bobFerry("ls", ["-N", "alice", "priv"]), "'bob' may not list 'alice/priv'",
                      needing: "bob: list on alice/priv")
        assertRefused(try bobFerry("ls", ["-N", "alice", "pubx"]), "'bob' may not list 'alice/pubx'",
                      needing: "bob: list on alice/pubx")
        assertRefused(try bobFerry("ls", ["-N", "alice"]), "'bob' may not list 'alice'", needing: "bob: list on alice")
        assertRefused(try bobFerry("rm", ["-N", "alice", "priv/c.txt"]), "'bob' may not delete 'alice/priv/c.txt'",
                      needing: "bob: delete on alice/priv/c.txt")
        assertRefused(try bobFerry("rm", ["-N", "alice", "pubx/d.txt"]), "'bob' may not delete 'alice/pubx/d.txt'",
                      needing: "bob: delete on alice/pubx/d.txt")

        // A rename: delete on the old name and write on the new. Within pub, no write; from pub to pub2, both; back
        // from pub2, no delete.
        assertRefused(try bobFerry("mv", ["-N", "alice", "pub/a.txt", "pub/renamed.txt"]),
                      "'bob' may not write to 'alice/pub/renamed.txt'", needing: "bob: write on alice/pub/renamed.txt")
        let inode = { (url: URL) -> ino_t? in
            var info = stat()
            return stat(url.path, &info) == 0 ? info.st_ino : nil
        }
        let area = daemon.area("alice")
        let before = inode(area.appendingPathComponent("pub/a.txt"))
        let across = try bobFerry("mv", ["-N", "alice", "pub/a.txt", "pub2/a.txt"])
        XCTAssertEqual(across.status, 0, across.stderr)
        XCTAssertNotNil(before)
        XCTAssertEqual(inode(area.appendingPathComponent("pub2/a.txt")), before, "not renamed in place")
        assertStored(area.appendingPathComponent("pub2/a.txt"), equals: pub["a.txt"]!)
        assertRefused(try bobFerry("mv", ["-N", "alice", "pub2/a.txt", "pub/a.txt"]),
                      "'bob' may not delete 'alice/pub2/a.txt'", needing: "bob: delete on alice/pub2/a.txt")

        // rm -r of the granted directory; alice's other files stay.
        let removed = try bobFerry("rm", ["-r", "-N", "alice", "pub"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertEqual(outputLines(try env.ferry("ls", ["-R"], daemon: daemon).stdout),
                       ["priv/c.txt", "pub2/a.txt", "pubx/d.txt"])
        XCTAssertEqual(daemon.filesUnderRoot(), ["alice/priv/c.txt", "alice/pub2/a.txt", "alice/pubx/d.txt"])
        XCTAssertFalse(exists(area.appendingPathComponent("pub")), "the deleted directory is still on disk")
    }

    /// Each operation alone is enough for the commands config/ferryd.toml names for it: read for `ferry get` and
    /// `ferry verify`, delete on the old name and write on the new for `ferry mv`. The three commands begin with a
    /// Stat, which the server checks as list, so this fails while a grant also needs list for them.
    func testReadAloneGetsAndVerifiesAndDeleteWithWriteAloneMoves() throws {
        let env = try TestEnvironment(self)
        let bob = try identity(env, "bob")
        let daemon = try start(env, grants: ["bob: read on alice/r", "bob: delete on alice/pub", "bob: write on alice/inbox"])
        let r = try uploadTree(env, "r", ["x.txt"], to: daemon)
        _ = try uploadTree(env, "pub", ["a.txt"], to: daemon)

        let copy = env.directory.appendingPathComponent("x-copy.txt")
        let get = try env.ferry("get", ["-N", "alice", "r/x.txt", copy.path], daemon: daemon, as: bob)
        XCTAssertEqual(get.status, 0, get.stderr)
        assertStored(copy, equals: r["x.txt"]!)
        let verify = try env.ferry("verify", ["-N", "alice", "-v", copy.path, "r/x.txt"], daemon: daemon, as: bob)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertEqual(outputLines(verify.stdout), ["ok: r/x.txt"], verify.stderr)
        let mv = try env.ferry("mv", ["-N", "alice", "pub/a.txt", "inbox/a.txt"], daemon: daemon, as: bob)
        XCTAssertEqual(mv.status, 0, mv.stderr)
        XCTAssertEqual(daemon.filesUnderRoot(), ["alice/inbox/a.txt", "alice/r/x.txt"])
    }

    // MARK: Namespaces that cannot exist

    /// Even with every operation on every namespace: a namespace with "/" is a usage error in the client (64), one the
    /// server could not make a directory of the root ("..", ".", a leading dot, the staging name) bad_path, and no
    /// file is read, written or deleted outside the root through it.
    func testANamespaceThatCannotBeADirectoryOfTheRootIsRefused() throws {
        let env = try TestEnvironment(self)
        let bob = try identity(env, "bob")
        let daemon = try start(env, grants: ["bob: all on *"])
        let contents = try uploadTree(env, "t", ["a.txt"], to: daemon)
        let (escape, _) = try sourceFile(env, "escape.txt", 321)
        let filesBefore = daemon.filesUnderRoot()
        let directoriesBefore = directories(under: daemon.root)

        for namespace in ["a/b", "alice/t", "/", "../alice"] {
            let ls = try env.ferry("ls", ["-N", namespace], daemon: daemon, as: bob)
            XCTAssertEqual(ls.status, 64, "-N \(namespace): \(ls.stdout)\(ls.stderr)")
            XCTAssertTrue(ls.stderr.contains("--namespace"), ls.stderr)
            let upload = try env.ferry("upload", ["-N", namespace, "--", escape.path], daemon: daemon, as: bob)
            XCTAssertEqual(upload.status, 64, "-N \(namespace): \(upload.stdout)\(upload.stderr)")
        }
        let problems = ["..": "it is '..'", ".": "it is '.'", ".staging": "it starts with '.'", ".index": "it starts with '.'"]
        for (namespace, problem) in problems.sorted(by: { $0.key < $1.key }) {
            let ls = try env.ferry("ls", ["-N", namespace], daemon: daemon, as: bob)
            XCTAssertEqual(ls.status, 1, "-N \(namespace): \(ls.stdout)")
            XCTAssertTrue(ls.stderr.contains(problem) && !ls.stderr.contains("may not"), "-N \(namespace): \(ls.stderr)")
            let upload = try env.upload([escape.path], to: daemon, as: bob, extra: ["-N", namespace])
            XCTAssertEqual(upload.status, 1, "-N \(namespace): \(upload.run.stderr)")
            XCTAssertTrue((upload.files.first?.error ?? "").contains(problem), "\(upload.files.first?.error ?? "")")
        }
        // Through "..": the daemon's configuration beside the root, and alice's file by a path from the root's parent.
        let config = daemon.configURL.lastPathComponent
        let stolen = env.directory.appendingPathComponent("stolen.toml")
        let get = try env.ferry("get", ["-N", "..", config, stolen.path], daemon: daemon, as: bob)
        XCTAssertEqual(get.status, 1, get.stdout)
        XCTAssertFalse(exists(stolen), "the configuration was read through -N ..")
        let rm = try env.ferry("rm", ["-N", "..", "root/alice/t/a.txt", config], daemon: daemon, as: bob)
        XCTAssertEqual(rm.status, 1, rm.stdout)
        XCTAssertTrue(exists(daemon.configURL), "the configuration was deleted through -N ..")
        let mv = try env.ferry("mv", ["-N", "..", config, "root/bob/config.toml"], daemon: daemon, as: bob)
        XCTAssertEqual(mv.status, 1, mv.stdout)

        XCTAssertEqual(daemon.filesUnderRoot(), filesBefore)
        XCTAssertEqual(directories(under: daemon.root), directoriesBefore, "a directory was made for a bad namespace")
        XCTAssertEqual(regularFiles(under: env.directory).filter { $0.hasSuffix("escape.txt") || $0.hasSuffix("config.toml") },
                       ["src/single/escape.txt"], "a file landed outside the namespaces")
        assertStored(daemon.area("alice").appendingPathComponent("t/a.txt"), equals: contents["a.txt"]!)
        // Refusals are logged once per code and session: the 4 ls, get's Stat, rm's first Delete, mv's Stat, 4 uploads.
        let refusals = daemon.logLines().filter { $0.message == "store request refused" || $0.message == "upload refused" }
        XCTAssertEqual(refusals.map { $0["code"] ?? "" }, Array(repeating: "bad_path", count: 11), daemon.log)
        daemon.assertRunning("after the bad namespaces")
    }

    // MARK: Configuration

    /// SIGHUP re-reads the grants: bob, refused, lists alice's files in his next session once one is added, and is
    /// refused again once it is gone.
    func testSIGHUPAddsAndRemovesAGrantForTheNextSession() throws {
        let env = try TestEnvironment(self)
        let bob = try identity(env, "bob")
        let daemon = try start(env, grants: [])
        _ = try uploadTree(env, "t", ["a.txt", "b.txt"], to: daemon)
        let original = try String(contentsOf: daemon.configURL, encoding: .utf8)
        XCTAssertTrue(original.contains("grants = []"), original)
        func reload(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            try text.write(to: daemon.configURL, atomically: true, encoding: .utf8)
            let before = daemon.logLines(message: "configuration reloaded").count
            daemon.child.signal(SIGHUP)
            var reloaded: LogLine?
            waitUntil(timeout: 10) {
                let lines = daemon.logLines(message: "configuration reloaded")
                reloaded = lines.count > before ? lines.last : nil
                return reloaded != nil
            }
            XCTAssertTrue(reloaded?["changed"]?.contains("access.grants") ?? false,
                          "no reload changing access.grants:\n\(daemon.log)", file: file, line: line)
        }
        let refusal = "'bob' may not list 'alice/t'"

        assertRefused(try env.ferry("ls", ["-N", "alice", "t"], daemon: daemon, as: bob), refusal,
                      needing: "bob: list on alice/t")
        try reload(original.replacingOccurrences(of: "grants = []", with: grantsLine(["bob: list on alice"])))
        let granted = try env.ferry("ls", ["-N", "alice", "t"], daemon: daemon, as: bob)
        XCTAssertEqual(granted.status, 0, granted.stderr)
        XCTAssertEqual(outputLines(granted.stdout), ["a.txt", "b.txt"])
        // list is not read.
        assertRefused(try env.ferry("get", ["-N", "alice", "t/a.txt", env.directory.appendingPathComponent("a").path],
                                    daemon: daemon, as: bob),
                      "'bob' may not read 'alice/t/a.txt'", needing: "bob: read on alice/t/a.txt")

        try reload(original)
        assertRefused(try env.ferry("ls", ["-N", "alice", "t"], daemon: daemon, as: bob), refusal,
                      needing: "bob: list on alice/t")
        daemon.assertRunning("after the reloads")
    }

    /// A malformed entry: check-config and a start both fail, naming the key and the entry; a good one is printed in
    /// its canonical form.
    func testAMalformedGrantIsRefusedByNameAndAGoodOneIsPrintedCanonically() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false)
        let config = env.directory.appendingPathComponent("grants.toml")
        func write(_ grants: [String]) throws {
            try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1,
                                  settings: ["access": [grantsLine(grants)]])
                .write(to: config, atomically: true, encoding: .utf8)
        }
        func checkConfig() throws -> RunResult {
            try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                outputDirectory: env.directory, name: "check-config", timeout: 30)
        }

        try write(["backup: list, read on *", "bob: all on alice/pub/reports", "*:write on shared"])
        let good = try checkConfig()
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(outputLines(good.stdout).contains(grantsLine(["backup: read, list on *",
                                                                    "bob: read, list, write, delete on alice/pub/reports",
                                                                    "*: write on shared"])), good.stdout)

        let cases: [(entry: String, phrase: String)] = [
            ("bob read on alice", "is not of the form"),
            ("bob: read, list", "names no target"),
            ("bob: fly on alice", "has the operation \"fly\""),
            ("bob: read on alice/../x", "has the target \"alice/../x\""),
            ("bob: read on .staging", "has the target \".staging\""),
            ("bob: read on alice//x", "has the target \"alice//x\""),
        ]
        for (entry, phrase) in cases {
            try write(["backup: read on *", entry])
            let check = try checkConfig()
            XCTAssertNotNil(check.status, "\(entry): \(check.termination)")
            XCTAssertNotEqual(check.status, 0, "\(entry): check-config accepted it")
            let message = check.stderr + check.stdout
            XCTAssertTrue(message.contains("access.grants") && message.contains("\"\(entry)\"") && message.contains(phrase),
                          "\(entry): \(message)")
            XCTAssertFalse(check.stdout.contains("[server]"), "\(entry): printed a configuration anyway")
        }
        try write(["bob: read on alice/../x"])
        let run = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                      name: "ferryd-bad-grant", timeout: 15)
        XCTAssertNotNil(run.status, run.termination)
        XCTAssertNotEqual(run.status, 0, "ferryd started with a malformed grant")
        XCTAssertFalse(run.stderr.contains("ferryd ready"))
        XCTAssertTrue(run.stderr.contains("access.grants") && run.stderr.contains("\"bob: read on alice/../x\""), run.stderr)
    }
}
