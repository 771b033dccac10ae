// Wycheproof AEAD vectors through AEADCipher: aes_gcm_test.json and chacha20_poly1305_test.json.
//
// Ferry's AEADCipher deliberately supports a subset of what the files test:
//   - AES-128 and AES-256 only: AES-192 is not a Ferry suite, so a 24-byte key is refused (`.malformedInput`).
//   - 96-bit nonces only (RFC 5116 §5.1, RFC 8439 §2.8); other lengths are refused (`.malformedInput`).
//   - 128-bit tags only (every vector in these files uses them).
// Those vectors are counted as "refused by design" after checking that the wrapper does refuse them.
import XCTest
@testable import Protocol

final class WycheproofAEADTests: XCTestCase {
    private struct Group: Decodable {
        let ivSize: Int
        let keySize: Int
        let tagSize: Int
        let tests: [Test]
    }

    private struct Test: Decodable {
        let tcId: Int
        let comment: String
        let key, iv, aad, msg, ct, tag: String
        let result: Wycheproof.Result
    }

    /// 316 vectors: of the 229 valid ones, the 79 with a 96-bit nonce and a 128/256-bit key are exercised (the other
    /// 150 use AES-192 or another nonce length); of the 87 invalid ones, 54 are exercised and 33 refused by design.
    func testAESGCM() throws {
        let file = try Wycheproof.load("aes_gcm_test.json", as: Group.self)
        var tally = Wycheproof.Tally(file, name: "aes_gcm")
        for group in file.testGroups {
            XCTAssertEqual(group.tagSize, 128)
            for test in group.tests {
                let key = try CryptoTestSupport.bytes(test.key)
                let algorithm: AEADCipher.Algorithm? = switch group.keySize {
                case 128: .aes128GCM
                case 256: .aes256GCM
                default: nil
                }
                guard let algorithm else {
                    for candidate in [AEADCipher.Algorithm.aes128GCM, .aes256GCM] {
                        CryptoTestSupport.assertThrows(.malformedInput, "tcId \(test.tcId)") {
                            try AEADCipher(candidate, key: SecretBytes(copying: key), encrypting: true)
                        }
                    }
                    tally.refuse("AES-\(group.keySize) key", test.result)
                    continue
                }
                try check(test, algorithm: algorithm, ivSize: group.ivSize, tally: &tally)
            }
        }
        tally.assertCounts(valid: 79, invalid: 54)
    }

    /// 325 vectors: all 256 valid ones and 60 of the 69 invalid ones are exercised; the other 9 invalid ones use a
    /// nonce that is not 96 bits long and are refused by design.
    func testChaCha20Poly1305() throws {
        let file = try Wycheproof.load("chacha20_poly1305_test.json", as: Group.self)
        var tally = Wycheproof.Tally(file, name: "chacha20_poly1305")
        for group in file.testGroups {
            XCTAssertEqual(group.keySize, 256)
            XCTAssertEqual(group.tagSize, 128)
            for test in group.tests {
                try check(test, algorithm: .chacha20Poly1305, ivSize: group.ivSize, tally: &tally)
            }
        }
        tally.assertCounts(valid: 256, invalid: 60)
    }

    private func check(_ test: Test, algorithm: AEADCipher.Algorithm, ivSize: Int, tally: inout Wycheproof.Tally) throws {
        let key = SecretBytes(copying: try CryptoTestSupport.bytes(test.key))
        let iv = try CryptoTestSupport.bytes(test.iv)
        let aad = try CryptoTestSupport.bytes(test.aad)
        let message = try CryptoTestSupport.bytes(test.msg)
        let sealed = try CryptoTestSupport.bytes(test.ct) + CryptoTestSupport.bytes(test.tag)
        let sealer = try AEADCipher(algorithm, key: key, encrypting: true)
        let opener = try AEADCipher(algorithm, key: key, encrypting: false)
        let context = "tcId \(test.tcId) \(test.comment)"

        guard ivSize == 96 else {
            CryptoTestSupport.assertThrows(.malformedInput, context) {
                try CryptoTestSupport.seal(sealer, nonce: iv, aad: aad, plaintext: message)
            }
            CryptoTestSupport.assertThrows(.malformedInput, context) {
                try CryptoTestSupport.open(opener, nonce: iv, aad: aad, sealed: sealed)
            }
            tally.refuse("\(ivSize)-bit nonce", test.result)
            return
        }

        switch test.result {
        case .valid:
            XCTAssertEqual(try CryptoTestSupport.seal(sealer, nonce: iv, aad: aad, plaintext: message), sealed, context)
            XCTAssertEqual(try CryptoTestSupport.open(opener, nonce: iv, aad: aad, sealed: sealed), message, context)
            XCTAssertEqual(try CryptoTestSupport.openInPlace(opener, nonce: iv, aad: aad, sealed: sealed), message, context)
        case .invalid:
            CryptoTestSupport.assertThrows(.authenticationFailure, context) {
                try CryptoTestSupport.open(opener, nonce: iv, aad: aad, sealed: sealed)
            }
        case .acceptable:
            XCTFail("no acceptable vectors expected in AEAD files: \(context)")
        }
        tally.exercise(test.result)
    }
}
