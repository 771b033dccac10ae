// SigningKey.generate, .algorithm and .pkcs8PEM(): keys made here load back, sign, and are what `openssl` reads.
import Foundation
import TestSupport
import XCTest
@testable import Protocol

final class KeyGenerationTests: XCTestCase {
    private static let algorithms: [KeyAlgorithm] = [.ed25519, .ecdsaP256, .ecdsaP384, .rsa(bits: 2048), .rsa(bits: 3072)]

    func testGeneratedKeysLoadBackSignAndReportTheirAlgorithm() throws {
        for algorithm in Self.algorithms {
            let key = try SigningKey.generate(algorithm)
            XCTAssertEqual(key.algorithm, algorithm)
            XCTAssertFalse(key.schemes.isEmpty, "\(algorithm)")
            let pem = try key.pkcs8PEM()
            let text = pem.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            XCTAssertTrue(text.hasPrefix("-----BEGIN PRIVATE KEY-----\n"), "\(algorithm): \(text.prefix(40))")
            XCTAssertTrue(text.hasSuffix("-----END PRIVATE KEY-----\n"), "\(algorithm)")
            let loaded = try SigningKey(pem: pem.bytes)
            XCTAssertEqual(loaded.algorithm, algorithm)
            XCTAssertEqual(loaded.schemes, key.schemes)
            // A signature by the generated key verifies under the loaded copy's public half and vice versa: one key.
            let scheme = try XCTUnwrap(key.schemes.first)
            let message = Array("generated".utf8)
            let signature = try key.sign(message, scheme: scheme)
            let certificate = try selfSigned(with: loaded)
            XCTAssertTrue(certificate.publicKey.verify(signature, message: message, scheme: scheme), "\(algorithm)")
            XCTAssertTrue(certificate.matches(key), "\(algorithm)")
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testEveryGeneratedKeyIsFresh() throws {
        let first = try SigningKey.generate(.ed25519).pkcs8PEM().bytes
        let second = try SigningKey.generate(.ed25519).pkcs8PEM().bytes
        XCTAssertNotEqual(first, second)
    }

    func testOpenSSLReadsTheKeyFile() throws {
        let directory = try makeTemporaryDirectory("keys").url
        let expected: [(KeyAlgorithm, String)] = [
            (.ed25519, "ED25519 Private-Key"), (.ecdsaP256, "NIST CURVE: P-256"), (.ecdsaP384, "NIST CURVE: P-384"),
            (.rsa(bits: 2048), "Private-Key: (2048 bit, 2 primes)"),
        ]
        for (algorithm, fragment) in expected {
            let file = directory.appendingPathComponent("key.pem")
            try Data(try SigningKey.generate(algorithm).pkcs8PEM().bytes).write(to: file)
            let text = String(decoding: try openssl(["pkey", "-in", file.path, "-noout", "-text"], in: directory),
                              as: UTF8.self)
            XCTAssertTrue(text.contains(fragment), "\(algorithm): \(text.prefix(200))")
        }
    }

    func testRSASizesOutsideTheRangeAreRefused() {
        for bits in [0, 1024, 2047, 16385] {
            CryptoTestSupport.assertThrows(.unsupportedKey, "\(bits) bits") { try SigningKey.generate(.rsa(bits: bits)) }
        }
    }

    /// Keys Ferry does not sign with have no algorithm, as they have no schemes.
    func testForeignKeysHaveNoAlgorithm() throws {
        let pki = TestPKI.shared
        for identity in [pki.ed448Client, pki.p521Client, pki.rsa1024Client] {
            XCTAssertNil(try SigningKey(pem: identity.keyPEM).algorithm)
        }
        XCTAssertEqual(try SigningKey(pem: pki.client(.rsa2048).keyPEM).algorithm, .rsa(bits: 2048))
    }

    private func selfSigned(with key: SigningKey) throws -> Certificate {
        try CertificateBuilder.build(CertificateTemplate(commonName: "key test", notBefore: 0, notAfter: 86_400,
                                                         extensions: []),
                                     subjectKey: key, issuer: nil)
    }
}
