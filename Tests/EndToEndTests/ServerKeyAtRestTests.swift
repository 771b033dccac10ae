// Issue #16, point 3, the daemon's side: ferryd runs with an encrypted key and its passphrase file (also as systemd
// credentials from $CREDENTIALS_DIRECTORY), refuses a key file others may read at start and on reload (naming the
// file, its mode and the chmod), and uses it when `allow_readable_private_key` says so.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ServerKeyAtRestTests: XCTestCase {
    /// Re-issues the server's certificate with an encrypted key: without a terminal, `ferry ca issue --encrypt`
    /// generates the passphrase into certs/server.key.passphrase.
    private func encryptServerKey(_ env: TestEnvironment) throws -> URL {
        let result = try env.ferryCA(["issue", "--dir", env.pki.directory.appendingPathComponent("ca").path, "--name", "server",
                                      "--server", "--san", "DNS:localhost,IP:127.0.0.1", "--encrypt", "--force",
                                      "--out", env.pki.directory.appendingPathComponent("certs").path])
        let passphrase = URL(fileURLWithPath: env.pki.serverKey.path + ".passphrase")
        XCTAssertTrue(result.stdout.contains("passphrase   \(passphrase.path)  (generated, mode 0600)"), result.stdout)
        let pem = try String(contentsOf: env.pki.serverKey, encoding: .utf8)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"), pem)
        return passphrase
    }

    private func uploadWorks(_ env: TestEnvironment, _ daemon: Daemon, file: StaticString = #filePath, line: UInt = #line) throws {
        let name = "\(UUID().uuidString.prefix(8)).bin"
        let source = try env.sourceDirectory("at-rest")
        let content = Content.random(64 * 1024)
        try Content.write(content, to: source.appendingPathComponent(name))
        let outcome = try env.upload([source.appendingPathComponent(name).path], to: daemon)
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr, file: file, line: line)
        assertStored(daemon.area("alice").appendingPathComponent(name), equals: content, file: file, line: line)
    }

    func testAnEncryptedKeyWithItsPassphraseFile() throws {
        let env = try TestEnvironment(self)
        let passphrase = try encryptServerKey(env)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: [
            "identity": ["private_key_passphrase_file = \"\(passphrase.path)\""],
        ])
        try uploadWorks(env, daemon)

        // Without the passphrase file the same key is refused, and the message says how to give it.
        let config = env.directory.appendingPathComponent("no-passphrase.toml")
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: daemon.root, workers: 1)
            .write(to: config, atomically: true, encoding: .utf8)
        let refused = try runToCompletion(env.binaries.ferryd, ["check-config", "--config", config.path],
                                          outputDirectory: env.directory, name: "check-config", timeout: 30)
        XCTAssertNotEqual(refused.status, 0)
        for fragment in ["\(env.pki.serverKey.path) is encrypted", "identity.private_key_passphrase_file"] {
            XCTAssertTrue(refused.stderr.contains(fragment), "lacks \(fragment): \(refused.stderr)")
        }
        XCTAssertFalse(refused.stderr.contains("interrupted or cancelled"), "OpenSSL's words: \(refused.stderr)")

        // A wrong passphrase: "wrong passphrase", not OpenSSL's jargon.
        let wrong = env.directory.appendingPathComponent("wrong.passphrase")
        try Data("not the passphrase\n".utf8).write(to: wrong)
        chmod(wrong.path, 0o600)
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: daemon.root, workers: 1,
                              settings: ["identity": ["private_key_passphrase_file = \"\(wrong.path)\""]])
            .write(to: config, atomically: true, encoding: .utf8)
        let wrongRun = try runToCompletion(env.binaries.ferryd, ["--config", config.path], outputDirectory: env.directory,
                                           name: "ferryd-wrong", timeout: 30)
        XCTAssertNotEqual(wrongRun.status, 0)
        XCTAssertTrue(wrongRun.stderr.contains("wrong passphrase for \(env.pki.serverKey.path)"), wrongRun.stderr)
        XCTAssertFalse(wrongRun.stderr.contains("ferryd ready"))
    }

    /// systemd's LoadCredential=: bare names are read from $CREDENTIALS_DIRECTORY, where the files show mode 0440
    /// (systemd grants the service with an ACL, whose mask is what stat reports as the group bits).
    func testKeyAndPassphraseAsSystemdCredentials() throws {
        let env = try TestEnvironment(self)
        let passphrase = try encryptServerKey(env)
        let credentials = env.directory.appendingPathComponent("credentials", isDirectory: true)
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        for (source, name) in [(env.pki.serverKey, "server.key"), (passphrase, "server.key.passphrase")] {
            let target = credentials.appendingPathComponent(name)
            try FileManager.default.copyItem(at: source, to: target)
            XCTAssertEqual(chmod(target.path, 0o440), 0)
        }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: [
            "identity": ["private_key = \"server.key\"", "private_key_passphrase_file = \"server.key.passphrase\""],
        ], variables: ["CREDENTIALS_DIRECTORY": credentials.path])
        try uploadWorks(env, daemon)
        XCTAssertFalse(daemon.log.contains("allow_readable_private_key"), daemon.log)
    }

    func testAKeyOthersMayReadIsRefusedAtStartAndReloadUnlessAllowed() throws {
        let env = try TestEnvironment(self)
        let key = env.pki.serverKey.path
        XCTAssertEqual(chmod(key, 0o644), 0)
        let config = env.directory.appendingPathComponent("readable.toml")
        let root = env.directory.appendingPathComponent("root", isDirectory: true)
        try Daemon.configText(port: try Daemon.freePort(), pki: env.pki, root: root, workers: 1)
            .write(to: config, atomically: true, encoding: .utf8)
        for arguments in [["--config", config.path], ["check-config", "--config", config.path]] {
            let run = try runToCompletion(env.binaries.ferryd, arguments, outputDirectory: env.directory, name: "ferryd-0644",
                                          timeout: 30)
            XCTAssertNotEqual(run.status, 0, "\(arguments): \(run.stdout)")
            for fragment in ["identity.private_key", "\(key) has mode 0644", "chmod 600 \(key)",
                             "identity.allow_readable_private_key = true"] {
                XCTAssertTrue(run.stderr.contains(fragment), "\(arguments): lacks \(fragment): \(run.stderr)")
            }
            XCTAssertFalse(run.stderr.contains("ferryd ready"))
        }

        // Allowed: it runs, and says why it uses the file.
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["identity": ["allow_readable_private_key = true"]])
        let warning = daemon.logLines(message: "configuration").first { $0["warning"]?.contains(key) ?? false }
        XCTAssertTrue(warning?["warning"]?.contains("used anyway because identity.allow_readable_private_key = true") ?? false,
                      daemon.log)
        try uploadWorks(env, daemon)

        // A reload without the allow key is refused (the running configuration stays), and the daemon keeps serving.
        let allowed = try String(contentsOf: daemon.configURL, encoding: .utf8)
        try allowed.replacingOccurrences(of: "allow_readable_private_key = true\n", with: "")
            .write(to: daemon.configURL, atomically: true, encoding: .utf8)
        daemon.child.signal(SIGHUP)
        let failed = daemon.waitForLog(timeout: 10) { $0.message == "reload failed: keeping the current configuration" }
        XCTAssertTrue(failed?["error"]?.contains("\(key) has mode 0644") ?? false, daemon.log)
        daemon.assertRunning("after the refused reload")
        try uploadWorks(env, daemon)
    }
}
