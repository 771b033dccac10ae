// `ferry ca` and encrypted keys, run in process: `init` encrypts ca.key (a generated passphrase in ca.key.passphrase
// without a terminal, the one in --passphrase-file, or one typed twice), `--no-encrypt` does not; `issue`, `revoke` and
// `crl` find the CA's passphrase (--passphrase-file, ca.key.passphrase, the terminal) or say how to give it; `issue
// --encrypt` encrypts the leaf. Every key is checked with `openssl pkey`. The terminal is a scripted one here; the real
// one, under a pseudo-terminal, is in EndToEndTests/CAPromptTests.swift.
import ArgumentParser
import Foundation
import Protocol
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

/// A terminal that answers prompts from a list and records what it was asked and told.
final class ScriptedTerminal: PassphraseTerminal, @unchecked Sendable {
    // @unchecked: used from the test's own thread only.
    private var answers: [String]
    private(set) var prompts: [String] = []
    private(set) var said: [String] = []

    init(_ answers: [String]) { self.answers = answers }

    func readPassphrase(prompt: String) throws(PromptError) -> SecretBytes {
        prompts.append(prompt)
        guard !answers.isEmpty else { throw PromptError("cancelled at the passphrase prompt (no answer left)") }
        return SecretBytes(copying: Array(answers.removeFirst().utf8))
    }

    func say(_ line: String) { said.append(line) }
}

final class CAPassphraseTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("ca-passphrase") }

    private var ca: String { directory.appending("ca").path }
    private var out: String { directory.appending("out").path }

    /// Runs `ferry ca …` in process, with `terminal` (none: as a script runs it) and stdout captured.
    @discardableResult
    private func run(_ arguments: [String], terminal: ScriptedTerminal? = nil) throws -> String {
        var command = try CACommand.parseAsRoot(arguments)
        let captured = directory.appending("stdout-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: captured.path, contents: nil)
        let saved = dup(STDOUT_FILENO)
        let file = open(captured.path, O_WRONLY)
        fflush(nil)  // every stream: print buffers stdout
        dup2(file, STDOUT_FILENO)
        close(file)
        defer {
            fflush(nil)  // every stream: print buffers stdout
            dup2(saved, STDOUT_FILENO)
            close(saved)
        }
        try Terminal.$replacement.withValue(terminal.map { .scripted($0) } ?? .absent) { try command.run() }
        fflush(nil)  // every stream: print buffers stdout
        return (try? String(contentsOf: captured, encoding: .utf8)) ?? ""
    }

    private func failure(_ arguments: [String], terminal: ScriptedTerminal? = nil) -> String {
        do {
            try run(arguments, terminal: terminal)
            XCTFail("\(arguments) succeeded")
            return ""
        } catch {
            return CACommand.message(for: error)
        }
    }

    private func pem(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    private func opensslOpens(_ key: String, passphraseFile: String?) throws -> Bool {
        try runOpenSSL(["pkey", "-in", key, "-noout"] + (passphraseFile.map { ["-passin", "file:" + $0] } ?? ["-passin", "pass:"]))
            .status == 0
    }

    private func writePassphrase(_ name: String, _ text: String) throws -> String {
        let path = try directory.write(name, text + "\n")
        chmod(path, 0o600)
        return path
    }

    func testInitWithoutATerminalGeneratesThePassphraseAndIssueFindsIt() throws {
        let output = try run(["init", "--dir", ca])
        let key = ca + "/ca.key"
        let passphraseFile = key + ".passphrase"
        XCTAssertTrue(output.contains("passphrase   \(passphraseFile)  (generated, mode 0600)"), output)
        XCTAssertTrue(output.contains("no terminal"), output)
        XCTAssertEqual(try fileMode(passphraseFile), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ca).sorted(), ["ca.crt", "ca.key", "ca.key.passphrase"])
        XCTAssertTrue(try pem(key).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        XCTAssertEqual(try pem(passphraseFile).count, 44, "43 base64url characters and a newline")
        XCTAssertTrue(try opensslOpens(key, passphraseFile: passphraseFile))
        XCTAssertFalse(try opensslOpens(key, passphraseFile: nil))

        try run(["issue", "--dir", ca, "--name", "alice", "--client", "--out", out])
        XCTAssertTrue(try opensslOpens(out + "/alice.key", passphraseFile: nil), "a leaf is unencrypted without --encrypt")
        try run(["revoke", "--dir", ca, "--name", "alice"])
        try run(["crl", "--dir", ca, "--out", directory.appending("ca.crl").path])
    }

    func testNoEncryptWritesThePlainKeyAsBefore() throws {
        let output = try run(["init", "--dir", ca, "--no-encrypt"])
        XCTAssertTrue(output.contains("NOT encrypted"), output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ca).sorted(), ["ca.crt", "ca.key"])
        XCTAssertTrue(try pem(ca + "/ca.key").hasPrefix("-----BEGIN PRIVATE KEY-----"))
        try run(["issue", "--dir", ca, "--name", "alice", "--client", "--out", out], terminal: ScriptedTerminal([]))
        XCTAssertTrue(failure(["init", "--dir", directory.appending("x").path, "--no-encrypt", "--passphrase-file", "f"])
            .contains("--no-encrypt"))
    }

    func testAPassphraseFromAFileIsNotWrittenDownAndIsNeededToIssue() throws {
        let passphrase = try writePassphrase("ca.pass", "a passphrase of mine")
        let output = try run(["init", "--dir", ca, "--passphrase-file", passphrase])
        XCTAssertTrue(output.contains("encrypted with your passphrase"), output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ca).sorted(), ["ca.crt", "ca.key"])
        XCTAssertTrue(try opensslOpens(ca + "/ca.key", passphraseFile: passphrase))

        let missing = failure(["issue", "--dir", ca, "--name", "alice", "--client", "--out", out])
        for fragment in ["\(ca)/ca.key is encrypted", "--passphrase-file", "\(ca)/ca.key.passphrase", "terminal"] {
            XCTAssertTrue(missing.contains(fragment), "lacks \(fragment): \(missing)")
        }
        let wrong = try writePassphrase("wrong.pass", "not the passphrase")
        let refused = failure(["issue", "--dir", ca, "--passphrase-file", wrong, "--name", "alice", "--client", "--out", out])
        XCTAssertTrue(refused.contains("wrong passphrase for \(ca)/ca.key"), refused)
        try run(["issue", "--dir", ca, "--passphrase-file", passphrase, "--name", "alice", "--client", "--out", out])
        try run(["revoke", "--dir", ca, "--passphrase-file", passphrase, "--name", "alice"])
        try run(["crl", "--dir", ca, "--passphrase-file", passphrase, "--out", directory.appending("ca.crl").path])
        // Listing reads no key.
        XCTAssertTrue(try run(["list", "--dir", ca]).contains("alice"))

        let short = try writePassphrase("short.pass", "seven!!")
        XCTAssertTrue(failure(["init", "--dir", directory.appending("ca2").path, "--passphrase-file", short])
            .contains("at least 8"))
    }

    func testInitAsksTwiceOnATerminal() throws {
        // Three rounds, as many as there are: an empty one, two that differ, then the same one twice.
        let terminal = ScriptedTerminal(["", "first attempt", "second attempt", "typed passphrase", "typed passphrase"])
        let output = try run(["init", "--dir", ca], terminal: terminal)
        XCTAssertTrue(output.contains("encrypted with your passphrase"), output)
        XCTAssertEqual(terminal.prompts.filter { $0 == "Passphrase for the new key \(ca)/ca.key: " }.count, 3)
        XCTAssertEqual(terminal.prompts.filter { $0 == "The same passphrase again: " }.count, 2)
        XCTAssertEqual(terminal.said.count, 2)
        XCTAssertTrue(terminal.said.first?.contains("empty") ?? false, "\(terminal.said)")
        XCTAssertTrue(terminal.said.last?.contains("differ") ?? false, "\(terminal.said)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: ca + "/ca.key.passphrase"))
        XCTAssertTrue(try opensslOpens(ca + "/ca.key", passphraseFile: try writePassphrase("typed", "typed passphrase")))

        // issue asks for the CA's passphrase, and again after a wrong one.
        let issuing = ScriptedTerminal(["wrong", "typed passphrase"])
        try run(["issue", "--dir", ca, "--name", "alice", "--client", "--out", out], terminal: issuing)
        XCTAssertEqual(issuing.prompts, ["Passphrase for \(ca)/ca.key: ", "Passphrase for \(ca)/ca.key: "])
        XCTAssertEqual(issuing.said, ["Wrong passphrase, try again."])
        // Three wrong ones: an error.
        let message = failure(["issue", "--dir", ca, "--name", "bob", "--client", "--out", out],
                              terminal: ScriptedTerminal(["a", "b", "c"]))
        XCTAssertTrue(message.contains("wrong passphrase for \(ca)/ca.key (3 tries)"), message)
    }

    func testIssueEncryptWritesAnEncryptedLeafKey() throws {
        try run(["init", "--dir", ca])
        // No terminal: a generated passphrase beside the key.
        let output = try run(["issue", "--dir", ca, "--name", "alice", "--client", "--encrypt", "--out", out])
        let key = out + "/alice.key"
        XCTAssertTrue(output.contains("(mode 0600, encrypted)"), output)
        XCTAssertTrue(output.contains("passphrase   \(key).passphrase  (generated, mode 0600)"), output)
        XCTAssertEqual(try fileMode(key + ".passphrase"), 0o600)
        XCTAssertTrue(try opensslOpens(key, passphraseFile: key + ".passphrase"))
        XCTAssertFalse(try opensslOpens(key, passphraseFile: nil))
        // From a file: nothing written beside it.
        let passphrase = try writePassphrase("bob.pass", "bob's own passphrase")
        try run(["issue", "--dir", ca, "--name", "bob", "--client", "--encrypt", "--key-passphrase-file", passphrase, "--out", out])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/bob.key.passphrase"))
        XCTAssertTrue(try opensslOpens(out + "/bob.key", passphraseFile: passphrase))
        // Typed twice on a terminal (the CA's passphrase is found beside its key), after one too short.
        let typing = ScriptedTerminal(["short", "carol's passphrase", "carol's passphrase"])
        try run(["issue", "--dir", ca, "--name", "carol", "--client", "--encrypt", "--out", out], terminal: typing)
        XCTAssertEqual(typing.said, ["That is 5 bytes; a passphrase needs at least 8."])
        XCTAssertTrue(try opensslOpens(out + "/carol.key", passphraseFile: try writePassphrase("carol.pass", "carol's passphrase")))

        XCTAssertTrue(failure(["issue", "--dir", ca, "--name", "dave", "--client", "--key-passphrase-file", passphrase,
                               "--out", out]).contains("add --encrypt"))
        // The passphrase file counts as one of the leaf's files: not replaced without --force.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.removeItem(atPath: out + "/alice.crt")
        XCTAssertTrue(failure(["issue", "--dir", ca, "--name", "alice", "--client", "--out", out]).contains("already exists"))
    }

    /// A leftover ca.key.passphrase counts as a CA; replacing the CA with an unencrypted key removes it (a stale
    /// passphrase would otherwise be tried on the new key).
    func testAStalePassphraseFileIsNeverLeftForANewKey() throws {
        try run(["init", "--dir", ca])
        XCTAssertTrue(failure(["init", "--dir", ca]).contains("already exists"))
        try run(["init", "--dir", ca, "--force", "--no-encrypt"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ca).sorted(), ["ca.crt", "ca.key"])

        try FileManager.default.removeItem(atPath: ca + "/ca.key")
        try FileManager.default.removeItem(atPath: ca + "/ca.crt")
        _ = try writePassphrase("ca/ca.key.passphrase", "left over")
        XCTAssertTrue(failure(["init", "--dir", ca]).contains("ca.key.passphrase already exists"))
    }
}
