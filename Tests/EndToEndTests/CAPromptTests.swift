// `ferry ca` at a real (pseudo-)terminal: `init` asks for the CA key's passphrase twice and writes no passphrase file;
// `issue` asks for it; nothing typed is echoed. Without a terminal the same CA cannot be used and the error says how
// to give the passphrase. (Scripts without a terminal get a generated passphrase: TestEnvironment's own CA, made for
// every end-to-end test, is one.)
import Foundation
import TestSupport
import XCTest

final class CAPromptTests: XCTestCase {
    func testInitAndIssuePromptOnATerminal() throws {
        let env = try TestEnvironment(self)
        // TestEnvironment's CA was made without a terminal: encrypted, its passphrase generated beside the key.
        let generated = env.pki.caKey.path + ".passphrase"
        XCTAssertTrue(FileManager.default.fileExists(atPath: generated))
        XCTAssertTrue(try String(contentsOf: env.pki.caKey, encoding: .utf8).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

        let ca = env.directory.appendingPathComponent("typed-ca", isDirectory: true)
        let passphrase = "a passphrase typed on a terminal"
        let environment = ChildProcess.isolatedEnvironment(home: env.directory)
        let initialized = try TerminalSession.run(
            env.binaries.ferry, ["ca", "init", "--dir", ca.path], in: env.directory, environment: environment,
            answers: [("Passphrase for the new key \(ca.path)/ca.key: ", passphrase),
                      ("The same passphrase again: ", passphrase)])
        XCTAssertEqual(initialized.status, 0, initialized.output)
        XCTAssertTrue(initialized.output.contains("encrypted with your passphrase"), initialized.output)
        XCTAssertFalse(initialized.output.contains(passphrase), "echoed:\n\(initialized.output)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ca.path).sorted(), ["ca.crt", "ca.key"])
        let passphraseFile = env.directory.appendingPathComponent("typed.pass")
        try Data((passphrase + "\n").utf8).write(to: passphraseFile)
        let opened = try runOpenSSL(["pkey", "-in", ca.appendingPathComponent("ca.key").path, "-passin",
                                     "file:" + passphraseFile.path, "-noout"])
        XCTAssertEqual(opened.status, 0, opened.output)

        let out = env.directory.appendingPathComponent("typed-out").path
        let issued = try TerminalSession.run(
            env.binaries.ferry, ["ca", "issue", "--dir", ca.path, "--name", "carol", "--client", "--out", out],
            in: env.directory, environment: environment,
            answers: [("Passphrase for \(ca.path)/ca.key: ", passphrase)])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertTrue(issued.output.contains("Issued client certificate \"carol\""), issued.output)
        XCTAssertFalse(issued.output.contains(passphrase), "echoed:\n\(issued.output)")

        // The same without a terminal (stdin /dev/null): no prompt, an error that says how to give the passphrase.
        let script = try runToCompletion(env.binaries.ferry, ["ca", "issue", "--dir", ca.path, "--name", "dave", "--client",
                                                              "--out", out],
                                         outputDirectory: env.directory, name: "ferry-ca", timeout: 30)
        XCTAssertEqual(script.status, 1, script.stderr)
        XCTAssertTrue(script.stderr.contains("\(ca.path)/ca.key is encrypted: give its passphrase with --passphrase-file"),
                      script.stderr)
    }
}
