// The CA tooling end to end: make CAs and leaves of every key type, then check them with the `openssl` command line
// and with Ferry's own verifier (Protocol's TrustStore / Identity), plus file modes, overwriting and bad input.
import Foundation
import Protocol
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

final class CertificateAuthorityTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    private static let serverSANs = "DNS:localhost,IP:127.0.0.1,IP:::1"

    /// What `openssl x509 -text` names each CA key type's certificate signature.
    private static func signatureAlgorithmText(_ type: CAKeyType) -> String {
        switch type {
        case .ed25519: "ED25519"
        case .ecdsaP256: "ecdsa-with-SHA256"
        case .ecdsaP384: "ecdsa-with-SHA384"
        case .rsa3072: "sha256WithRSAEncryption"
        }
    }

    /// Every CA key type × every leaf key type × {server, client}: verified by openssl and by Ferry.
    func testEveryKeyTypeVerifiesWithOpenSSLAndFerry() throws {
        let now = Int64(Date().timeIntervalSince1970)
        for caType in CAKeyType.allCases {
            let caDirectory = directory.appending("ca-\(caType)")
            let ca = try CertificateAuthority.initialize(directory: caDirectory, name: "Test CA \(caType)", keyType: caType)
            XCTAssertEqual(ca.keyType, caType)
            XCTAssertEqual(ca.name, "Test CA \(caType)")
            let caPEM = try readBytes(ca.certificatePath)
            let trust = try TrustStore(pemBundle: caPEM)

            let caText = try runOpenSSL(["x509", "-in", ca.certificatePath, "-noout", "-text"])
            XCTAssertEqual(caText.status, 0, caText.output)
            for expected in ["X509v3 Basic Constraints: critical", "CA:TRUE", "X509v3 Key Usage: critical",
                             "Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier", "Version: 3 (0x2)",
                             "Issuer: CN = Test CA \(caType)", "Subject: CN = Test CA \(caType)"] {
                XCTAssertTrue(caText.output.contains(expected), "CA \(caType): missing \(expected)\n\(caText.output)")
            }

            for leafType in CAKeyType.allCases {
                let out = directory.appending("out-\(caType)")
                let sans = try SubjectAltName.parseList(Self.serverSANs)
                let server = try ca.issue(name: "server-\(leafType)", role: .server(sans: sans), keyType: leafType,
                                          outputDirectory: out)
                let client = try ca.issue(name: "client-\(leafType)", role: .client, keyType: leafType, outputDirectory: out)
                let label = "CA \(caType), leaf \(leafType)"

                // openssl: chain, purpose and the profile checks of -x509_strict.
                for (issued, purpose) in [(server, "sslserver"), (client, "sslclient")] {
                    let verify = try runOpenSSL(["verify", "-CAfile", ca.certificatePath, "-purpose", purpose, "-x509_strict",
                                                 issued.certificatePath])
                    XCTAssertEqual(verify.status, 0, "\(label) \(purpose): \(verify.output)")
                    XCTAssertTrue(verify.output.contains(": OK"), "\(label): \(verify.output)")
                }
                let wrongPurpose = try runOpenSSL(["verify", "-CAfile", ca.certificatePath, "-purpose", "sslclient",
                                                   server.certificatePath])
                XCTAssertNotEqual(wrongPurpose.status, 0, "\(label): a server certificate verified as sslclient")

                let serverText = try runOpenSSL(["x509", "-in", server.certificatePath, "-noout", "-text"])
                XCTAssertEqual(serverText.status, 0, serverText.output)
                for expected in ["TLS Web Server Authentication", "DNS:localhost", "IP Address:127.0.0.1",
                                 "IP Address:0:0:0:0:0:0:0:1", "CA:FALSE", "Digital Signature",
                                 "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
                                 "Signature Algorithm: \(Self.signatureAlgorithmText(caType))",
                                 "Subject: CN = server-\(leafType)", "Issuer: CN = Test CA \(caType)"] {
                    XCTAssertTrue(serverText.output.contains(expected), "\(label) server: missing \(expected)\n\(serverText.output)")
                }
                XCTAssertFalse(serverText.output.contains("Key Encipherment"), label)
                let clientText = try runOpenSSL(["x509", "-in", client.certificatePath, "-noout", "-text"])
                XCTAssertTrue(clientText.output.contains("TLS Web Client Authentication"), clientText.output)
                XCTAssertFalse(clientText.output.contains("Subject Alternative Name"), "clients get no SAN\n\(clientText.output)")
                XCTAssertFalse(clientText.output.contains("TLS Web Server Authentication"), clientText.output)

                // Ferry's verifier: the right purpose and names pass…
                let serverChain = try Certificate.chain(fromPEM: readBytes(server.certificatePath))
                let clientChain = try Certificate.chain(fromPEM: readBytes(client.certificatePath))
                XCTAssertEqual(serverChain.count, 1, "NAME.crt holds the leaf only")
                XCTAssertEqual(clientChain.count, 1, "NAME.crt holds the leaf only")
                for name in ["localhost", "127.0.0.1", "::1"] {
                    XCTAssertNoThrow(try trust.verify(chain: serverChain, purpose: .serverAuth, expectedName: name,
                                                      unixTime: now), "\(label) \(name)")
                }
                XCTAssertNoThrow(try trust.verify(chain: clientChain, purpose: .clientAuth, expectedName: nil, unixTime: now),
                                 label)
                XCTAssertEqual(clientChain[0].identity, "client-\(leafType)")
                // … and the wrong ones fail for the right reason.
                assertThrows(CertificateVerificationError(.wrongPurpose)) {
                    try trust.verify(chain: serverChain, purpose: .clientAuth, expectedName: nil, unixTime: now)
                }
                assertThrows(CertificateVerificationError(.wrongPurpose)) {
                    try trust.verify(chain: clientChain, purpose: .serverAuth, expectedName: nil, unixTime: now)
                }
                assertThrows(CertificateVerificationError(.nameMismatch)) {
                    try trust.verify(chain: serverChain, purpose: .serverAuth, expectedName: "other.example", unixTime: now)
                }

                // The key files load as Ferry identities (PKCS#8, matching the leaf, able to sign).
                for issued in [server, client] {
                    let keyPEM = try readBytes(issued.keyPath)
                    XCTAssertTrue(String(decoding: keyPEM, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"), label)
                    let identity = try Identity(chainPEM: readBytes(issued.certificatePath), keyPEM: keyPEM)
                    XCTAssertFalse(identity.key.schemes.isEmpty, label)
                    XCTAssertEqual(try fileMode(issued.keyPath), 0o600, label)
                    XCTAssertEqual(try fileMode(issued.certificatePath), 0o644, label)
                }
            }
        }
    }

    func testInitializeWritesCAFilesWithModes() throws {
        let caDirectory = directory.appending("nested/ca")  // made, with intermediate directories
        let ca = try CertificateAuthority.initialize(directory: caDirectory)
        XCTAssertEqual(ca.name, CertificateAuthority.defaultName)
        XCTAssertEqual(ca.keyType, .ecdsaP256)
        XCTAssertEqual(ca.certificatePath, caDirectory.appendingPathComponent("ca.crt").path)
        XCTAssertEqual(try fileMode(ca.keyPath), 0o600)
        XCTAssertEqual(try fileMode(ca.certificatePath), 0o644)
        XCTAssertEqual(try fileMode(caDirectory.path), 0o700)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: caDirectory.path).sorted(), ["ca.crt", "ca.key"])
        let key = try runOpenSSL(["pkey", "-in", ca.keyPath, "-noout"])
        XCTAssertEqual(key.status, 0, key.output)
        let dates = try runOpenSSL(["x509", "-in", ca.certificatePath, "-noout", "-checkend", "\(3649 * 86_400)"])
        XCTAssertEqual(dates.status, 0, "the default CA lives 3650 days: \(dates.output)")
        // Reloading finds the same CA.
        let loaded = try CertificateAuthority(directory: caDirectory)
        XCTAssertEqual(loaded.name, ca.name)
        XCTAssertEqual(loaded.notAfter, ca.notAfter)
    }

    /// The key is 0600 and the certificate 0644 whatever the umask: the key file is created with 0600 (a umask can only
    /// narrow that), the certificate's mode is set on the new, empty file.
    func testFileModesIgnoreUmask() throws {
        for mask: mode_t in [0o000, 0o022, 0o077] {
            let previous = umask(mask)
            defer { umask(previous) }
            let caDirectory = directory.appending("ca-\(mask)")
            let ca = try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519)
            let leaf = try ca.issue(name: "alice", role: .client, outputDirectory: directory.appending("out-\(mask)"))
            for path in [ca.keyPath, leaf.keyPath] { XCTAssertEqual(try fileMode(path), 0o600, "umask \(mask)") }
            for path in [ca.certificatePath, leaf.certificatePath] { XCTAssertEqual(try fileMode(path), 0o644, "umask \(mask)") }
        }
    }

    func testRefusesToOverwriteExistingCAUnlessForced() throws {
        let caDirectory = directory.appending("ca")
        let first = try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519)
        let keyBefore = try readBytes(first.keyPath)
        let certificateBefore = try readBytes(first.certificatePath)

        let error = assertThrows(CAError(.alreadyExists, "")) {
            try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519)
        }
        XCTAssertTrue(error?.message.contains("--force") ?? false, "\(String(describing: error))")
        XCTAssertEqual(try readBytes(first.keyPath), keyBefore, "the old key is untouched")
        XCTAssertEqual(try readBytes(first.certificatePath), certificateBefore)

        // Either file alone also counts as an existing CA.
        try FileManager.default.removeItem(atPath: first.keyPath)
        assertThrows(CAError(.alreadyExists, "")) {
            try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519)
        }

        let second = try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519, force: true)
        XCTAssertNotEqual(try readBytes(second.keyPath), keyBefore)
        XCTAssertNotEqual(try readBytes(second.certificatePath), certificateBefore)
        XCTAssertEqual(try fileMode(second.keyPath), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: caDirectory.path).sorted(), ["ca.crt", "ca.key"],
                       "no temporary files left behind")
    }

    func testRefusesToOverwriteIssuedFilesUnlessForced() throws {
        let ca = try CertificateAuthority.initialize(directory: directory.appending("ca"), keyType: .ed25519)
        let out = directory.appending("out")
        let first = try ca.issue(name: "alice", role: .client, outputDirectory: out)
        let keyBefore = try readBytes(first.keyPath)
        assertThrows(CAError(.alreadyExists, "")) { try ca.issue(name: "alice", role: .client, outputDirectory: out) }
        XCTAssertEqual(try readBytes(first.keyPath), keyBefore)
        let second = try ca.issue(name: "alice", role: .client, outputDirectory: out, force: true)
        XCTAssertNotEqual(try readBytes(second.keyPath), keyBefore)
        XCTAssertNotEqual(first.serialHex, second.serialHex)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["alice.crt", "alice.key"])
    }

    func testNeverOverwritesTheCAFiles() throws {
        let caDirectory = directory.appending("ca")
        let ca = try CertificateAuthority.initialize(directory: caDirectory, keyType: .ed25519)
        let keyBefore = try readBytes(ca.keyPath)
        // Through the same directory, and through a symbolic link to it.
        try FileManager.default.createSymbolicLink(at: directory.appending("link"), withDestinationURL: caDirectory)
        for out in [caDirectory, directory.appending("link"), directory.appending("link/.")] {
            let error = assertThrows(CAError(.invalidArgument, "")) {
                try ca.issue(name: "ca", role: .client, outputDirectory: out, force: true)
            }
            XCTAssertTrue(error?.message.contains("CA's own files") ?? false, "\(String(describing: error))")
        }
        XCTAssertEqual(try readBytes(ca.keyPath), keyBefore)
        XCTAssertNoThrow(try CertificateAuthority(directory: caDirectory))
        // Another name in the CA directory is fine.
        XCTAssertNoThrow(try ca.issue(name: "alice", role: .client, outputDirectory: caDirectory))
    }

    func testServerCertificateNeedsSubjectAltNames() throws {
        let ca = try CertificateAuthority.initialize(directory: directory.appending("ca"), keyType: .ed25519)
        let out = directory.appending("out")
        assertThrows(CAError(.invalidArgument, "")) { try ca.issue(name: "files", role: .server(sans: []), outputDirectory: out) }
        let duplicate = [SubjectAltName.dns("a.example"), .dns("A.example")]
        assertThrows(CAError(.invalidArgument, "")) {
            try ca.issue(name: "files", role: .server(sans: duplicate), outputDirectory: out)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("files.key").path))
    }

    func testBadNamesAndValidityRejected() throws {
        // One `now` for the CA and the leaves: with the clock read per call, a second boundary between them leaves
        // 29 days and some hours, and the days-left figure below would say 29.
        let now = Date()
        let ca = try CertificateAuthority.initialize(directory: directory.appending("ca"), keyType: .ed25519, days: 30,
                                                     now: now)
        let out = directory.appending("out")
        for name in ["", "../escape", ".hidden", "a/b", "-dash", "with space", "tab\tname", "ümlaut", String(repeating: "x", count: 65)] {
            assertThrows(CAError(.invalidArgument, "")) { try ca.issue(name: name, role: .client, outputDirectory: out) }
        }
        for days in [0, -1, CertificateAuthority.maximumDays + 1] {
            assertThrows(CAError(.invalidArgument, "")) {
                try ca.issue(name: "alice", role: .client, days: days, outputDirectory: out)
            }
        }
        // A leaf may not outlive its CA (30 days here); the message says how many days are left.
        let error = assertThrows(CAError(.invalidArgument, "")) {
            try ca.issue(name: "alice", role: .client, days: 31, outputDirectory: out, now: now)
        }
        XCTAssertTrue(error?.message.contains("--days 30") ?? false, "\(String(describing: error))")
        XCTAssertNoThrow(try ca.issue(name: "alice", role: .client, days: 30, outputDirectory: out, now: now))

        for name in ["", " leading", "trailing ", "new\nline", String(repeating: "C", count: 65)] {
            assertThrows(CAError(.invalidArgument, "")) {
                try CertificateAuthority.initialize(directory: directory.appending("bad-ca"), name: name)
            }
        }
        XCTAssertNoThrow(try CertificateAuthority.initialize(directory: directory.appending("ca2"), name: "Ferry CA — Zürich",
                                                             keyType: .ed25519))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appending("bad-ca/ca.key").path))
    }

    /// notBefore is 5 minutes back, notAfter exactly `days` later: checked with Ferry's verifier at the boundaries.
    func testValidityWindow() throws {
        let now = Date(timeIntervalSince1970: TimeInterval(Int64(Date().timeIntervalSince1970)))
        let start = Int64(now.timeIntervalSince1970)
        let ca = try CertificateAuthority.initialize(directory: directory.appending("ca"), keyType: .ecdsaP384, now: now)
        let leaf = try ca.issue(name: "files", role: .server(sans: [.dns("files.example")]), keyType: .ecdsaP256, days: 10,
                                outputDirectory: directory.appending("out"), now: now)
        XCTAssertEqual(Int64(leaf.notBefore.timeIntervalSince1970), start - 300)
        XCTAssertEqual(Int64(leaf.notAfter.timeIntervalSince1970), start + 10 * 86_400)

        let trust = try TrustStore(pemBundle: readBytes(ca.certificatePath))
        let chain = try Certificate.chain(fromPEM: readBytes(leaf.certificatePath))
        func verify(at time: Int64) throws {
            try trust.verify(chain: chain, purpose: .serverAuth, expectedName: "files.example", unixTime: time)
        }
        XCTAssertNoThrow(try verify(at: start - 299))
        XCTAssertNoThrow(try verify(at: start + 10 * 86_400 - 1))
        assertThrows(CertificateVerificationError(.notYetValid)) { try verify(at: start - 301) }
        assertThrows(CertificateVerificationError(.expired)) { try verify(at: start + 10 * 86_400 + 1) }

        let text = try runOpenSSL(["x509", "-in", leaf.certificatePath, "-noout", "-serial"])
        XCTAssertEqual(text.output.trimmingCharacters(in: .whitespacesAndNewlines),
                       "serial=" + leaf.serialHex.replacingOccurrences(of: ":", with: "").uppercased())
    }

    func testSerialsAreRandomPositiveSixteenBytes() throws {
        let ca = try CertificateAuthority.initialize(directory: directory.appending("ca"), keyType: .ed25519)
        var serials: Set<String> = []
        for index in 0..<20 {
            let leaf = try ca.issue(name: "c\(index)", role: .client, outputDirectory: directory.appending("out"))
            let octets = leaf.serialHex.split(separator: ":")
            XCTAssertEqual(octets.count, 16)
            let first = try XCTUnwrap(UInt8(octets[0], radix: 16))
            XCTAssertTrue((1...0x7F).contains(first), leaf.serialHex)
            serials.insert(leaf.serialHex)
        }
        XCTAssertEqual(serials.count, 20)
    }

    func testLoadingRejectsBrokenCADirectories() throws {
        let a = try CertificateAuthority.initialize(directory: directory.appending("a"), keyType: .ed25519)
        let b = try CertificateAuthority.initialize(directory: directory.appending("b"), keyType: .ed25519)

        // Missing directory or files.
        assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("none")) }
        // A key that is not the certificate's.
        try FileManager.default.removeItem(atPath: a.keyPath)
        try FileManager.default.copyItem(atPath: b.keyPath, toPath: a.keyPath)
        assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("a")) }
        // Garbage in place of the key or the certificate.
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: a.keyPath))
        assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("a")) }
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: b.certificatePath))
        assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("b")) }

        // A leaf is not a CA.
        let c = try CertificateAuthority.initialize(directory: directory.appending("c"), keyType: .ed25519)
        let leaf = try c.issue(name: "ca", role: .client, outputDirectory: directory.appending("leafdir"))
        XCTAssertEqual(leaf.certificatePath, directory.appending("leafdir/ca.crt").path)
        let error = assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("leafdir")) }
        XCTAssertTrue(error?.message.contains("not a CA") ?? false, "\(String(describing: error))")

        // An expired CA.
        let past = Date(timeIntervalSinceNow: -20 * 86_400)
        try CertificateAuthority.initialize(directory: directory.appending("old"), keyType: .ed25519, days: 10, now: past)
        let expired = assertThrows(CAError(.invalidCA, "")) { try CertificateAuthority(directory: directory.appending("old")) }
        XCTAssertTrue(expired?.message.contains("expired") ?? false, "\(String(describing: expired))")
    }

    /// A CA certificate whose subject holds two commonNames (made by openssl): `ferry ca` reads its name with Protocol's
    /// one common-name reader, which takes the last CN, the same one a peer's identity would be.
    func testCAWithTwoCommonNamesIsNamedByTheLast() throws {
        let caDirectory = directory.appending("two-cn")
        try FileManager.default.createDirectory(at: caDirectory, withIntermediateDirectories: true)
        let made = try runOpenSSL([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", caDirectory.appendingPathComponent("ca.key").path,
            "-out", caDirectory.appendingPathComponent("ca.crt").path, "-days", "30", "-subj", "/CN=Outer CA/CN=Inner CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        XCTAssertEqual(made.status, 0, made.output)
        let ca = try CertificateAuthority(directory: caDirectory)
        XCTAssertEqual(ca.name, "Inner CA")
        let caCertificate = try XCTUnwrap(Certificate.chain(fromPEM: readBytes(ca.certificatePath)).first)
        XCTAssertEqual(ca.name, caCertificate.identity)
        let leaf = try ca.issue(name: "alice", role: .client, days: 20, outputDirectory: directory.appending("out"))
        XCTAssertEqual(leaf.issuer, "Inner CA")
    }

    /// A CA made by the plain openssl command line (RSA 2048, as many operators have) issues leaves too.
    func testIssuesFromAnOpenSSLMadeCA() throws {
        let caDirectory = directory.appending("external")
        try FileManager.default.createDirectory(at: caDirectory, withIntermediateDirectories: true)
        let made = try runOpenSSL([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caDirectory.appendingPathComponent("ca.key").path,
            "-out", caDirectory.appendingPathComponent("ca.crt").path, "-days", "30", "-subj", "/CN=External CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        XCTAssertEqual(made.status, 0, made.output)
        let ca = try CertificateAuthority(directory: caDirectory)
        XCTAssertEqual(ca.name, "External CA")
        let leaf = try ca.issue(name: "files", role: .server(sans: [.dns("localhost")]), days: 20,
                                outputDirectory: directory.appending("out"))
        let verify = try runOpenSSL(["verify", "-CAfile", ca.certificatePath, "-purpose", "sslserver", leaf.certificatePath])
        XCTAssertEqual(verify.status, 0, verify.output)
        let text = try runOpenSSL(["x509", "-in", leaf.certificatePath, "-noout", "-text"])
        XCTAssertTrue(text.output.contains("sha256WithRSAEncryption"), "RSA CAs sign with PKCS#1 v1.5 + SHA-256")
    }
}
