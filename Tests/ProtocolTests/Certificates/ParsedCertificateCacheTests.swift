import XCTest
@testable import Protocol

/// TrustStore.certificate(der:): a peer's certificate is parsed once per trust store and reused for the same bytes;
/// verification still runs every time.
final class ParsedCertificateCacheTests: XCTestCase {
    private let pki = TestPKI.shared

    func testSameBytesGiveTheSameParseAndVerificationStillRuns() throws {
        let store = try TrustStore(pemBundle: pki.caPEM)
        let der = try Certificate.chain(fromPEM: pki.server(.ecdsaP256).chainPEM)[0].der
        let first = try store.certificate(der: der)
        let second = try store.certificate(der: der)
        XCTAssertTrue(first === second, "the second handshake reuses the parse")
        let other = try store.certificate(der: Certificate.chain(fromPEM: pki.server(.ed25519).chainPEM)[0].der)
        XCTAssertFalse(other === first)
        XCTAssertEqual(first.der, der)

        // A cached certificate is verified like a fresh one: accepted now, refused when the time is past its expiry.
        XCTAssertNoThrow(try store.verify(chain: [second], purpose: .serverAuth, expectedName: "localhost",
                                          unixTime: Int64(Date().timeIntervalSince1970)))
        XCTAssertThrowsError(try store.verify(chain: [second], purpose: .serverAuth, expectedName: "localhost",
                                              unixTime: Int64(Date().timeIntervalSince1970) + 100 * 365 * 86_400))
        // ...and for the wrong purpose or name, as before.
        XCTAssertThrowsError(try store.verify(chain: [second], purpose: .clientAuth, expectedName: nil,
                                              unixTime: Int64(Date().timeIntervalSince1970)))
        XCTAssertThrowsError(try store.verify(chain: [second], purpose: .serverAuth, expectedName: "example.org",
                                              unixTime: Int64(Date().timeIntervalSince1970)))

        // Another trust store (a reload) has its own cache.
        let reloaded = try TrustStore(pemBundle: pki.caPEM)
        XCTAssertFalse(try reloaded.certificate(der: der) === first)
    }

    func testMalformedBytesThrowEveryTimeAndAreNotCached() throws {
        let store = try TrustStore(pemBundle: pki.caPEM)
        var der = try Certificate.chain(fromPEM: pki.server(.ecdsaP256).chainPEM)[0].der
        der[der.count / 2] ^= 0xFF
        der.append(0)  // trailing byte: refused by the parser whatever the flipped byte did
        XCTAssertThrowsError(try store.certificate(der: der))
        XCTAssertThrowsError(try store.certificate(der: der))
        XCTAssertThrowsError(try store.certificate(der: []))
    }

    func testTheCacheIsBounded() throws {
        let cache = ParsedCertificates(capacity: 2)
        let certificates = try [TestKeyType.ecdsaP256, .ed25519, .rsa2048].map {
            try Certificate.chain(fromPEM: pki.server($0).chainPEM)[0]
        }
        cache.insert(certificates[0].der, certificates[0])
        cache.insert(certificates[1].der, certificates[1])
        XCTAssertEqual(cache.count, 2)
        cache.insert(certificates[2].der, certificates[2])  // full: emptied, then the new one
        XCTAssertEqual(cache.count, 1)
        XCTAssertNil(cache.lookup(certificates[0].der))
        XCTAssertTrue(cache.lookup(certificates[2].der) === certificates[2])
    }
}
