// Sign/verify round trips with keys made by the openssl command line at test time (in a temporary directory), loaded
// through SigningKey(pem:) in PKCS#8 and in the traditional "RSA/EC PRIVATE KEY" forms; cross-checks against the
// command line in both directions; and the keys Ferry refuses (RSA-1024, P-521).
import Foundation
import TestSupport
import XCTest
@testable import Protocol

final class SignatureRoundTripTests: XCTestCase {
    private var temporary: TemporaryDirectory!
    private var directory: URL { temporary.url }

    override func setUpWithError() throws {
        temporary = try TemporaryDirectory(label: "crypto")
    }

    override func tearDownWithError() throws {
        temporary?.remove()
    }

    private func run(_ arguments: [String]) throws { try openssl(arguments, in: directory) }

    private func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.appendingPathComponent(name))) }

    private func write(_ bytes: [UInt8], _ name: String) throws { try Data(bytes).write(to: directory.appendingPathComponent(name)) }

    /// `openssl genpkey …` → name.pem (PKCS#8) and name.der (its SubjectPublicKeyInfo).
    private func generate(_ name: String, _ options: [String]) throws {
        try run(["genpkey"] + options + ["-out", "\(name).pem"])
        try run(["pkey", "-in", "\(name).pem", "-pubout", "-outform", "DER", "-out", "\(name).der"])
    }

    private func publicKey(_ name: String) throws -> PublicKey { try PublicKey(subjectPublicKeyInfo: try read("\(name).der")) }

    private struct KeySpec {
        let name: String
        let options: [String]
        let schemes: [SignatureScheme]
    }

    private let supported = [
        KeySpec(name: "ed25519", options: ["-algorithm", "ed25519"], schemes: [.ed25519]),
        KeySpec(name: "p256", options: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                schemes: [.ecdsaSecp256r1SHA256]),
        KeySpec(name: "p384", options: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
                schemes: [.ecdsaSecp384r1SHA384]),
        KeySpec(name: "rsa2048", options: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                schemes: [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512]),
    ]

    func testSignAndVerifyEverySchemeWithPKCS8Keys() throws {
        for spec in supported {
            try generate(spec.name, spec.options)
            let pem = try read("\(spec.name).pem")
            XCTAssert(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"), spec.name)
            try checkRoundTrips(try SigningKey(pem: pem), try publicKey(spec.name), spec)
        }
    }

    func testTraditionalPEMFormsLoad() throws {
        try generate("rsa2048", supported[3].options)
        try run(["rsa", "-in", "rsa2048.pem", "-traditional", "-out", "rsa2048-traditional.pem"])
        try generate("p256", supported[1].options)
        try run(["ec", "-in", "p256.pem", "-out", "p256-traditional.pem"])
        try generate("p384", supported[2].options)
        try run(["ec", "-in", "p384.pem", "-out", "p384-traditional.pem"])
        for (file, header, spec) in [("rsa2048-traditional.pem", "RSA PRIVATE KEY", supported[3]),
                                     ("p256-traditional.pem", "EC PRIVATE KEY", supported[1]),
                                     ("p384-traditional.pem", "EC PRIVATE KEY", supported[2])] {
            let pem = try read(file)
            XCTAssert(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN \(header)-----"), file)
            try checkRoundTrips(try SigningKey(pem: pem), try publicKey(spec.name), spec)
        }
    }

    private func checkRoundTrips(_ key: SigningKey, _ publicKey: PublicKey, _ spec: KeySpec) throws {
        XCTAssertEqual(key.schemes, spec.schemes, spec.name)
        XCTAssertEqual(publicKey.schemes, spec.schemes, spec.name)
        let message = Array("CertificateVerify transcript hash for \(spec.name)".utf8)
        for scheme in SignatureScheme.allCases {
            guard spec.schemes.contains(scheme) else {
                CryptoTestSupport.assertThrows(.unsupportedKey, "\(spec.name) \(scheme)") { try key.sign(message, scheme: scheme) }
                continue
            }
            let signature = try key.sign(message, scheme: scheme)
            XCTAssertTrue(publicKey.verify(signature, message: message, scheme: scheme), "\(spec.name) \(scheme)")
            XCTAssertFalse(publicKey.verify(signature, message: message + [0], scheme: scheme), "\(spec.name) \(scheme)")
            var damaged = signature
            damaged[damaged.count / 2] ^= 1
            XCTAssertFalse(publicKey.verify(damaged, message: message, scheme: scheme), "\(spec.name) \(scheme)")
            XCTAssertFalse(publicKey.verify([], message: message, scheme: scheme))
            for other in SignatureScheme.allCases where other != scheme {
                XCTAssertFalse(publicKey.verify(signature, message: message, scheme: other), "\(spec.name) \(scheme) as \(other)")
            }
        }
        // An empty message signs and verifies too.
        if let scheme = spec.schemes.first {
            XCTAssertTrue(publicKey.verify(try key.sign([], scheme: scheme), message: [], scheme: scheme))
        }
    }

    /// Our signatures verify with the openssl command line, and its signatures verify with us; an RSA-PSS signature
    /// with another salt length does not.
    func testCrossChecksWithTheCommandLine() throws {
        let message = Array("cross-check".utf8)
        try write(message, "msg.bin")
        for spec in supported { try generate(spec.name, spec.options) }
        for name in ["ed25519", "p256", "p384", "rsa2048"] {
            try run(["pkey", "-in", "\(name).pem", "-pubout", "-out", "\(name).pub.pem"])
        }

        // Ed25519 is deterministic: the command line's signature is byte-for-byte ours.
        let ed25519 = try SigningKey(pem: try read("ed25519.pem"))
        try run(["pkeyutl", "-sign", "-inkey", "ed25519.pem", "-rawin", "-in", "msg.bin", "-out", "ed.sig"])
        XCTAssertEqual(try ed25519.sign(message, scheme: .ed25519), try read("ed.sig"))

        // ECDSA: openssl dgst signs, we verify; we sign, openssl verifies.
        for (name, digest, scheme) in [("p256", "-sha256", SignatureScheme.ecdsaSecp256r1SHA256),
                                       ("p384", "-sha384", .ecdsaSecp384r1SHA384)] {
            try run(["dgst", digest, "-sign", "\(name).pem", "-out", "\(name).sig", "msg.bin"])
            XCTAssertTrue(try publicKey(name).verify(try read("\(name).sig"), message: message, scheme: scheme))
            try write(try SigningKey(pem: try read("\(name).pem")).sign(message, scheme: scheme), "\(name).ours.sig")
            try run(["dgst", digest, "-verify", "\(name).pub.pem", "-signature", "\(name).ours.sig", "msg.bin"])
        }

        // RSA-PSS, MGF1 with the same hash, salt = hash length.
        let rsa = try SigningKey(pem: try read("rsa2048.pem"))
        let rsaPublic = try publicKey("rsa2048")
        for (digest, scheme, saltLength) in [("sha256", SignatureScheme.rsaPSSSHA256, 32), ("sha384", .rsaPSSSHA384, 48),
                                             ("sha512", .rsaPSSSHA512, 64)] {
            let pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_mgf1_md:\(digest)"]
            try write(try rsa.sign(message, scheme: scheme), "rsa.ours.sig")
            try run(["dgst", "-\(digest)"] + pss + ["-sigopt", "rsa_pss_saltlen:\(saltLength)", "-verify", "rsa2048.pub.pem",
                     "-signature", "rsa.ours.sig", "msg.bin"])
            try run(["dgst", "-\(digest)", "-sign", "rsa2048.pem"] + pss + ["-sigopt", "rsa_pss_saltlen:\(saltLength)",
                     "-out", "rsa.sig", "msg.bin"])
            XCTAssertTrue(rsaPublic.verify(try read("rsa.sig"), message: message, scheme: scheme), "\(scheme)")
            // The same key and hash with a 20-byte salt (or none): a valid PSS signature, but not this scheme's.
            for otherSalt in [0, 20] {
                try run(["dgst", "-\(digest)", "-sign", "rsa2048.pem"] + pss + ["-sigopt", "rsa_pss_saltlen:\(otherSalt)",
                         "-out", "rsa.salt.sig", "msg.bin"])
                XCTAssertFalse(rsaPublic.verify(try read("rsa.salt.sig"), message: message, scheme: scheme),
                               "\(scheme) with a \(otherSalt)-byte salt")
            }
            // PKCS#1 v1.5 is not PSS.
            try run(["dgst", "-\(digest)", "-sign", "rsa2048.pem", "-out", "rsa.v15.sig", "msg.bin"])
            XCTAssertFalse(rsaPublic.verify(try read("rsa.v15.sig"), message: message, scheme: scheme))
        }
    }

    /// RSA under 2048 bits and curves other than P-256/P-384 load but support nothing.
    func testUnsupportedKeysHaveNoSchemes() throws {
        let message = Array("weak".utf8)
        try write(message, "msg.bin")
        for (name, options) in [("rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
                                ("p521", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
                                ("x25519", ["-algorithm", "X25519"])] {
            try generate(name, options)
            let key = try SigningKey(pem: try read("\(name).pem"))
            XCTAssertEqual(key.schemes, [], name)
            XCTAssertEqual(try publicKey(name).schemes, [], name)
            for scheme in SignatureScheme.allCases {
                CryptoTestSupport.assertThrows(.unsupportedKey, "\(name) \(scheme)") { try key.sign(message, scheme: scheme) }
            }
        }
        // A valid PSS-SHA256 signature by the 1024-bit key still does not verify: the key is refused, not the math.
        try run(["dgst", "-sha256", "-sign", "rsa1024.pem", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                 "-out", "weak.sig", "msg.bin"])
        XCTAssertFalse(try publicKey("rsa1024").verify(try read("weak.sig"), message: message, scheme: .rsaPSSSHA256))
    }

    func testMalformedPEMIsRefused() throws {
        try generate("p256", supported[1].options)
        try run(["pkey", "-in", "p256.pem", "-pubout", "-out", "p256.pub.pem"])
        try run(["pkcs8", "-topk8", "-in", "p256.pem", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-out", "p256.enc.pem"])
        let good = try read("p256.pem")
        let cases: [(String, [UInt8])] = [
            ("empty", []), ("garbage", Array("not a key".utf8)), ("public key", try read("p256.pub.pem")),
            ("truncated", Array(good.prefix(good.count / 2))),
            ("DER instead of PEM", try read("p256.der")),
        ]
        for (what, pem) in cases {
            CryptoTestSupport.assertThrows(.malformedInput, what) { try SigningKey(pem: pem) }
        }
        // An encrypted key is not malformed: it needs its passphrase (EncryptedKeyTests).
        CryptoTestSupport.assertThrows(.passphraseRequired, "encrypted key") { try SigningKey(pem: try self.read("p256.enc.pem")) }
        CryptoTestSupport.assertThrows(.malformedInput) { try PublicKey(subjectPublicKeyInfo: []) }
        CryptoTestSupport.assertThrows(.malformedInput) { try PublicKey(subjectPublicKeyInfo: try self.read("p256.der") + [0]) }
        CryptoTestSupport.assertThrows(.malformedInput) { try PublicKey(subjectPublicKeyInfo: Array(try self.read("p256.der").dropLast())) }
    }
}
