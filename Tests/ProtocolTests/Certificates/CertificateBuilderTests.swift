// CertificateBuilder: the certificates `ferry ca` writes, checked by Ferry's own verifier and by the `openssl` command
// line (x509 -text, verify -x509_strict), and the templates it refuses.
import Foundation
import TestSupport
import XCTest
@testable import Protocol

final class CertificateBuilderTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory("builder").url }

    private static let start: Int64 = 1_700_000_000
    private static let caExtensions: [CertificateExtension] = [
        .basicConstraints(isCA: true), .keyUsage([.keyCertSign, .cRLSign]), .subjectKeyIdentifier,
    ]
    private static let serverExtensions: [CertificateExtension] = [
        .basicConstraints(isCA: false), .keyUsage([.digitalSignature]), .extendedKeyUsage([.serverAuth]),
        .subjectAltName([.dnsName("localhost"), .ipAddress([127, 0, 0, 1]), .ipAddress([0, 0, 0, 0, 0, 0, 0, 0,
                                                                                      0, 0, 0, 0, 0, 0, 0, 1])]),
        .subjectKeyIdentifier, .authorityKeyIdentifier,
    ]

    private func makeCA(_ algorithm: KeyAlgorithm, name: String = "Builder CA") throws -> (Certificate, SigningKey) {
        let key = try SigningKey.generate(algorithm)
        let template = CertificateTemplate(commonName: name, notBefore: Self.start, notAfter: Self.start + 3650 * 86_400,
                                           extensions: Self.caExtensions)
        return (try CertificateBuilder.build(template, subjectKey: key, issuer: nil), key)
    }

    private func write(_ certificate: Certificate, _ name: String) throws -> String {
        let file = directory.appendingPathComponent(name)
        try Data(try certificate.pem()).write(to: file)
        return file.path
    }

    private func openssl(_ arguments: [String]) throws -> String {
        String(decoding: try TestSupport.openssl(arguments, in: directory), as: UTF8.self)
    }

    func testCAAndServerLeafVerifyWithFerryAndOpenSSL() throws {
        let (ca, caKey) = try makeCA(.ecdsaP384)
        let leafKey = try SigningKey.generate(.ed25519)
        let leaf = try CertificateBuilder.build(
            CertificateTemplate(commonName: "files", notBefore: Self.start - 300, notAfter: Self.start + 10 * 86_400,
                                extensions: Self.serverExtensions),
            subjectKey: leafKey, issuer: (ca, caKey))

        // The fields read back as written.
        XCTAssertEqual(ca.commonName, "Builder CA")
        XCTAssertEqual(leaf.commonName, "files")
        XCTAssertEqual(leaf.identity, "files")
        XCTAssertTrue(ca.isCertificateAuthority)
        XCTAssertFalse(leaf.isCertificateAuthority)
        XCTAssertEqual(leaf.notBefore, Self.start - 300)
        XCTAssertEqual(leaf.notAfter, Self.start + 10 * 86_400)
        XCTAssertEqual(leaf.serialNumber.count, CertificateBuilder.serialNumberLength)
        XCTAssertTrue(leaf.matches(leafKey))
        XCTAssertFalse(leaf.matches(caKey))
        XCTAssertEqual(try Certificate.chain(fromPEM: leaf.pem()).map(\.der), [leaf.der])

        // Ferry's verifier, inside the window and at its edges.
        let trust = try TrustStore(pemBundle: ca.pem())
        for name in ["localhost", "127.0.0.1", "::1"] {
            XCTAssertNoThrow(try trust.verify(chain: [leaf], purpose: .serverAuth, expectedName: name,
                                              unixTime: Self.start), name)
        }
        XCTAssertThrowsError(try trust.verify(chain: [leaf], purpose: .clientAuth, expectedName: nil, unixTime: Self.start))
        XCTAssertThrowsError(try trust.verify(chain: [leaf], purpose: .serverAuth, expectedName: nil,
                                              unixTime: Self.start - 301))

        // openssl: the profile checks of -x509_strict, and the extensions with their criticality.
        let caFile = try write(ca, "ca.crt")
        let leafFile = try write(leaf, "leaf.crt")
        let verified = try openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-attime", "\(Self.start)",
                                    "-CAfile", caFile, leafFile])
        XCTAssertTrue(verified.contains(": OK"), verified)
        let text = try openssl(["x509", "-in", leafFile, "-noout", "-text"])
        for expected in ["Version: 3 (0x2)", "Signature Algorithm: ecdsa-with-SHA384", "Issuer: CN = Builder CA",
                         "Subject: CN = files", "X509v3 Basic Constraints: critical", "CA:FALSE",
                         "X509v3 Key Usage: critical", "Digital Signature", "X509v3 Extended Key Usage: \n",
                         "TLS Web Server Authentication", "X509v3 Subject Alternative Name: \n",
                         "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
                         "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected.debugDescription)\n\(text)")
        }
        let caText = try openssl(["x509", "-in", caFile, "-noout", "-text"])
        for expected in ["X509v3 Basic Constraints: critical", "CA:TRUE", "Certificate Sign, CRL Sign"] {
            XCTAssertTrue(caText.contains(expected), "missing \(expected)\n\(caText)")
        }
        let serial = try openssl(["x509", "-in", leafFile, "-noout", "-serial"])
        XCTAssertEqual(serial.trimmingCharacters(in: .whitespacesAndNewlines),
                       "serial=" + leaf.serialNumber.map { String(format: "%02X", $0) }.joined())
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    /// Ed25519 is signed without a digest, P-384 with SHA-384, P-256 and RSA with SHA-256 (RSA: PKCS#1 v1.5).
    func testTheSignatureAlgorithmFollowsTheIssuerKey() throws {
        let expected: [(KeyAlgorithm, String)] = [
            (.ed25519, "ED25519"), (.ecdsaP256, "ecdsa-with-SHA256"), (.ecdsaP384, "ecdsa-with-SHA384"),
            (.rsa(bits: 2048), "sha256WithRSAEncryption"),
        ]
        for (algorithm, name) in expected {
            let (ca, _) = try makeCA(algorithm)
            let text = try openssl(["x509", "-in", try write(ca, "ca.crt"), "-noout", "-text"])
            XCTAssertTrue(text.contains("Signature Algorithm: \(name)"), "\(algorithm)\n\(text)")
        }
    }

    func testSerialNumbersArePositiveSixteenOctetsAndDistinct() throws {
        let (ca, caKey) = try makeCA(.ed25519)
        var seen: Set<[UInt8]> = []
        for index in 0..<20 {
            let leaf = try CertificateBuilder.build(
                CertificateTemplate(commonName: "c\(index)", notBefore: Self.start, notAfter: Self.start + 86_400,
                                    extensions: [.basicConstraints(isCA: false)]),
                subjectKey: try SigningKey.generate(.ed25519), issuer: (ca, caKey))
            XCTAssertEqual(leaf.serialNumber.count, 16)
            XCTAssertTrue((1...0x7F).contains(leaf.serialNumber[0]), "\(leaf.serialNumber)")
            seen.insert(leaf.serialNumber)
        }
        XCTAssertEqual(seen.count, 20)
    }

    /// Validity times far from 1970 read back exactly (UTCTime before 2050, GeneralizedTime after).
    func testValidityReadsBackAcrossTheUTCTimeBoundary() throws {
        let key = try SigningKey.generate(.ed25519)
        for (notBefore, notAfter) in [(Int64(0), Int64(2_524_608_000)), (951_782_400, 4_102_444_800 + 59)] {
            let certificate = try CertificateBuilder.build(
                CertificateTemplate(commonName: "window", notBefore: notBefore, notAfter: notAfter, extensions: []),
                subjectKey: key, issuer: nil)
            XCTAssertEqual(certificate.notBefore, notBefore)
            XCTAssertEqual(certificate.notAfter, notAfter)
        }
    }

    func testDaysSinceEpoch() {
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 1970, month: 1, day: 1), 0)
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 1969, month: 12, day: 31), -1)
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 2000, month: 2, day: 29), 11_016)
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 2000, month: 3, day: 1), 11_017)
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 2038, month: 1, day: 19), 24_855)
        XCTAssertEqual(Certificate.daysSinceEpoch(year: 2100, month: 3, day: 1), 47_541)  // 2100 is not a leap year
    }

    /// One DNS entry stays one entry whatever it holds: the text never reaches OpenSSL's extension config syntax.
    func testASubjectAltNameCannotSmuggleInAnotherEntry() throws {
        let key = try SigningKey.generate(.ecdsaP256)
        let certificate = try CertificateBuilder.build(
            CertificateTemplate(commonName: "smuggle", notBefore: Self.start, notAfter: Self.start + 86_400,
                                extensions: [.subjectAltName([.dnsName("a.example,IP:192.0.2.1,email:x@y")])]),
            subjectKey: key, issuer: nil)
        let text = try openssl(["x509", "-in", try write(certificate, "smuggle.crt"), "-noout", "-ext", "subjectAltName"])
        XCTAssertTrue(text.contains("DNS:a.example,IP:192.0.2.1,email:x@y"), text)
        XCTAssertFalse(text.contains("IP Address"), text)
        XCTAssertFalse(text.contains(", "), "openssl separates entries with \", \": there must be one\n\(text)")
    }

    func testRefusedTemplates() throws {
        let key = try SigningKey.generate(.ed25519)
        func template(_ name: String = "ok", notBefore: Int64 = 0, notAfter: Int64 = 86_400,
                      with extensions: [CertificateExtension] = []) -> CertificateTemplate {
            CertificateTemplate(commonName: name, notBefore: notBefore, notAfter: notAfter, extensions: extensions)
        }
        let refused: [(String, CertificateTemplate)] = [
            ("empty CN", template("")),
            ("CN of 65 characters", template(String(repeating: "x", count: 65))),
            ("CN with a newline", template("a\nb")),
            ("CN with NUL", template("a\u{0}b")),
            ("window backwards", template(notBefore: 10, notAfter: 10)),
            ("extension twice", template(with: [.subjectKeyIdentifier, .subjectKeyIdentifier])),
            ("kinds twice", template(with: [.keyUsage([.digitalSignature]), .keyUsage([.keyCertSign])])),
            ("empty keyUsage", template(with: [.keyUsage([])])),
            ("empty extendedKeyUsage", template(with: [.extendedKeyUsage([])])),
            ("empty subjectAltName", template(with: [.subjectAltName([])])),
            ("DNS name with a space", template(with: [.subjectAltName([.dnsName("a b")])])),
            ("empty DNS name", template(with: [.subjectAltName([.dnsName("")])])),
            ("non-ASCII DNS name", template(with: [.subjectAltName([.dnsName("zürich.example")])])),
            ("IP of 5 bytes", template(with: [.subjectAltName([.ipAddress([1, 2, 3, 4, 5])])])),
        ]
        for (label, bad) in refused {
            CryptoTestSupport.assertThrows(.malformedInput, label) {
                try CertificateBuilder.build(bad, subjectKey: key, issuer: nil)
            }
        }
        // 64 characters and non-ASCII letters are fine (ub-common-name counts characters).
        XCTAssertEqual(try CertificateBuilder.build(template(String(repeating: "é", count: 64)), subjectKey: key,
                                                    issuer: nil).commonName, String(repeating: "é", count: 64))
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    /// A signing key Ferry does not sign with (Ed448 here) is refused, as issuer and when self-signing.
    func testUnsupportedSigningKeysAreRefused() throws {
        let ed448 = try SigningKey(pem: TestPKI.shared.ed448Client.keyPEM)
        let template = CertificateTemplate(commonName: "x", notBefore: 0, notAfter: 86_400, extensions: [])
        CryptoTestSupport.assertThrows(.unsupportedKey) { try CertificateBuilder.build(template, subjectKey: ed448, issuer: nil) }
        let (ca, _) = try makeCA(.ed25519)
        CryptoTestSupport.assertThrows(.unsupportedKey) {
            try CertificateBuilder.build(template, subjectKey: try SigningKey.generate(.ed25519), issuer: (ca, ed448))
        }
    }

    /// An issuer key that is not the issuer certificate's key makes a certificate that does not verify: refused before
    /// anyone can write it.
    func testAMismatchedIssuerKeyIsCaught() throws {
        let (ca, _) = try makeCA(.ecdsaP256)
        let wrongKey = try SigningKey.generate(.ecdsaP256)
        let template = CertificateTemplate(commonName: "x", notBefore: 0, notAfter: 86_400, extensions: [])
        CryptoTestSupport.assertThrows(.library) {
            try CertificateBuilder.build(template, subjectKey: try SigningKey.generate(.ed25519), issuer: (ca, wrongKey))
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }
}
