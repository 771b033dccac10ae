// ferryd's private key at rest (Sources/Daemon/Runtime/ServerKey.swift): the permission rule as a table, then
// ServerKey.load on real files: an encrypted key with its passphrase file, the messages for a missing or wrong
// passphrase and for a readable file, the allow key, and $CREDENTIALS_DIRECTORY.
import Foundation
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Daemon
@testable import FerrydConfig

final class ServerKeyTests: XCTestCase {
    /// (mode, owner, ferryd's euid, from $CREDENTIALS_DIRECTORY) → accepted?
    func testPermissionRule() {
        let cases: [(mode: UInt32, owner: UInt32, user: UInt32, credentials: Bool, accepted: Bool, why: String)] = [
            (0o600, 1000, 1000, false, true, "owner only"),
            (0o400, 1000, 1000, false, true, "owner read only"),
            (0o000, 1000, 1000, false, true, "nothing at all (root reads it anyway)"),
            (0o640, 1000, 1000, false, false, "group read on the service user's own file"),
            (0o604, 1000, 1000, false, false, "others read"),
            (0o644, 1000, 1000, false, false, "group and others"),
            (0o620, 1000, 1000, false, false, "group write"),
            (0o640, 0, 1000, false, true, "root grants ferryd's group read (install -m 0640 -o root -g ferry)"),
            (0o660, 0, 1000, false, false, "root-owned, but group write"),
            (0o650, 0, 1000, false, false, "root-owned, but group execute"),
            (0o644, 0, 1000, false, false, "root-owned, others read"),
            (0o640, 0, 0, false, false, "ferryd as root: its own file, group read is not needed"),
            (0o440, 0, 1000, true, true, "a systemd credential: the ACL mask shows as group read"),
            (0o440, 0, 0, true, true, "a credential with ferryd as root"),
            (0o444, 0, 1000, true, false, "a credential others may read"),
        ]
        for c in cases {
            let problem = ServerKey.permissionProblem(FileOwnership(mode: c.mode, owner: c.owner, group: 0), path: "/k",
                                                      processUser: c.user, fromCredentials: c.credentials)
            XCTAssertEqual(problem == nil, c.accepted, "\(String(c.mode, radix: 8)) owner \(c.owner) as \(c.user): \(c.why)")
            if let problem {
                XCTAssertTrue(problem.problem.contains("/k has mode 0\(String(c.mode, radix: 8))"), problem.problem)
                XCTAssertTrue(problem.fix.contains("chmod 600 /k"), problem.fix)
            }
        }
    }

    // MARK: ServerKey.load

    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("server-key") }

    private func write(_ name: String, _ bytes: [UInt8], mode: Int) throws -> URL {
        let url = directory.appending(name)
        try Data(bytes).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url
    }

    private func identity(key: URL, passphrase: URL? = nil, allow: Bool = false) -> DaemonConfig.IdentitySection {
        var identity = DaemonConfig.IdentitySection()
        identity.privateKey = key
        identity.privateKeyPassphraseFile = passphrase
        identity.allowReadablePrivateKey = allow
        return identity
    }

    private func load(_ identity: DaemonConfig.IdentitySection, environment: [String: String] = [:]) -> Result<ServerKey, ServerKeyError> {
        do { return .success(try ServerKey.load(identity, environment: environment)) } catch { return .failure(error) }
    }

    private func assertRefused(_ identity: DaemonConfig.IdentitySection, environment: [String: String] = [:],
                               _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        switch load(identity, environment: environment) {
        case .success: XCTFail("loaded; expected a refusal with \(fragments)", file: file, line: line)
        case .failure(let error):
            for fragment in fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testEncryptedKeyWithItsPassphraseFile() throws {
        let key = try SigningKey.generate(.ed25519)
        let passphrase = Passphrase.generate()
        let keyURL = try write("server.key", try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase).copied, mode: 0o600)
        let passURL = try write("server.key.passphrase", Passphrase.fileContents(passphrase).copied, mode: 0o600)

        let loaded = try load(identity(key: keyURL, passphrase: passURL)).get()
        XCTAssertEqual(try loaded.key.pkcs8PEM().copied, try key.pkcs8PEM().copied)
        XCTAssertEqual(loaded.warnings, [])

        assertRefused(identity(key: keyURL), ["identity.private_key:", keyURL.path, "is encrypted",
                                              "give its passphrase with identity.private_key_passphrase_file"])
        let wrongURL = try write("wrong", Array("not it\n".utf8), mode: 0o600)
        assertRefused(identity(key: keyURL, passphrase: wrongURL), ["wrong passphrase", keyURL.path, wrongURL.path])
        let twoLines = try write("two-lines", Array("a\nb\n".utf8), mode: 0o600)
        assertRefused(identity(key: keyURL, passphrase: twoLines), [twoLines.path, "more than one line"])
        let missing = directory.appending("missing")
        assertRefused(identity(key: keyURL, passphrase: missing), ["identity.private_key_passphrase_file", missing.path])
    }

    func testAPassphraseForAnUnencryptedKeyIsUnusedAndSaid() throws {
        let keyURL = try write("plain.key", try SigningKey.generate(.ecdsaP256).pkcs8PEM().copied, mode: 0o600)
        let passURL = try write("plain.key.passphrase", Array("whatever\n".utf8), mode: 0o600)
        let loaded = try load(identity(key: keyURL, passphrase: passURL)).get()
        XCTAssertEqual(loaded.warnings.count, 1)
        XCTAssertTrue(loaded.warnings[0].contains("not encrypted"), loaded.warnings[0])
    }

    func testReadableFilesAreRefusedUnlessAllowed() throws {
        let key = try SigningKey.generate(.ed25519)
        let passphrase = Passphrase.generate()
        let keyURL = try write("server.key", try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase).copied, mode: 0o644)
        let passURL = try write("server.key.passphrase", Passphrase.fileContents(passphrase).copied, mode: 0o600)
        assertRefused(identity(key: keyURL, passphrase: passURL),
                      ["identity.private_key:", "\(keyURL.path) has mode 0644", "its group and others may access it",
                       "chmod 600 \(keyURL.path)", "identity.allow_readable_private_key = true"])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyURL.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: passURL.path)
        assertRefused(identity(key: keyURL, passphrase: passURL),
                      ["identity.private_key_passphrase_file:", "\(passURL.path) has mode 0604", "others may access it",
                       "chmod 600 \(passURL.path)"])

        let allowed = try load(identity(key: keyURL, passphrase: passURL, allow: true)).get()
        XCTAssertEqual(allowed.warnings.count, 1)
        XCTAssertTrue(allowed.warnings[0].contains("used anyway because identity.allow_readable_private_key = true"),
                      allowed.warnings[0])
    }

    /// systemd writes a credential 0400 and grants the service read with an ACL, which stat shows as 0440: accepted
    /// there, refused anywhere else.
    func testCredentialsDirectoryShowsTheACLMaskAsGroupBits() throws {
        let key = try SigningKey.generate(.ed25519)
        let passphrase = Passphrase.generate()
        try FileManager.default.createDirectory(at: directory.appending("credentials"), withIntermediateDirectories: true)
        let keyURL = try write("credentials/server.key",
                               try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase).copied, mode: 0o440)
        let passURL = try write("credentials/server.key.passphrase", Passphrase.fileContents(passphrase).copied, mode: 0o440)
        let credentials = ["CREDENTIALS_DIRECTORY": directory.appending("credentials").path]
        XCTAssertEqual(try load(identity(key: keyURL, passphrase: passURL), environment: credentials).get().warnings, [])
        assertRefused(identity(key: keyURL, passphrase: passURL), ["0440"])
    }
}

private extension SecretBytes {
    /// The bytes as an array (`bytes` is internal to Protocol): test data only.
    var copied: [UInt8] { withUnsafeBytes { Array($0) } }
}
