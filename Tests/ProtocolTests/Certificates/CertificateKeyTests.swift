import XCTest
@testable import Protocol

/// Certificate.publicKey and matches(_:). These need SigningKey and PublicKey from Signature.swift.
final class CertificateKeyTests: XCTestCase {
    private let pki = TestPKI.shared

    func testMatchesTheRightKeyOnly() throws {
        let identities = TestKeyType.allCases.map { pki.server($0) } + TestKeyType.allCases.map { pki.client($0) }
            + [pki.plainServer, pki.intermediateServer, pki.selfSignedClient]
        let keys = try identities.map { try SigningKey(pem: $0.keyPEM) }
        for (i, identity) in identities.enumerated() {
            let leaf = try XCTUnwrap(Certificate.chain(fromPEM: identity.chainPEM).first)
            for (j, key) in keys.enumerated() {
                XCTAssertEqual(leaf.matches(key), i == j, "certificate \(i), key \(j)")
            }
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testTheIntermediateDoesNotMatchTheLeafKey() throws {
        let chain = try Certificate.chain(fromPEM: pki.intermediateServer.chainPEM)
        let key = try SigningKey(pem: pki.intermediateServer.keyPEM)
        XCTAssertEqual(chain.map { $0.matches(key) }, [true, false])
    }

    func testPublicKeySchemesFollowTheKeyType() throws {
        let expected: [TestKeyType: SignatureScheme] = [
            .ed25519: .ed25519, .ecdsaP256: .ecdsaSecp256r1SHA256, .ecdsaP384: .ecdsaSecp384r1SHA384,
            .rsa2048: .rsaPSSSHA256,
        ]
        for type in TestKeyType.allCases {
            let leaf = try XCTUnwrap(Certificate.chain(fromPEM: pki.server(type).chainPEM).first)
            XCTAssertTrue(leaf.publicKey.schemes.contains(try XCTUnwrap(expected[type])), "\(type)")
        }
        let weak = try XCTUnwrap(Certificate.chain(fromPEM: pki.rsa1024Client.chainPEM).first)
        XCTAssertEqual(weak.publicKey.schemes, [])
    }

    func testASignatureByTheKeyVerifiesWithTheCertificate() throws {
        for type in TestKeyType.allCases {
            let identity = pki.client(type)
            let key = try SigningKey(pem: identity.keyPEM)
            let leaf = try XCTUnwrap(Certificate.chain(fromPEM: identity.chainPEM).first)
            let scheme = try XCTUnwrap(key.schemes.first)
            let message = Array("transcript hash".utf8)
            let signature = try key.sign(message, scheme: scheme)
            XCTAssertTrue(leaf.publicKey.verify(signature, message: message, scheme: scheme), "\(type)")
            XCTAssertFalse(leaf.publicKey.verify(signature, message: message + [0], scheme: scheme), "\(type)")
        }
    }
}
