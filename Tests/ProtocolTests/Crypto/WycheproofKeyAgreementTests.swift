// Wycheproof x25519_test.json and ecdh_secp256r1_test.json through KeyExchangeInitiator: the vector's private key goes
// in through the `privateKeyForTesting` hook, the vector's public key goes through `complete(responderShare:)`, the
// same validation path a peer's share takes.
//
// ECDH: the files give public keys as DER SubjectPublicKeyInfo, while Ferry's wire carries only the 65-byte uncompressed
// point. The path is: decode the SPKI (d2i_PUBKEY, test hook) → it must name P-256 (on the wire there is no curve name
// to check, so this step stands in for "the peer's share is meant for this group") → convert to the uncompressed point
// → `complete`. A vector counts as rejected if any step refuses it. Compressed points in the SPKI are converted like any
// other; on the wire itself the wrapper refuses compressed points (checked here too). OpenSSL's SPKI decoder already
// refuses points that are off the curve, so for those vectors the raw 65 bytes are also sent as a share on their own,
// and our check must refuse them as well (19 of 19, including the 16 invalid-curve-attack points).
import XCTest
@testable import Protocol

final class WycheproofKeyAgreementTests: XCTestCase {
    private struct Group: Decodable {
        let curve: String
        let tests: [Test]
    }

    private struct Test: Decodable {
        let tcId: Int
        let comment: String
        let flags: [String]
        let `public`: String
        let `private`: String
        let shared: String
        let result: Wycheproof.Result
    }

    /// 518 vectors, all exercised: 264 valid (each must give the expected secret) and 254 acceptable. Of the
    /// acceptable ones, the 31 whose secret is all zero (low-order points, RFC 7748 §6.1) must be rejected; the rest
    /// (twist points, non-canonical u) may go either way but, if accepted, must give the expected secret.
    func testX25519() throws {
        let file = try Wycheproof.load("x25519_test.json", as: Group.self)
        var tally = Wycheproof.Tally(file, name: "x25519")
        var zeroSecretsRejected = 0
        for group in file.testGroups {
            for test in group.tests {
                let scalar = try CryptoTestSupport.bytes(test.private)
                let share = try CryptoTestSupport.bytes(test.public)
                let expected = try CryptoTestSupport.bytes(test.shared)
                let context = "tcId \(test.tcId) \(test.comment) \(test.flags)"
                let initiator = try KeyExchangeInitiator(group: .x25519, privateKeyForTesting: scalar)
                if expected.allSatisfy({ $0 == 0 }) {
                    XCTAssertNotEqual(test.result, .valid, context)
                    CryptoTestSupport.assertThrows(.invalidPeerShare, context) { try initiator.complete(responderShare: share) }
                    zeroSecretsRejected += 1
                } else {
                    switch test.result {
                    case .valid:
                        XCTAssertEqual(try initiator.complete(responderShare: share).bytes, expected, context)
                    case .acceptable:
                        if let secret = try? initiator.complete(responderShare: share) {
                            XCTAssertEqual(secret.bytes, expected, context)
                        }
                    case .invalid:
                        XCTAssertThrowsError(try initiator.complete(responderShare: share), context)
                    }
                }
                tally.exercise(test.result)
            }
        }
        XCTAssertEqual(zeroSecretsRejected, 31)
        tally.assertCounts(valid: 264, invalid: 0, acceptable: 254)
    }

    /// 612 vectors, all exercised: 330 valid (each must give the expected secret), 52 invalid (each must be refused
    /// somewhere on the path above) and 230 acceptable (222 of them malformed ASN.1 that d2i_PUBKEY may or may not
    /// tolerate; if a vector's key is accepted, its secret must be right).
    func testECDHP256() throws {
        let file = try Wycheproof.load("ecdh_secp256r1_test.json", as: Group.self)
        var tally = Wycheproof.Tally(file, name: "ecdh_secp256r1")
        var wrongCurveRejectedOnTheWire = 0, wrongCurveWith65Bytes = 0
        var refusedAt = ["SPKI decode": 0, "curve name": 0, "wire share": 0], acceptedAcceptable = 0
        var rawPointsTried = 0, rawPointsRefused = 0
        for group in file.testGroups {
            XCTAssertEqual(group.curve, "secp256r1")
            for test in group.tests {
                let context = "tcId \(test.tcId) \(test.comment) \(test.flags)"
                let scalar = try CryptoTestSupport.bytes(test.private)
                let expected = try CryptoTestSupport.bytes(test.shared)
                let initiator = try KeyExchangeInitiator(group: .secp256r1, privateKeyForTesting: scalar)
                var secret: [UInt8]?
                if let decoded = KeyExchangeInitiator.uncompressedPointForTesting(subjectPublicKeyInfo: try CryptoTestSupport.bytes(test.public)) {
                    let onTheWire = try? initiator.complete(responderShare: decoded.point).bytes
                    if decoded.curve == "prime256v1" { secret = onTheWire }
                    if test.result != .valid {
                        if decoded.curve != "prime256v1" {
                            refusedAt["curve name", default: 0] += 1
                        } else if onTheWire == nil {
                            refusedAt["wire share", default: 0] += 1
                        }
                    }
                    if test.flags.contains("WrongCurve") && decoded.point.count == 65 {
                        // The point of another curve, sent as a 65-byte share, must fail the on-curve check by itself.
                        wrongCurveWith65Bytes += 1
                        if onTheWire == nil { wrongCurveRejectedOnTheWire += 1 }
                    }
                } else if test.result != .valid {
                    refusedAt["SPKI decode", default: 0] += 1
                    // OpenSSL's decoder already refuses points off the curve. To exercise our own check on those
                    // points, take the raw 65 bytes out of a standard-form P-256 SPKI and send them as a share.
                    let der = try CryptoTestSupport.bytes(test.public)
                    if der.count == Self.p256SPKIPrefix.count + 65, Array(der.prefix(Self.p256SPKIPrefix.count)) == Self.p256SPKIPrefix {
                        rawPointsTried += 1
                        if (try? initiator.complete(responderShare: Array(der.suffix(65)))) == nil { rawPointsRefused += 1 }
                    }
                }
                if test.result == .acceptable && secret != nil { acceptedAcceptable += 1 }
                switch test.result {
                case .valid: XCTAssertEqual(secret, expected, context)
                case .invalid: XCTAssertNil(secret, context)
                case .acceptable: if let secret { XCTAssertEqual(secret, expected, context) }
                }
                tally.exercise(test.result)
            }
        }
        print("ecdh_secp256r1: invalid/acceptable vectors refused at \(refusedAt.sorted { $0.key < $1.key }); "
              + "acceptable accepted: \(acceptedAcceptable); wrong-curve 65-byte points refused by the wire check alone: "
              + "\(wrongCurveRejectedOnTheWire) of \(wrongCurveWith65Bytes)")
        print("ecdh_secp256r1: raw points of refused standard-form SPKIs refused on the wire: \(rawPointsRefused) of \(rawPointsTried)")
        XCTAssertGreaterThanOrEqual(rawPointsTried, 16)  // at least the 16 InvalidCurveAttack vectors
        XCTAssertEqual(rawPointsRefused, rawPointsTried)
        XCTAssertGreaterThan(wrongCurveWith65Bytes, 0)
        XCTAssertEqual(wrongCurveRejectedOnTheWire, wrongCurveWith65Bytes)
        tally.assertCounts(valid: 330, invalid: 52, acceptable: 230)
    }

    /// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes: 00 ‖ point) }, RFC 5480 §2.
    private static let p256SPKIPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    /// The SPKI of a compressed-point vector decodes, but its compressed form is refused on the wire.
    func testCompressedPointsAreRefusedOnTheWire() throws {
        let file = try Wycheproof.load("ecdh_secp256r1_test.json", as: Group.self)
        let tests = file.testGroups.flatMap(\.tests).filter { $0.flags.contains("CompressedPublic") }
        XCTAssertFalse(tests.isEmpty)
        for test in tests {
            let initiator = try KeyExchangeInitiator(group: .secp256r1, privateKeyForTesting: try CryptoTestSupport.bytes(test.private))
            let decoded = try XCTUnwrap(KeyExchangeInitiator.uncompressedPointForTesting(subjectPublicKeyInfo: try CryptoTestSupport.bytes(test.public)))
            XCTAssertEqual(decoded.point.count, 65)
            let x = Array(decoded.point[1..<33]), yIsOdd = decoded.point[64] & 1 == 1
            let compressed = [yIsOdd ? 0x03 : 0x02] + x
            CryptoTestSupport.assertThrows(.invalidPeerShare) { try initiator.complete(responderShare: compressed) }
            // The same 33 bytes padded to the share length, and a hybrid (0x06/0x07) encoding, are refused too.
            CryptoTestSupport.assertThrows(.invalidPeerShare) {
                try initiator.complete(responderShare: compressed + [UInt8](repeating: 0, count: 32))
            }
            CryptoTestSupport.assertThrows(.invalidPeerShare) {
                try initiator.complete(responderShare: [yIsOdd ? 0x07 : 0x06] + decoded.point.dropFirst())
            }
            XCTAssertEqual(try initiator.complete(responderShare: decoded.point).bytes, try CryptoTestSupport.bytes(test.shared))
        }
    }
}
