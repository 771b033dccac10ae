// x25519-mlkem768 (TLS's X25519MLKEM768, draft-ietf-tls-ecdhe-mlkem §3.1) through KeyExchangeInitiator and
// KeyExchangeResponder: the ML-KEM-768 known answers of Wycheproof mlkem_768_test.json, the byte layout and order of
// both shares and of the combined secret, the checks on each part, and FIPS 203 implicit rejection.
//
// What swift-crypto 4.5.2's public API allows, hence which vector kinds run: a decapsulation key can be built from its
// 64-byte seed d ‖ z (`MLKEM768.PrivateKey(seedRepresentation:publicKey:)`), so KeyGen-from-seed and Decaps run as
// known-answer tests; Encaps with given randomness is internal to swift-crypto, so encapsulation is checked by round
// trip against each vector's encapsulation key instead of against a fixed ciphertext.
import XCTest
@testable import Protocol

final class HybridKeyAgreementTests: XCTestCase {
    private struct Group: Decodable {
        let type: String
        let parameterSet: String
        let tests: [Test]
    }

    private struct Test: Decodable {
        let tcId: Int
        let comment: String?
        let flags: [String]
        let seed: String
        let ek: String?
        let c: String
        let K: String
        let result: Wycheproof.Result
    }

    // RFC 7748 §6.1: the X25519 half of every vector test uses Alice as the initiator and Bob's public key as the
    // responder's X25519 part, so the expected hybrid secret is K ‖ this Z.
    private static let alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    private static let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    private static let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    private static let x25519Z = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

    private func bytes(_ hex: String) throws -> [UInt8] { try CryptoTestSupport.bytes(hex) }

    /// All 193 vectors of mlkem_768_test.json, every one exercised:
    /// - 153 valid (1 CCTV "strcmp" + 152 FIPS 203, among them 20 whose ciphertext is bit-flipped or random, i.e. the
    ///   implicit-rejection path): KeyGen from the seed must give the vector's encapsulation key as the first 1184
    ///   bytes of the initiator's share; completing with c ‖ Bob's X25519 key must give K ‖ Z (ML-KEM part first);
    ///   and a responder encapsulating to that key must agree with a second initiator made from the same seed.
    /// - 20 invalid "Private key too short/long" (seeds of 1..122 bytes): swift-crypto refuses the seed.
    /// - 20 invalid "Ciphertext too short/long": the wrapper refuses the responder share (`.invalidPeerShare`).
    func testWycheproofMLKEM768ThroughTheHybridWrapper() throws {
        let file = try Wycheproof.load("mlkem_768_test.json", as: Group.self)
        XCTAssertEqual(file.algorithm, "ML-KEM")
        var tally = Wycheproof.Tally(file, name: "mlkem_768")
        let alice = try bytes(Self.alicePrivate), bob = try bytes(Self.bobPublic), z = try bytes(Self.x25519Z)
        var keyGenChecked = 0, decapsChecked = 0, implicitRejections = 0, encapsRoundTrips = 0
        var badSeedsRefused = 0, badCiphertextsRefused = 0
        for group in file.testGroups {
            XCTAssertEqual(group.type, "MLKEMTest")
            XCTAssertEqual(group.parameterSet, "ML-KEM-768")
            for test in group.tests {
                let context = "tcId \(test.tcId) \(test.comment ?? "") \(test.flags)"
                let seed = try bytes(test.seed), ciphertext = try bytes(test.c)
                guard seed.count == 64 else {
                    XCTAssertEqual(test.result, .invalid, context)
                    CryptoTestSupport.assertThrows(.malformedInput, context) {
                        try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
                    }
                    badSeedsRefused += 1
                    tally.exercise(test.result)
                    continue
                }
                let initiator = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
                XCTAssertEqual(initiator.share.count, 1216, context)
                XCTAssertEqual(hex(Array(initiator.share[1184...])), Self.alicePublic, context)
                if let ek = test.ek {
                    XCTAssertEqual(Array(initiator.share[..<1184]), try bytes(ek), "\(context): KeyGen from seed")
                    keyGenChecked += 1
                }
                switch test.result {
                case .valid:
                    XCTAssertEqual(ciphertext.count, 1088, context)
                    let secret = try initiator.complete(responderShare: ciphertext + bob).bytes
                    XCTAssertEqual(secret.count, 64, context)
                    XCTAssertEqual(Array(secret[..<32]), try bytes(test.K), "\(context): ML-KEM secret first")
                    XCTAssertEqual(Array(secret[32...]), z, "\(context): X25519 secret second")
                    decapsChecked += 1
                    if ["Bit flipped ciphertext", "Random ciphertext"].contains(test.comment ?? "") { implicitRejections += 1 }

                    // Encapsulation to the vector's key, by the responder, agrees with a fresh initiator of that key.
                    let again = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
                    let (share, responderSecret) = try KeyExchangeResponder.respond(group: .x25519MLKEM768,
                                                                                    initiatorShare: again.share)
                    XCTAssertEqual(share.count, 1120, context)
                    XCTAssertTrue(try again.complete(responderShare: share).constantTimeEquals(responderSecret), context)
                    encapsRoundTrips += 1
                case .invalid:
                    XCTAssertNotEqual(ciphertext.count, 1088, context)
                    CryptoTestSupport.assertThrows(.invalidPeerShare, context) {
                        try initiator.complete(responderShare: ciphertext + bob)
                    }
                    badCiphertextsRefused += 1
                case .acceptable:
                    XCTFail("no acceptable vectors expected: \(context)")
                }
                tally.exercise(test.result)
            }
        }
        print("mlkem_768: KeyGen-from-seed \(keyGenChecked), Decaps \(decapsChecked) (implicit rejection \(implicitRejections)), "
              + "Encaps round trips \(encapsRoundTrips), bad seeds refused \(badSeedsRefused), "
              + "bad ciphertext lengths refused \(badCiphertextsRefused)")
        XCTAssertEqual(keyGenChecked, 173)
        XCTAssertEqual(decapsChecked, 153)
        XCTAssertEqual(implicitRejections, 20)
        XCTAssertEqual(encapsRoundTrips, 153)
        XCTAssertEqual(badSeedsRefused, 20)
        XCTAssertEqual(badCiphertextsRefused, 20)
        tally.assertCounts(valid: 153, invalid: 40)
    }

    /// draft-ietf-tls-ecdhe-mlkem §3.1: initiator share = ek (1184) ‖ X25519 (32), responder share = ct (1088) ‖
    /// X25519 (32), secret = ML-KEM secret (32) ‖ X25519 secret (32). The X25519 halves are checked against OpenSSL's
    /// X25519 on its own: the last 32 bytes of both shares are X25519 public keys whose Diffie-Hellman is the last 32
    /// bytes of the secret.
    func testLayoutAndOrderOfSharesAndSecret() throws {
        XCTAssertEqual(KeyExchangeGroup.x25519MLKEM768.rawValue, 0x11EC)
        XCTAssertEqual(KeyExchangeGroup.x25519MLKEM768.name, "x25519-mlkem768")
        XCTAssertEqual(KeyExchangeGroup(name: "X25519-MLKEM768"), .x25519MLKEM768)
        XCTAssertEqual(KeyExchangeGroup.x25519MLKEM768.initiatorShareLength, 1216)
        XCTAssertEqual(KeyExchangeGroup.x25519MLKEM768.responderShareLength, 1120)
        XCTAssertEqual(KeyExchangeGroup.x25519MLKEM768.secretLength, 64)

        let alice = try bytes(Self.alicePrivate)
        let seed = (0..<64).map { UInt8($0) }
        let initiator = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
        let (responderShare, responderSecret) = try KeyExchangeResponder.respond(group: .x25519MLKEM768,
                                                                                initiatorShare: initiator.share)
        // The responder's X25519 half against Alice's key, computed by the classical x25519 group alone.
        let classical = try KeyExchangeInitiator(group: .x25519, privateKeyForTesting: alice)
        let x25519Secret = try classical.complete(responderShare: Array(responderShare[1088...]))
        let secret = responderSecret.bytes
        XCTAssertEqual(Array(secret[32...]), x25519Secret.bytes, "X25519 secret is the second half")
        XCTAssertEqual(Array(initiator.share[1184...]), try bytes(Self.alicePublic), "X25519 key is the initiator share's tail")
        // The first half is ML-KEM's: decapsulating the ciphertext gives it, whatever the X25519 part.
        let sameKEM = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
        let withBob = try sameKEM.complete(responderShare: Array(responderShare[..<1088]) + (try bytes(Self.bobPublic))).bytes
        XCTAssertEqual(Array(withBob[..<32]), Array(secret[..<32]), "ML-KEM secret is the first half")
        XCTAssertEqual(hex(Array(withBob[32...])), Self.x25519Z)
        XCTAssertTrue(try initiator.complete(responderShare: responderShare).constantTimeEquals(responderSecret))
    }

    /// FIPS 203 implicit rejection: a ciphertext changed in transit decapsulates without error to an unrelated secret,
    /// so only the ML-KEM half differs and the key agreement itself reports nothing. (In a session, the wrong secret
    /// makes the first sealed record fail: HybridHandshakeTests.) A changed X25519 half likewise changes only its half.
    func testTamperedPartsChangeOnlyTheirHalfOfTheSecret() throws {
        for (what, index) in [("ciphertext first byte", 0), ("ciphertext last byte", 1087), ("X25519 part", 1088 + 5)] {
            let initiator = try KeyExchangeInitiator(group: .x25519MLKEM768)
            let (reply, responderSecret) = try KeyExchangeResponder.respond(group: .x25519MLKEM768, initiatorShare: initiator.share)
            var share = reply
            share[index] ^= 0x01
            let secret = try initiator.complete(responderShare: share).bytes  // no error: nothing detects it here
            let expected = responderSecret.bytes
            let kemSame = secret[..<32] == expected[..<32], x25519Same = secret[32...] == expected[32...]
            XCTAssertEqual(kemSame, index >= 1088, "\(what): ML-KEM half")
            XCTAssertEqual(x25519Same, index < 1088, "\(what): X25519 half")
        }
    }

    /// A well-formed encapsulation key that is not the initiator's (it passes the modulus check) is accepted by the
    /// responder; the initiator then decapsulates to a different secret: detected only by the first sealed record.
    func testForeignButWellFormedEncapsulationKeyIsNotDetectedByTheKeyAgreement() throws {
        let initiator = try KeyExchangeInitiator(group: .x25519MLKEM768)
        let other = try KeyExchangeInitiator(group: .x25519MLKEM768)
        let substituted = Array(other.share[..<1184]) + initiator.share[1184...]
        let (share, responderSecret) = try KeyExchangeResponder.respond(group: .x25519MLKEM768, initiatorShare: substituted)
        let secret = try initiator.complete(responderShare: share)
        XCTAssertFalse(secret.constantTimeEquals(responderSecret))
        XCTAssertEqual(Array(secret.bytes[32...]), Array(responderSecret.bytes[32...]), "X25519 half still agrees")
        // An all-zero encapsulation key is well formed too (every coefficient 0 < q): accepted, no error.
        XCTAssertNoThrow(try KeyExchangeResponder.respond(group: .x25519MLKEM768,
                                                          initiatorShare: [UInt8](repeating: 0, count: 1184) + initiator.share[1184...]))
    }

    /// The seed hook passes the seed to swift-crypto untouched: every length but 64 is refused there.
    func testSeedOfWrongLengthIsRefusedAndTheDerivedKeyIsDeterministic() throws {
        let alice = try bytes(Self.alicePrivate)
        for length in [0, 32, 63, 65, 96] {
            CryptoTestSupport.assertThrows(.malformedInput, "seed of \(length) bytes") {
                try KeyExchangeInitiator(mlkemSeedForTesting: [UInt8](repeating: 7, count: length), x25519PrivateKeyForTesting: alice)
            }
        }
        let seed = [UInt8](repeating: 7, count: 64)
        let one = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
        let two = try KeyExchangeInitiator(mlkemSeedForTesting: seed, x25519PrivateKeyForTesting: alice)
        XCTAssertEqual(one.share, two.share)
        XCTAssertNotEqual(try KeyExchangeInitiator(group: .x25519MLKEM768).share, try KeyExchangeInitiator(group: .x25519MLKEM768).share)
    }
}
