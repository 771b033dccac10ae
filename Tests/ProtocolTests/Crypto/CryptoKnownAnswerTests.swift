// Known-answer tests from the specifications: SHA-2 (FIPS 180-4 "abc"), HMAC (RFC 4231), HKDF (RFC 5869 A.1–A.3),
// X25519 (RFC 7748 §5.2, §6.1), Ed25519 (RFC 8032 §7.1 tests 1–3), AES-GCM (McGrew–Viega test cases 13, 14, 16),
// ChaCha20-Poly1305 (RFC 8439 §2.8.2) and the RFC 7919 FFDHE groups.
import Foundation
import XCTest
@testable import Protocol

final class CryptoKnownAnswerTests: XCTestCase {
    private func bytes(_ hex: String) throws -> [UInt8] { try CryptoTestSupport.bytes(hex) }

    // MARK: Hash and HMAC

    func testSHA2OfABC() throws {
        let abc = Array("abc".utf8)
        XCTAssertEqual(DigestContext.hash(.sha256, abc), try bytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        XCTAssertEqual(DigestContext.hash(.sha384, abc), try bytes(
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"))
        XCTAssertEqual(DigestContext.hash(.sha512, abc), try bytes(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"))
    }

    /// Digests are shown as lower-case hex, two digits per byte, leading zeros kept.
    func testHexOfADigest() {
        XCTAssertEqual(hex([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
        XCTAssertEqual(hex([]), "")
        XCTAssertEqual(hex(DigestContext.hash(.sha256, Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// snapshot() keeps the running state; copy() is independent of the original.
    func testSnapshotAndCopy() {
        for function in HashFunction.allCases {
            let context = DigestContext(function)
            context.update(Array("ab".utf8))
            XCTAssertEqual(context.snapshot(), DigestContext.hash(function, Array("ab".utf8)))
            let copy = context.copy()
            context.update(Array("c".utf8))
            XCTAssertEqual(context.snapshot(), DigestContext.hash(function, Array("abc".utf8)))
            XCTAssertEqual(context.snapshot(), DigestContext.hash(function, Array("abc".utf8)), "snapshot twice")
            XCTAssertEqual(copy.snapshot(), DigestContext.hash(function, Array("ab".utf8)))
            copy.update(Array("x".utf8))
            XCTAssertEqual(copy.snapshot(), DigestContext.hash(function, Array("abx".utf8)))
            XCTAssertEqual(DigestContext(function).snapshot(), DigestContext.hash(function, []))
        }
    }

    /// RFC 4231 test case 2, and the empty key (which must not be mistaken for "no key").
    func testHMACRFC4231() throws {
        let key = SecretBytes(copying: Array("Jefe".utf8))
        let message = Array("what do ya want for nothing?".utf8)
        XCTAssertEqual(HMAC.authenticationCode(.sha256, key: key, message: message),
                       try bytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        XCTAssertEqual(HMAC.authenticationCode(.sha384, key: key, message: message), try bytes(
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"))
        XCTAssertEqual(HMAC.authenticationCode(.sha512, key: key, message: message), try bytes(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"))
        XCTAssertEqual(HMAC.authenticationCode(.sha256, key: SecretBytes(copying: []), message: []),
                       try bytes("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"))
    }

    // MARK: HKDF

    func testHKDFRFC5869() throws {
        struct Case { let ikm, salt, info: [UInt8]; let length: Int; let prk, okm: String }
        let cases = [
            // A.1 basic
            Case(ikm: [UInt8](repeating: 0x0b, count: 22), salt: Array(0x00...0x0c), info: Array(0xf0...0xf9), length: 42,
                 prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                 okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
            // A.2 longer inputs and outputs
            Case(ikm: Array(0x00...0x4f), salt: Array(0x60...0xaf), info: Array(0xb0...0xff), length: 82,
                 prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                 okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
                    + "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
            // A.3 zero-length salt and info
            Case(ikm: [UInt8](repeating: 0x0b, count: 22), salt: [], info: [], length: 42,
                 prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                 okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
        ]
        for (index, item) in cases.enumerated() {
            let prk = HKDF.extract(.sha256, salt: SecretBytes(copying: item.salt), inputKeyMaterial: SecretBytes(copying: item.ikm))
            XCTAssertEqual(prk.bytes, try bytes(item.prk), "A.\(index + 1) PRK")
            let okm = try HKDF.expand(.sha256, pseudorandomKey: prk, info: item.info, length: item.length)
            XCTAssertEqual(okm.bytes, try bytes(item.okm), "A.\(index + 1) OKM")
        }
        // RFC 5869 §2.2: an absent salt is HashLen zeros, which gives the same PRK as the empty salt.
        let ikm = SecretBytes(copying: [UInt8](repeating: 0x0b, count: 22))
        XCTAssertEqual(HKDF.extract(.sha256, salt: SecretBytes(copying: [UInt8](repeating: 0, count: 32)), inputKeyMaterial: ikm).bytes,
                       try bytes(cases[2].prk))
    }

    /// HKDF-Extract is HMAC(salt, IKM) (RFC 5869 §2.2), including empty inputs, for every hash.
    func testHKDFExtractIsHMAC() {
        for function in HashFunction.allCases {
            for (salt, ikm) in [([UInt8](), [UInt8]()), ([], randomBytes(32)), (randomBytes(13), []), (randomBytes(200), randomBytes(77))] {
                XCTAssertEqual(HKDF.extract(function, salt: SecretBytes(copying: salt), inputKeyMaterial: SecretBytes(copying: ikm)).bytes,
                               HMAC.authenticationCode(function, key: SecretBytes(copying: salt), message: ikm),
                               "\(function) salt \(salt.count) ikm \(ikm.count)")
            }
        }
    }

    /// RFC 5869 §2.3: L ≤ 255 · HashLen; and 0 is refused.
    func testHKDFExpandLengthBounds() throws {
        for function in HashFunction.allCases {
            let prk = SecretBytes(copying: [UInt8](repeating: 7, count: function.outputLength))
            XCTAssertEqual(try HKDF.expand(function, pseudorandomKey: prk, info: [], length: 255 * function.outputLength).count,
                           255 * function.outputLength)
            XCTAssertEqual(try HKDF.expand(function, pseudorandomKey: prk, info: [], length: 1).count, 1)
            for bad in [0, -1, 255 * function.outputLength + 1] {
                CryptoTestSupport.assertThrows(.malformedInput, "\(function) L=\(bad)") {
                    try HKDF.expand(function, pseudorandomKey: prk, info: [], length: bad)
                }
            }
        }
    }

    // MARK: X25519

    /// X25519(k, u) through the wrapper: k via the fixed-key hook, u as the peer's share.
    private func x25519(_ k: [UInt8], _ u: [UInt8]) throws -> [UInt8] {
        try KeyExchangeInitiator(group: .x25519, privateKeyForTesting: k).complete(responderShare: u).bytes
    }

    func testX25519RFC7748Section5_2() throws {
        XCTAssertEqual(try x25519(bytes("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                                  bytes("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")),
                       try bytes("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"))
        // The u-coordinate's top bit is set: it must be masked (RFC 7748 §5).
        XCTAssertEqual(try x25519(bytes("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                                  bytes("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")),
                       try bytes("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"))
        // The iterated test, 1 and 1,000 iterations (the 1,000,000 one takes minutes and adds nothing here).
        var k: [UInt8] = [9] + [UInt8](repeating: 0, count: 31), u = k
        for iteration in 1...1000 {
            (k, u) = (try x25519(k, u), k)
            if iteration == 1 {
                XCTAssertEqual(k, try bytes("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"))
            }
        }
        XCTAssertEqual(k, try bytes("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"))
    }

    func testX25519RFC7748Section6_1() throws {
        let alicePrivate = try bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let alicePublic = try bytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        let bobPrivate = try bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        let bobPublic = try bytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = try bytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
        let alice = try KeyExchangeInitiator(group: .x25519, privateKeyForTesting: alicePrivate)
        let bob = try KeyExchangeInitiator(group: .x25519, privateKeyForTesting: bobPrivate)
        XCTAssertEqual(alice.share, alicePublic)
        XCTAssertEqual(bob.share, bobPublic)
        XCTAssertEqual(try alice.complete(responderShare: bobPublic).bytes, shared)
        XCTAssertEqual(try bob.complete(responderShare: alicePublic).bytes, shared)
    }

    // MARK: Ed25519

    /// RFC 8032 §7.1 tests 1–3: signing is deterministic, so the exact signature must come out.
    func testEd25519RFC8032() throws {
        let vectors: [(secret: String, publicKey: String, message: String, signature: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
            ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
             "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
             "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ]
        for (index, vector) in vectors.enumerated() {
            // PKCS#8 OneAsymmetricKey for Ed25519 (RFC 8410 §7): fixed 16-byte prefix, then the 32-byte seed.
            let pkcs8 = try bytes("302e020100300506032b657004220420" + vector.secret)
            let pem = "-----BEGIN PRIVATE KEY-----\n\(Data(pkcs8).base64EncodedString())\n-----END PRIVATE KEY-----\n"
            let key = try SigningKey(pem: Array(pem.utf8))
            XCTAssertEqual(key.schemes, [.ed25519])
            let message = try bytes(vector.message)
            let signature = try key.sign(message, scheme: .ed25519)
            XCTAssertEqual(signature, try bytes(vector.signature), "RFC 8032 test \(index + 1)")
            // SubjectPublicKeyInfo for Ed25519 (RFC 8410 §4): fixed 12-byte prefix, then the 32-byte key.
            let publicKey = try PublicKey(subjectPublicKeyInfo: bytes("302a300506032b6570032100" + vector.publicKey))
            XCTAssertTrue(publicKey.verify(signature, message: message, scheme: .ed25519))
            XCTAssertFalse(publicKey.verify(signature, message: message + [0], scheme: .ed25519))
        }
    }

    // MARK: AEAD

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13, 14 and 16 (AES-256).
    func testAESGCMMcGrewViega() throws {
        let zeroKey = SecretBytes(copying: [UInt8](repeating: 0, count: 32))
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let sealer = try AEADCipher(.aes256GCM, key: zeroKey, encrypting: true)
        XCTAssertEqual(try CryptoTestSupport.seal(sealer, nonce: zeroNonce, aad: [], plaintext: []),
                       try bytes("530f8afbc74536b9a963b4f1c4cb738b"), "test case 13")
        XCTAssertEqual(try CryptoTestSupport.seal(sealer, nonce: zeroNonce, aad: [], plaintext: [UInt8](repeating: 0, count: 16)),
                       try bytes("cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"), "test case 14")

        let key = SecretBytes(copying: try bytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"))
        let nonce = try bytes("cafebabefacedbaddecaf888")
        let aad = try bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let plaintext = try bytes("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        let sealed = try bytes("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" + "76fc6ece0f4e1768cddf8853bb2d551b")
        XCTAssertEqual(try CryptoTestSupport.seal(try AEADCipher(.aes256GCM, key: key, encrypting: true),
                                                  nonce: nonce, aad: aad, plaintext: plaintext), sealed, "test case 16")
        XCTAssertEqual(try CryptoTestSupport.open(try AEADCipher(.aes256GCM, key: key, encrypting: false),
                                                  nonce: nonce, aad: aad, sealed: sealed), plaintext)
    }

    /// RFC 8439 §2.8.2.
    func testChaCha20Poly1305RFC8439() throws {
        let key = SecretBytes(copying: Array(UInt8(0x80)...UInt8(0x9f)))
        let nonce = try bytes("070000004041424344454647")
        let aad = try bytes("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array(("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
            + "sunscreen would be it.").utf8)
        let sealed = try bytes("""
            d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
            1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
            3ff4def08e4b7a9de576d26586cec64b6116
            1ae10b594f09e26a7e902ecbd0600691
            """)
        XCTAssertEqual(try CryptoTestSupport.seal(try AEADCipher(.chacha20Poly1305, key: key, encrypting: true),
                                                  nonce: nonce, aad: aad, plaintext: plaintext), sealed)
        XCTAssertEqual(try CryptoTestSupport.open(try AEADCipher(.chacha20Poly1305, key: key, encrypting: false),
                                                  nonce: nonce, aad: aad, sealed: sealed), plaintext)
    }

    // MARK: RFC 7919 groups

    /// p from RFC 7919 Appendix A.1 (ffdhe2048) and A.2 (ffdhe3072). These are also the values of the RFC's formulas,
    /// p = 2^b − 2^(b−64) + {[2^(b−130) e] + c} · 2^64 − 1 with c = 560316 / 2625351, recomputed independently.
    private static let rfc7919Primes: [KeyExchangeGroup: String] = [
        .ffdhe2048: """
            FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695
            A9E13641146433FBCC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617A
            D3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935
            984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797A
            BC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4
            AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61
            9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005
            C58EF1837D1683B2C6F34A26C1B2EFFA886B423861285C97FFFFFFFFFFFFFFFF
            """,
        .ffdhe3072: """
            FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695
            A9E13641146433FBCC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617A
            D3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935
            984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797A
            BC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4
            AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61
            9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005
            C58EF1837D1683B2C6F34A26C1B2EFFA886B4238611FCFDCDE355B3B6519035B
            BC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C
            AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF
            5CAE82AB9C9DF69EE86D2BC522363A0DABC521979B0DEADA1DBF9A42D5C4484E
            0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B66C62E37FFFFFFFFFFFFFFFF
            """,
    ]

    func testFFDHEGroupsAreRFC7919() throws {
        for group in [KeyExchangeGroup.ffdhe2048, .ffdhe3072] {
            let p = try bytes(try XCTUnwrap(Self.rfc7919Primes[group]))
            XCTAssertEqual(p.count, group.initiatorShareLength)
            XCTAssertEqual(p.count, group.responderShareLength)
            let initiator = try KeyExchangeInitiator(group: group)
            let parameters = try XCTUnwrap(initiator.ffdheParametersForTesting)
            XCTAssertEqual(parameters.p, p, "\(group): p is the RFC's")
            XCTAssertEqual(parameters.g, [2], "\(group): g = 2")
            XCTAssertEqual(initiator.share.count, group.initiatorShareLength)

            // 1 < y < p − 1 (RFC 7919 §5.1): 0, 1, p − 1, p and anything larger are refused.
            var pMinusOne = p
            pMinusOne[pMinusOne.count - 1] -= 1  // p is odd, so no borrow
            let one = [UInt8](repeating: 0, count: p.count - 1) + [1]
            let bad: [(String, [UInt8])] = [
                ("y = 0", [UInt8](repeating: 0, count: p.count)), ("y = 1", one), ("y = p - 1", pMinusOne), ("y = p", p),
                ("y = 2^n - 1", [UInt8](repeating: 0xFF, count: p.count)),
            ]
            for (name, share) in bad {
                CryptoTestSupport.assertThrows(.invalidPeerShare, "\(group) \(name)") { try initiator.complete(responderShare: share) }
                CryptoTestSupport.assertThrows(.invalidPeerShare, "\(group) \(name)") {
                    try KeyExchangeResponder.respond(group: group, initiatorShare: share)
                }
            }
            // y = 2 and y = p − 2 are in range, but 2 is a generator of the q-order subgroup and p − 2 is not in it:
            // the full public check (EVP_PKEY_public_check) accepts the first and refuses the second.
            var two = [UInt8](repeating: 0, count: p.count)
            two[two.count - 1] = 2
            let (responderShare, responderSecret) = try KeyExchangeResponder.respond(group: group, initiatorShare: two)
            XCTAssertEqual(responderShare.count, group.responderShareLength)
            XCTAssertEqual(responderSecret.count, group.secretLength)
            var pMinusTwo = p
            pMinusTwo[pMinusTwo.count - 1] -= 2
            CryptoTestSupport.assertThrows(.invalidPeerShare, "\(group) y = p - 2") {
                try KeyExchangeResponder.respond(group: group, initiatorShare: pMinusTwo)
            }
            // After all those refusals the initiator still completes with a good share.
            let (goodShare, secret) = try KeyExchangeResponder.respond(group: group, initiatorShare: initiator.share)
            XCTAssertTrue(try initiator.complete(responderShare: goodShare).constantTimeEquals(secret))
        }
    }
}
