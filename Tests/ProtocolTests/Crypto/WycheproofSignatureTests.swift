// Wycheproof signature verification vectors through PublicKey(subjectPublicKeyInfo:) and PublicKey.verify:
// ed25519, ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384 (DER signatures), rsa_pss_2048_sha256_mgf1_32.
// Every vector is exercised: valid signatures must verify, invalid ones (BER or otherwise non-DER encodings, malleated
// signatures, out-of-range values, other salt lengths…) must not. The files have no "acceptable" vectors.
import XCTest
@testable import Protocol

final class WycheproofSignatureTests: XCTestCase {
    private struct Group: Decodable {
        let publicKeyDer: String
        let tests: [Test]
    }

    private struct Test: Decodable {
        let tcId: Int
        let comment: String
        let flags: [String]
        let msg, sig: String
        let result: Wycheproof.Result
    }

    /// 151 vectors: 88 valid, 63 invalid.
    func testEd25519() throws { try check("ed25519_test.json", .ed25519, valid: 88, invalid: 63) }

    /// 484 vectors: 174 valid, 310 invalid.
    func testECDSAP256SHA256() throws { try check("ecdsa_secp256r1_sha256_test.json", .ecdsaSecp256r1SHA256, valid: 174, invalid: 310) }

    /// 504 vectors: 194 valid, 310 invalid.
    func testECDSAP384SHA384() throws { try check("ecdsa_secp384r1_sha384_test.json", .ecdsaSecp384r1SHA384, valid: 194, invalid: 310) }

    /// 108 vectors: 63 valid, 45 invalid. The file's parameters are exactly Ferry's rsa_pss_rsae_sha256: SHA-256,
    /// MGF1-SHA-256, 32-byte salt, 2048-bit key.
    func testRSAPSS2048SHA256() throws { try check("rsa_pss_2048_sha256_mgf1_32_test.json", .rsaPSSSHA256, valid: 63, invalid: 45) }

    private func check(_ name: String, _ scheme: SignatureScheme, valid: Int, invalid: Int) throws {
        let file = try Wycheproof.load(name, as: Group.self)
        var tally = Wycheproof.Tally(file, name: name)
        let otherSchemes = SignatureScheme.allCases.filter { $0 != scheme }
        for group in file.testGroups {
            let key = try PublicKey(subjectPublicKeyInfo: try CryptoTestSupport.bytes(group.publicKeyDer))
            XCTAssert(key.schemes.contains(scheme), "\(name): key supports \(key.schemes)")
            for test in group.tests {
                let message = try CryptoTestSupport.bytes(test.msg)
                let signature = try CryptoTestSupport.bytes(test.sig)
                let verified = key.verify(signature, message: message, scheme: scheme)
                XCTAssertEqual(verified, test.result == .valid, "tcId \(test.tcId) \(test.comment) \(test.flags)")
                if test.result == .valid {
                    // A scheme that does not match the key never verifies, even with a good signature.
                    for other in otherSchemes { XCTAssertFalse(key.verify(signature, message: message, scheme: other)) }
                }
                XCTAssertNotEqual(test.result, .acceptable)
                tally.exercise(test.result)
            }
        }
        tally.assertCounts(valid: valid, invalid: invalid)
    }
}
