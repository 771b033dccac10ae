// The `ferry ca` command line: argument validation and what reaches CertificateAuthority.
import ArgumentParser
import Foundation
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

final class CACommandTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// Parses and runs `arguments` as `ferry ca …`, as a script would: with no terminal to prompt on, even when the
    /// tests themselves run on one.
    private func run(_ arguments: [String]) throws {
        var command = try CACommand.parseAsRoot(arguments)
        try Terminal.$replacement.withValue(.absent) { try command.run() }
    }

    /// Expects `arguments` to fail; returns ArgumentParser's message for it.
    private func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try run(arguments)
            XCTFail("\(arguments) succeeded", file: file, line: line)
            return ""
        } catch {
            return CACommand.message(for: error)
        }
    }

    func testInitAndIssue() throws {
        let ca = directory.appending("ca").path
        let out = directory.appending("out").path
        try run(["init", "--dir", ca, "--name", "Test CA", "--key-type", "ecdsa-p384", "--days", "100"])
        try run(["issue", "--dir", ca, "--name", "files", "--server", "--san", "DNS:localhost,IP:127.0.0.1", "--san", "IP:::1",
                 "--key-type", "rsa-3072", "--days", "30", "--out", out])
        try run(["issue", "--dir", ca, "--name", "alice", "--client", "--days", "99", "--out", out])

        let text = try runOpenSSL(["x509", "-in", out + "/files.crt", "-noout", "-text"])
        XCTAssertTrue(text.output.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), text.output)
        XCTAssertTrue(text.output.contains("ecdsa-with-SHA384"), text.output)
        XCTAssertTrue(text.output.contains("Public-Key: (3072 bit)"), text.output)
        let loaded = try CertificateAuthority(directory: directory.appending("ca"))
        XCTAssertEqual(loaded.name, "Test CA")
        XCTAssertEqual(loaded.keyType, .ecdsaP384)
        for file in ["files.key", "alice.key"] { XCTAssertEqual(try fileMode(out + "/" + file), 0o600) }
    }

    func testBadArgumentsFailWithClearMessages() throws {
        let ca = directory.appending("ca").path
        let out = directory.appending("out").path
        try run(["init", "--dir", ca, "--key-type", "ed25519"])

        let cases: [([String], String)] = [
            (["issue", "--dir", ca, "--name", "files", "--server", "--out", out], "--server needs --san"),
            (["issue", "--dir", ca, "--name", "alice", "--client", "--san", "DNS:alice", "--out", out], "--san is for --server"),
            (["issue", "--dir", ca, "--name", "x", "--server", "--client", "--san", "DNS:a", "--out", out], "--client"),
            (["issue", "--dir", ca, "--name", "x", "--out", out], "--server"),
            (["issue", "--dir", ca, "--name", "files", "--server", "--san", "localhost", "--out", out], "has no type"),
            (["issue", "--dir", ca, "--name", "files", "--server", "--san", "IP:999.1.1.1", "--out", out], "not an IPv4"),
            (["issue", "--dir", ca, "--name", "../x", "--client", "--out", out], "must start with a letter"),
            (["issue", "--dir", ca, "--name", "x", "--client", "--key-type", "rsa-4096", "--out", out], "rsa-4096"),
            (["issue", "--dir", ca, "--name", "x", "--client", "--days", "0", "--out", out], "days must be"),
            (["issue", "--dir", ca, "--name", "x", "--client"], "--out"),
            (["init", "--dir", ca], "already exists"),
            (["init", "--dir", directory.appending("ca2").path, "--days", "99999999"], "days must be"),
            (["init", "--dir", directory.appending("ca3").path, "--name", ""], "1–64 characters"),
        ]
        for (arguments, fragment) in cases {
            let message = failure(arguments)
            XCTAssertTrue(message.contains(fragment), "\(arguments): \(message)")
        }
        // A missing CA is not an input mistake: it is reported as the CAError itself.
        do {
            try run(["issue", "--dir", directory.appending("none").path, "--name", "x", "--client", "--out", out])
            XCTFail("issued from a missing CA")
        } catch let error as CAError {
            XCTAssertEqual(error.kind, .invalidCA)
            XCTAssertTrue(error.message.contains("ferry ca init"), error.message)
        }
        XCTAssertNoThrow(try run(["init", "--dir", ca, "--force", "--key-type", "ed25519"]))
    }

    func testKeyTypeNames() {
        XCTAssertEqual(CAKeyType.allValueStrings, ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-3072"])
        XCTAssertEqual(CAKeyType(argument: "ECDSA-P256"), .ecdsaP256)
        XCTAssertNil(CAKeyType(argument: "rsa"))
    }
}
