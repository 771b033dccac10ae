// Wycheproof aes_cbc_pkcs5_test.json through CBCHMACCipher.
//
// The vectors test plain AES-CBC with PKCS#7 padding; CBCHMACCipher adds HMAC-SHA-256 around it. So each vector becomes
// a sealed record IV ‖ ct ‖ tag, with the tag computed by our HMAC wrapper over prefix ‖ IV ‖ ct under a fixed MAC key:
//   - valid: seal(msg) with the vector's IV must give exactly IV ‖ ct ‖ that tag, and open must give msg back;
//   - invalid (bad or missing padding): the record carries a *valid* MAC, so the MAC check passes and the padding check
//     must still reject it, with the same `.authenticationFailure` a bad MAC gets.
// AES-256 vectors go through the production `init(key:)` (MAC key ‖ encryption key). AES-128 and AES-192 are not Ferry
// suites; they go through the `init(testingMACKey:testingAESKey:)` hook so that the same code is exercised by all 216
// vectors, and the test checks that the production init refuses keys of those sizes.
import XCTest
@testable import Protocol

final class WycheproofCBCHMACTests: XCTestCase {
    private struct Group: Decodable {
        let keySize: Int
        let ivSize: Int
        let tests: [Test]
    }

    private struct Test: Decodable {
        let tcId: Int
        let comment: String
        let key, iv, msg, ct: String
        let result: Wycheproof.Result
    }

    private let macKey = [UInt8](repeating: 0x5C, count: 32)
    /// Sequence number ‖ record header, as the record layer passes it.
    private let prefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 42, 0x17, 0x03, 0x03, 0x00, 0x40]

    /// 216 vectors: all 72 valid and all 144 invalid (141 bad padding, 3 no padding) are exercised.
    func testAESCBCPKCS5() throws {
        let file = try Wycheproof.load("aes_cbc_pkcs5_test.json", as: Group.self)
        var tally = Wycheproof.Tally(file, name: "aes_cbc_pkcs5")
        for group in file.testGroups {
            XCTAssertEqual(group.ivSize, 128)
            for test in group.tests {
                let aesKey = try CryptoTestSupport.bytes(test.key)
                let (sealer, opener) = try ciphers(aesKey: aesKey)
                try check(test, sealer: sealer, opener: opener)
                tally.exercise(test.result)
            }
        }
        tally.assertCounts(valid: 72, invalid: 144)
    }

    private func ciphers(aesKey: [UInt8]) throws -> (CBCHMACCipher, CBCHMACCipher) {
        if aesKey.count == 32 {
            let key = SecretBytes(copying: macKey + aesKey)
            return (try CBCHMACCipher(key: key, encrypting: true), try CBCHMACCipher(key: key, encrypting: false))
        }
        // Not a Ferry suite: the production init takes exactly 64 bytes.
        CryptoTestSupport.assertThrows(.malformedInput) {
            try CBCHMACCipher(key: SecretBytes(copying: macKey + aesKey), encrypting: true)
        }
        return (try CBCHMACCipher(testingMACKey: macKey, testingAESKey: aesKey, encrypting: true),
                try CBCHMACCipher(testingMACKey: macKey, testingAESKey: aesKey, encrypting: false))
    }

    private func check(_ test: Test, sealer: CBCHMACCipher, opener: CBCHMACCipher) throws {
        let iv = try CryptoTestSupport.bytes(test.iv)
        let message = try CryptoTestSupport.bytes(test.msg)
        let ciphertext = try CryptoTestSupport.bytes(test.ct)
        let tag = HMAC.authenticationCode(.sha256, key: SecretBytes(copying: macKey), message: prefix + iv + ciphertext)
        let record = iv + ciphertext + tag
        let context = "tcId \(test.tcId) \(test.comment)"
        switch test.result {
        case .valid:
            XCTAssertEqual(try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: message, iv: iv), record, context)
            XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: record), message, context)
        case .invalid:
            CryptoTestSupport.assertThrows(.authenticationFailure, context) {
                try CryptoTestSupport.open(opener, prefix: prefix, sealed: record)
            }
        case .acceptable:
            XCTFail("no acceptable vectors expected: \(context)")
        }
    }
}
