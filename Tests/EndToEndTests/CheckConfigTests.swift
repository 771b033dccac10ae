// 8. `ferryd check-config`: the effective configuration for a good file (exit 0), a message naming the key for a file
// with an unknown key (non-zero exit), and a storage root that does not exist refused, not created (issue #16 point 7).
import Foundation
import TestSupport
import XCTest

final class CheckConfigTests: XCTestCase {
    func testAGoodFilePrintsTheEffectiveConfiguration() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false)  // ferryd does not make it
        // Relative paths, resolved against the file's directory; keys left out take their defaults.
        let config = env.directory.appendingPathComponent("good.toml")
        try """
            [server]
            listen = ["127.0.0.1:17999"]
            workers = 2

            [identity]
            certificate = "pki/certs/server.crt"
            private_key = "pki/certs/server.key"
            client_ca = "pki/ca/ca.crt"

            [storage]
            root = "root"

            [limits]
            max_file_size = "64MiB"

            """.write(to: config, atomically: true, encoding: .utf8)
        let result = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                         outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertEqual(result.status, 0, "check-config: \(result.termination)\n\(result.stderr)")
        let lines = Set(result.stdout.split(separator: "\n").map(String.init))
        let expected = [
            "[server]", "listen = [\"127.0.0.1:17999\"]", "workers = 2", "shutdown_grace = 30",
            "certificate = \"\(env.pki.serverCertificate.path)\"", "private_key = \"\(env.pki.serverKey.path)\"",
            "client_ca = \"\(env.pki.caCertificate.path)\"",
            "root = \"\(root.path)\"", "staging = \".staging\"", "allow_overwrite = false",
            "max_sessions = 10000", "max_file_size = \"64MiB\"", "idle_timeout = 300",
            "rotate_after_bytes = \"1GiB\"", "level = \"info\"", "format = \"logfmt\"",
        ]
        for line in expected { XCTAssertTrue(lines.contains(line), "check-config output lacks `\(line)`:\n\(result.stdout)") }
        for section in ["[identity]", "[storage]", "[protocol]", "[limits]", "[log]", "[metrics]"] {
            XCTAssertTrue(lines.contains(section), "no \(section) in the output")
        }

        // The printed configuration is itself a valid file with the same meaning.
        let effective = env.directory.appendingPathComponent("effective.toml")
        try result.stdout.write(to: effective, atomically: true, encoding: .utf8)
        let again = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", effective.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertEqual(again.status, 0, "the effective configuration does not load: \(again.stderr)")
        XCTAssertEqual(again.stdout, result.stdout, "the effective configuration is not a fixed point")
    }

    func testAnUnknownKeyIsRefusedByName() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        let good = Daemon.configText(port: 17998, pki: env.pki, root: root, workers: 1)
        let cases: [(name: String, text: String, expect: [String])] = [
            ("typo in [limits]", good + "\n[limits]\nmax_sesions = 5\n", ["'limits.max_sesions'", "unknown key"]),
            ("typo in [server]", good.replacingOccurrences(of: "workers = 1", with: "wrokers = 1"), ["'server.wrokers'"]),
            ("unknown section", good + "\n[storgae]\nroot = \"/tmp\"\n", ["storgae"]),
        ]
        for (name, text, expect) in cases {
            let config = env.directory.appendingPathComponent("bad.toml")
            try text.write(to: config, atomically: true, encoding: .utf8)
            let result = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                             outputDirectory: env.directory, name: "check-config", timeout: 30)
            XCTAssertNotNil(result.status, "\(name): \(result.termination)")
            XCTAssertNotEqual(result.status, 0, "\(name): check-config accepted the file")
            let message = result.stderr + result.stdout
            for phrase in expect { XCTAssertTrue(message.contains(phrase), "\(name): message lacks \(phrase): \(message)") }
            XCTAssertTrue(message.contains("bad.toml"), "\(name): the message does not name the file: \(message)")
            XCTAssertFalse(result.stdout.contains("[server]"), "\(name): printed a configuration anyway")
            report("\(name): \(result.stderr.split(separator: "\n").first ?? "")")
        }
        // The daemon itself refuses to start with such a file (and says why), instead of running with a default.
        let config = env.directory.appendingPathComponent("bad.toml")
        try (good + "\n[limits]\nmax_sesions = 5\n").write(to: config, atomically: true, encoding: .utf8)
        let run = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                      name: "ferryd-bad", timeout: 10)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("'limits.max_sesions'"), run.stderr)
        XCTAssertFalse(run.stderr.contains("ferryd ready"))
    }

    /// A storage root that does not exist is an error naming the key and the path and saying how to create it, for
    /// check-config and for a start alike; neither creates it (nor anything on its way).
    func testAMissingStorageRootIsRefusedAndNotCreated() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("not-mounted/ferry", isDirectory: true)
        let config = env.directory.appendingPathComponent("missing-root.toml")
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1)
            .write(to: config, atomically: true, encoding: .utf8)
        let expected = "storage.root: \(root.path) does not exist, and ferryd does not create it: create it, owned by "
            + "the user ferryd runs as"
        let check = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                        outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertNotEqual(check.status, 0, check.stdout)
        XCTAssertTrue(check.stderr.contains(expected), check.stderr)
        let run = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                      name: "ferryd-missing-root", timeout: 15)
        XCTAssertNotNil(run.status, run.termination)
        XCTAssertNotEqual(run.status, 0, "ferryd started without its storage root")
        XCTAssertFalse(run.stderr.contains("ferryd ready"))
        XCTAssertTrue(run.stderr.contains(expected), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.deletingLastPathComponent().path),
                       "something on the way to the root was created")
    }
}
