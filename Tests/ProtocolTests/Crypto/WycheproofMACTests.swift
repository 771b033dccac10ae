// Wycheproof HMAC (hmac_sha256/512_test.json) and HKDF (hkdf_sha256/384/512_test.json) vectors through HMAC and HKDF.
//
// HMAC: Ferry only uses full-length tags, so the wrapper has no truncation; for the vectors with a truncated tag
// (tagSize < hash length) the test compares the leading tagSize bits of our full tag, which is what truncation means
// (RFC 2104 §5). Every vector is exercised.
import XCTest
@testable import Protocol

final class WycheproofMACTests: XCTestCase {
    private struct MACGroup: Decodable {
        let keySize: Int
        let tagSize: Int
        let tests: [MACTest]
    }

    private struct MACTest: Decodable {
        let tcId: Int
        let comment: String
        let key, msg, tag: String
        let result: Wycheproof.Result
    }

    private struct HKDFGroup: Decodable {
        let keySize: Int
        let tests: [HKDFTest]
    }

    private struct HKDFTest: Decodable {
        let tcId: Int
        let comment: String
        let ikm, salt, info, okm: String
        let size: Int
        let result: Wycheproof.Result
    }

    /// 174 vectors: all 66 valid and 108 invalid (modified tags) exercised; 87 of them truncated to 128 bits.
    func testHMACSHA256() throws { try checkHMAC("hmac_sha256_test.json", .sha256, valid: 66, invalid: 108) }

    /// 174 vectors: all 66 valid and 108 invalid exercised; 87 of them truncated to 256 bits.
    func testHMACSHA512() throws { try checkHMAC("hmac_sha512_test.json", .sha512, valid: 66, invalid: 108) }

    /// 86 vectors: 83 valid, 3 invalid (output longer than 255 · HashLen, which expand must refuse).
    func testHKDFSHA256() throws { try checkHKDF("hkdf_sha256_test.json", .sha256, valid: 83, invalid: 3) }

    func testHKDFSHA384() throws { try checkHKDF("hkdf_sha384_test.json", .sha384, valid: 80, invalid: 3) }

    func testHKDFSHA512() throws { try checkHKDF("hkdf_sha512_test.json", .sha512, valid: 80, invalid: 3) }

    private func checkHMAC(_ name: String, _ function: HashFunction, valid: Int, invalid: Int) throws {
        let file = try Wycheproof.load(name, as: MACGroup.self)
        var tally = Wycheproof.Tally(file, name: name)
        var truncated = 0
        for group in file.testGroups {
            let tagLength = group.tagSize / 8
            XCTAssert(tagLength <= function.outputLength)
            if tagLength < function.outputLength { truncated += group.tests.count }
            for test in group.tests {
                let key = SecretBytes(copying: try CryptoTestSupport.bytes(test.key))
                let full = HMAC.authenticationCode(function, key: key, message: try CryptoTestSupport.bytes(test.msg))
                XCTAssertEqual(full.count, function.outputLength)
                let expected = try CryptoTestSupport.bytes(test.tag)
                let matches = expected.count == tagLength && constantTimeEqual(Array(full.prefix(tagLength)), expected)
                XCTAssertEqual(matches, test.result == .valid, "tcId \(test.tcId) \(test.comment)")
                tally.exercise(test.result)
            }
        }
        XCTAssertEqual(truncated, 87, "vectors compared on a truncated prefix")
        tally.assertCounts(valid: valid, invalid: invalid)
    }

    private func checkHKDF(_ name: String, _ function: HashFunction, valid: Int, invalid: Int) throws {
        let file = try Wycheproof.load(name, as: HKDFGroup.self)
        var tally = Wycheproof.Tally(file, name: name)
        for group in file.testGroups {
            for test in group.tests {
                let ikm = SecretBytes(copying: try CryptoTestSupport.bytes(test.ikm))
                let salt = SecretBytes(copying: try CryptoTestSupport.bytes(test.salt))
                let info = try CryptoTestSupport.bytes(test.info)
                let prk = HKDF.extract(function, salt: salt, inputKeyMaterial: ikm)
                XCTAssertEqual(prk.count, function.outputLength)
                let context = "tcId \(test.tcId) \(test.comment)"
                switch test.result {
                case .valid:
                    let okm = try HKDF.expand(function, pseudorandomKey: prk, info: info, length: test.size)
                    XCTAssertEqual(okm.bytes, try CryptoTestSupport.bytes(test.okm), context)
                case .invalid:
                    XCTAssertGreaterThan(test.size, HKDF.maximumExpandLength(function), context)
                    CryptoTestSupport.assertThrows(.malformedInput, context) {
                        try HKDF.expand(function, pseudorandomKey: prk, info: info, length: test.size)
                    }
                case .acceptable:
                    XCTFail("no acceptable vectors expected: \(context)")
                }
                tally.exercise(test.result)
            }
        }
        tally.assertCounts(valid: valid, invalid: invalid)
    }
}
