// Issue #16, point 3, the client's side: `ferry upload` with an encrypted key, its passphrase from
// --key-passphrase-file, from $FERRY_KEY_PASSPHRASE, from client.toml's key_passphrase_file, or typed at a prompt on a
// (pseudo-)terminal; a wrong passphrase and a missing one fail with exit 78 and say what to do; a key file others may
// read is used with one warning.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ClientKeyPassphraseTests: XCTestCase {
    private static let passphrase = "correct horse battery staple"

    /// A client "bob" whose key is encrypted with `passphrase` (from a file, as an operator would script it).
    private func encryptedClient(_ env: TestEnvironment) throws -> (credentials: ClientCredentials, passphraseFile: URL) {
        let passphraseFile = env.directory.appendingPathComponent("bob.pass")
        try Data((Self.passphrase + "\n").utf8).write(to: passphraseFile)
        XCTAssertEqual(chmod(passphraseFile.path, 0o600), 0)
        try env.ferryCA(["issue", "--dir", env.pki.directory.appendingPathComponent("ca").path, "--name", "bob", "--client",
                         "--encrypt", "--key-passphrase-file", passphraseFile.path,
                         "--out", env.pki.directory.appendingPathComponent("certs").path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: env.pki.key("bob").path + ".passphrase"),
                       "a passphrase from a file is not written beside the key")
        return (env.credentials("bob"), passphraseFile)
    }

    /// `ferry upload` of one new file as `client`, with `extra` options and `variables` in its environment (and never
    /// a FERRY_KEY_PASSPHRASE of the test runner's own).
    private func upload(_ env: TestEnvironment, _ daemon: Daemon, _ client: ClientCredentials, extra: [String] = [],
                        variables: [String: String] = [:]) throws -> RunResult {
        let source = try env.sourceDirectory("passphrase")
        let file = source.appendingPathComponent("\(UUID().uuidString.prefix(8)).bin")
        try Content.write(Content.random(4096), to: file)
        var environment = ChildProcess.isolatedEnvironment(home: env.directory)
        environment.removeValue(forKey: "FERRY_KEY_PASSPHRASE")
        environment.merge(variables) { _, new in new }
        return try runToCompletion(env.binaries.ferry, ["upload", "--server", daemon.address, "--ca", client.ca.path,
                                                        "--cert", client.certificate.path, "--key", client.key.path]
                                       + extra + ["--", file.path],
                                   outputDirectory: env.directory, name: "ferry-upload", timeout: 60, environment: environment)
    }

    func testThePassphraseFromAFileTheEnvironmentOrClientToml() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let (bob, passphraseFile) = try encryptedClient(env)

        let fromFile = try upload(env, daemon, bob, extra: ["--key-passphrase-file", passphraseFile.path])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        let fromEnvironment = try upload(env, daemon, bob, variables: ["FERRY_KEY_PASSPHRASE": Self.passphrase])
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)

        let config = env.directory.appendingPathComponent("client.toml")
        try "key_passphrase_file = \"\(passphraseFile.path)\"\n".write(to: config, atomically: true, encoding: .utf8)
        let fromConfig = try upload(env, daemon, bob, extra: ["--config", config.path])
        XCTAssertEqual(fromConfig.status, 0, fromConfig.stderr)
        XCTAssertEqual(regularFiles(under: daemon.area("bob")).count, 3)

        // The command line comes before the environment: a wrong file is an error even with the right variable set.
        let wrong = env.directory.appendingPathComponent("wrong.pass")
        try Data("not it\n".utf8).write(to: wrong)
        XCTAssertEqual(chmod(wrong.path, 0o600), 0)
        let overridden = try upload(env, daemon, bob, extra: ["--key-passphrase-file", wrong.path],
                                    variables: ["FERRY_KEY_PASSPHRASE": Self.passphrase])
        XCTAssertEqual(overridden.status, 78, overridden.stderr)
        XCTAssertTrue(overridden.stderr.contains("wrong passphrase for \(bob.key.path)"), overridden.stderr)
        XCTAssertTrue(overridden.stderr.contains("named by --key-passphrase-file"), overridden.stderr)
    }

    func testAWrongOrMissingPassphraseFailsWithWhatToDo() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let (bob, _) = try encryptedClient(env)

        let wrong = try upload(env, daemon, bob, variables: ["FERRY_KEY_PASSPHRASE": "Correct horse battery staple"])
        XCTAssertEqual(wrong.status, 78, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("wrong passphrase for \(bob.key.path) (from $FERRY_KEY_PASSPHRASE)"), wrong.stderr)
        XCTAssertFalse(wrong.stderr.lowercased().contains("bad decrypt"), "OpenSSL's words: \(wrong.stderr)")

        // No terminal (stdin is /dev/null) and no source: no prompt, and the three ways are listed.
        let missing = try upload(env, daemon, bob)
        XCTAssertEqual(missing.status, 78, missing.stderr)
        for fragment in ["\(bob.key.path) is encrypted", "--key-passphrase-file", "FERRY_KEY_PASSPHRASE", "terminal"] {
            XCTAssertTrue(missing.stderr.contains(fragment), "lacks \(fragment): \(missing.stderr)")
        }
        XCTAssertEqual(regularFiles(under: daemon.area("bob")), [])
    }

    /// On a terminal the passphrase is asked for, not echoed, and asked again after a wrong one.
    func testThePassphraseIsTypedAtAPromptOnATerminal() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let (bob, _) = try encryptedClient(env)
        let file = try env.sourceDirectory("typed").appendingPathComponent("typed.bin")
        let content = Content.random(8192)
        try Content.write(content, to: file)
        var environment = ChildProcess.isolatedEnvironment(home: env.directory)
        environment.removeValue(forKey: "FERRY_KEY_PASSPHRASE")
        let prompt = "Passphrase for \(bob.key.path): "
        let session = try TerminalSession.run(
            env.binaries.ferry, ["upload", "--server", daemon.address, "--ca", bob.ca.path, "--cert", bob.certificate.path,
                                 "--key", bob.key.path, "--", file.path],
            in: env.directory, environment: environment,
            answers: [(prompt, "a wrong guess"), (prompt, Self.passphrase)])
        XCTAssertEqual(session.status, 0, session.output)
        XCTAssertTrue(session.output.contains("Wrong passphrase, try again."), session.output)
        XCTAssertFalse(session.output.contains(Self.passphrase), "the passphrase was echoed:\n\(session.output)")
        XCTAssertFalse(session.output.contains("a wrong guess"), "the wrong guess was echoed:\n\(session.output)")
        assertStored(daemon.area("bob").appendingPathComponent("typed.bin"), equals: content)
    }

    /// A key file its group and others may read is used, with one warning however many sessions run.
    func testAKeyOthersMayReadIsWarnedAboutOnce() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        XCTAssertEqual(chmod(env.alice.key.path, 0o644), 0)
        let source = try env.sourceDirectory("readable")
        for index in 0..<4 { try Content.write(Content.random(4096), to: source.appendingPathComponent("\(index).bin")) }
        let outcome = try env.upload([source.path], to: daemon, parallel: 4)
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr)
        let warning = "warning: the private key \(env.alice.key.path) has mode 0644: its group and others may access it; "
            + "run `chmod 600 \(env.alice.key.path)`"
        XCTAssertEqual(outcome.run.stderr.components(separatedBy: warning).count - 1, 1, outcome.run.stderr)
    }
}
