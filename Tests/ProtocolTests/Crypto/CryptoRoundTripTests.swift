// Round trips through the record ciphers and the key exchange: every algorithm and group, in place and not, empty
// inputs, and the bad inputs a peer could send.
import XCTest
@testable import Protocol

final class CryptoRoundTripTests: XCTestCase {
    private let lengths = [0, 1, 15, 16, 17, 31, 32, 33, 255, 4096, 65536]

    // MARK: AEAD

    func testAEADRoundTripsForEveryAlgorithm() throws {
        for algorithm in [AEADCipher.Algorithm.aes128GCM, .aes256GCM, .chacha20Poly1305] {
            let key = SecretBytes(copying: randomBytes(algorithm.keyLength))
            let sealer = try AEADCipher(algorithm, key: key, encrypting: true)
            let opener = try AEADCipher(algorithm, key: key, encrypting: false)
            for length in lengths {
                let nonce = randomBytes(12), aad = randomBytes(13), plaintext = randomBytes(length)
                let context = "\(algorithm) \(length) bytes"
                let sealed = try CryptoTestSupport.seal(sealer, nonce: nonce, aad: aad, plaintext: plaintext)
                XCTAssertEqual(sealed.count, length + AEADCipher.tagLength, context)
                if length >= 16 { XCTAssertNotEqual(Array(sealed.prefix(length)), plaintext, context) }
                XCTAssertEqual(try CryptoTestSupport.open(opener, nonce: nonce, aad: aad, sealed: sealed), plaintext, context)
                XCTAssertEqual(try CryptoTestSupport.openInPlace(opener, nonce: nonce, aad: aad, sealed: sealed), plaintext, context)
                XCTAssertEqual(try sealInPlace(sealer, nonce: nonce, aad: aad, plaintext: plaintext), sealed, context)
                // Empty additional data is a different record, and still round-trips.
                let noAAD = try CryptoTestSupport.seal(sealer, nonce: nonce, aad: [], plaintext: plaintext)
                XCTAssertNotEqual(noAAD, sealed, context)
                XCTAssertEqual(try CryptoTestSupport.open(opener, nonce: nonce, aad: [], sealed: noAAD), plaintext, context)
                // Another nonce, other AAD, a flipped bit: all the same error, output zeroed (checked by the helper).
                var otherNonce = nonce
                otherNonce[11] ^= 1
                var flipped = sealed
                flipped[flipped.count / 2] ^= 0x20
                for (what, n, a, s) in [("nonce", otherNonce, aad, sealed), ("aad", nonce, aad + [0], sealed),
                                        ("bit", nonce, aad, flipped)] {
                    CryptoTestSupport.assertThrows(.authenticationFailure, "\(context): \(what)") {
                        try CryptoTestSupport.open(opener, nonce: n, aad: a, sealed: s)
                    }
                }
            }
            // Shorter than a tag: refused, never read past the end.
            for short in 0..<AEADCipher.tagLength {
                CryptoTestSupport.assertThrows(.authenticationFailure, "\(algorithm) \(short)-byte record") {
                    try CryptoTestSupport.open(opener, nonce: randomBytes(12), aad: [], sealed: randomBytes(short))
                }
            }
            for badLength in [0, 16, 24, 31, 33, 64] where badLength != algorithm.keyLength {
                CryptoTestSupport.assertThrows(.malformedInput, "\(algorithm) key of \(badLength)") {
                    try AEADCipher(algorithm, key: SecretBytes(copying: randomBytes(badLength)), encrypting: true)
                }
            }
        }
    }

    /// Seals with the plaintext already at the start of the output buffer, as the record layer does.
    private func sealInPlace(_ cipher: AEADCipher, nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        var buffer = plaintext + [UInt8](repeating: 0, count: AEADCipher.tagLength)
        try nonce.withUnsafeBytes { n in
            try aad.withUnsafeBytes { a in
                try buffer.withUnsafeMutableBytes { b in
                    try cipher.seal(nonce: n, aad: a, plaintext: UnsafeRawBufferPointer(rebasing: b[..<plaintext.count]), output: b)
                }
            }
        }
        return buffer
    }

    // MARK: CBC + HMAC

    func testCBCHMACRoundTrips() throws {
        let key = SecretBytes(copying: randomBytes(CBCHMACCipher.keyLength))
        let sealer = try CBCHMACCipher(key: key, encrypting: true)
        let opener = try CBCHMACCipher(key: key, encrypting: false)
        let prefix = randomBytes(13)
        for length in lengths + Array(2...14) {
            let plaintext = randomBytes(length)
            let sealed = try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: plaintext)
            XCTAssertEqual(sealed.count, CBCHMACCipher.sealedLength(plaintextLength: length))
            XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: sealed), plaintext, "\(length) bytes")
            // A fresh random IV each time: the same plaintext never gives the same record.
            XCTAssertNotEqual(try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: plaintext), sealed)
            XCTAssertEqual(try recordLayerStyleRoundTrip(sealer, opener, prefix: prefix, plaintext: plaintext), plaintext)
        }
        CryptoTestSupport.assertThrows(.malformedInput) { try CBCHMACCipher(key: SecretBytes(copying: randomBytes(32)), encrypting: true) }
        CryptoTestSupport.assertThrows(.malformedInput) { try CBCHMACCipher(key: SecretBytes(copying: randomBytes(65)), encrypting: true) }
    }

    /// In place, laid out as the record layer does it: the plaintext sits at offset 16 of the record body, seal writes
    /// IV ‖ ciphertext ‖ tag over the whole body, open writes the plaintext back from offset 0.
    private func recordLayerStyleRoundTrip(_ sealer: CBCHMACCipher, _ opener: CBCHMACCipher, prefix: [UInt8],
                                           plaintext: [UInt8]) throws -> [UInt8] {
        let sealedLength = CBCHMACCipher.sealedLength(plaintextLength: plaintext.count)
        var body = [UInt8](repeating: 0, count: CBCHMACCipher.ivLength) + plaintext
        body += [UInt8](repeating: 0, count: sealedLength - body.count)
        let opened = try prefix.withUnsafeBytes { a in
            try body.withUnsafeMutableBytes { b -> Int in
                let start = CBCHMACCipher.ivLength
                try sealer.seal(authenticatedPrefix: a,
                                plaintext: UnsafeRawBufferPointer(rebasing: b[start..<start + plaintext.count]), output: b)
                return try opener.open(authenticatedPrefix: a, sealed: UnsafeRawBufferPointer(b), output: b)
            }
        }
        return Array(body[..<opened])
    }

    // MARK: Randomness

    func testRandomBytes() {
        XCTAssertEqual(randomBytes(0), [])
        let a = randomBytes(32), b = randomBytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, [UInt8](repeating: 0, count: 32))
    }

    // MARK: Key exchange

    func testKeyExchangeBothRolesAgreeForEveryGroup() throws {
        for group in KeyExchangeGroup.allCases {
            let initiator = try KeyExchangeInitiator(group: group)
            XCTAssertEqual(initiator.share.count, group.initiatorShareLength, "\(group)")
            let (share, responderSecret) = try KeyExchangeResponder.respond(group: group, initiatorShare: initiator.share)
            XCTAssertEqual(share.count, group.responderShareLength, "\(group)")
            let initiatorSecret = try initiator.complete(responderShare: share)
            XCTAssertEqual(initiatorSecret.count, group.secretLength, "\(group)")
            XCTAssertTrue(initiatorSecret.constantTimeEquals(responderSecret), "\(group): both roles agree")
            // Ephemeral: a second exchange has other shares and another secret.
            let again = try KeyExchangeInitiator(group: group)
            XCTAssertNotEqual(again.share, initiator.share)
            let (_, otherSecret) = try KeyExchangeResponder.respond(group: group, initiatorShare: again.share)
            XCTAssertFalse(otherSecret.constantTimeEquals(responderSecret))
        }
    }

    func testBadSharesAreRefusedForEveryGroup() throws {
        for group in KeyExchangeGroup.allCases {
            // Shares in the initiator's shape go to the responder, shares in the responder's shape to the initiator
            // (they differ for the hybrid: 1216 and 1120 bytes).
            let goodInitiatorShare = try KeyExchangeInitiator(group: group).share
            let goodResponderShare = try KeyExchangeResponder.respond(group: group, initiatorShare: goodInitiatorShare).share
            func lengthCases(_ good: [UInt8]) -> [(String, [UInt8])] {
                [("empty", []), ("one byte short", Array(good.dropLast())), ("one byte long", good + [0]),
                 ("double length", good + good), ("all zero", [UInt8](repeating: 0, count: good.count))]
            }
            var badForResponder = lengthCases(goodInitiatorShare), badForInitiator = lengthCases(goodResponderShare)
            let good = goodInitiatorShare
            let n = good.count
            var bad: [(String, [UInt8])] = []  // classical groups: bad in either role
            switch group {
            case .x25519:
                // u = 1 has order 1 … and u = 0 order 4 (RFC 7748 §6.1): the secret would be all zero.
                bad.append(("u = 1", [1] + [UInt8](repeating: 0, count: 31)))
            case .secp256r1:
                var offCurve = good
                offCurve[64] ^= 1
                bad.append(("off-curve point", offCurve))
                bad.append(("x = y = 0", [4] + [UInt8](repeating: 0, count: 64)))
                bad.append(("point at infinity", [0]))
                bad.append(("compressed form", [2 + (good[64] & 1)] + good[1..<33]))
                bad.append(("coordinates ≥ p", [4] + [UInt8](repeating: 0xFF, count: 64)))
            case .ffdhe2048, .ffdhe3072:
                bad.append(("y = 1", [UInt8](repeating: 0, count: n - 1) + [1]))
                bad.append(("y ≥ p", [UInt8](repeating: 0xFF, count: n)))
            case .x25519MLKEM768:
                let uOne = [1] + [UInt8](repeating: 0, count: 31)
                // FIPS 203 §7.2 modulus check: the first 12-bit coefficient of the encapsulation key set to 4095 ≥ q.
                var coefficientTooLarge = good
                coefficientTooLarge[0] = 0xFF
                coefficientTooLarge[1] |= 0x0F
                badForResponder.append(("encapsulation key coefficient ≥ q", coefficientTooLarge))
                badForResponder.append(("encapsulation key all 0xFF", [UInt8](repeating: 0xFF, count: 1184) + good[1184...]))
                badForResponder.append(("X25519 part u = 1", Array(good[..<1184]) + uOne))
                badForResponder.append(("X25519 part u = 0", Array(good[..<1184]) + [UInt8](repeating: 0, count: 32)))
                badForResponder.append(("the responder's shape", goodResponderShare))
                badForInitiator.append(("X25519 part u = 1", Array(goodResponderShare[..<1088]) + uOne))
                badForInitiator.append(("X25519 part u = 0", Array(goodResponderShare[..<1088]) + [UInt8](repeating: 0, count: 32)))
                badForInitiator.append(("the initiator's shape", good))
                badForInitiator.append(("ciphertext one byte short", Array(goodResponderShare[..<1087]) + goodResponderShare[1088...]))
            }
            badForResponder += bad
            badForInitiator += bad
            let initiator = try KeyExchangeInitiator(group: group)
            for (what, share) in badForResponder {
                CryptoTestSupport.assertThrows(.invalidPeerShare, "\(group) responder: \(what)") {
                    try KeyExchangeResponder.respond(group: group, initiatorShare: share)
                }
            }
            for (what, share) in badForInitiator {
                CryptoTestSupport.assertThrows(.invalidPeerShare, "\(group) initiator: \(what)") {
                    try initiator.complete(responderShare: share)
                }
            }
            // A failed completion leaves the initiator as it was (STYLE 10): it still completes with a good share.
            let (share, secret) = try KeyExchangeResponder.respond(group: group, initiatorShare: initiator.share)
            XCTAssertTrue(try initiator.complete(responderShare: share).constantTimeEquals(secret), "\(group)")
        }
    }
}
