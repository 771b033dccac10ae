// Encrypted private keys (EncryptedPrivateKey.swift, Passphrase.swift), checked against the `openssl` command line
// both ways for every key type Ferry signs with: ours opened by `openssl pkey -passin`, and openssl's (PKCS#8 PBES2
// with PBKDF2 or scrypt, and the traditional "Proc-Type: 4,ENCRYPTED" form) opened by us. The parameters we write are
// read back from the DER with `openssl asn1parse`.
import Foundation
import TestSupport
import XCTest
@testable import Protocol

final class EncryptedKeyTests: XCTestCase {
    private static let algorithms: [KeyAlgorithm] = [.ed25519, .ecdsaP256, .ecdsaP384, .rsa(bits: 2048), .rsa(bits: 3072)]

    private static func secret(_ text: String) -> SecretBytes { SecretBytes(copying: Array(text.utf8)) }

    private static func text(_ secret: SecretBytes) -> String { secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// Ours → openssl: every key type, encrypted under a generated passphrase, opens with `openssl pkey -passin file:`
    /// and is the same key (its unencrypted PKCS#8 is byte for byte ours).
    func testOpenSSLOpensOurEncryptedKeys() throws {
        let directory = try makeTemporaryDirectory("enc-keys").url
        for algorithm in Self.algorithms {
            let key = try SigningKey.generate(algorithm)
            let passphrase = Passphrase.generate()
            let encrypted = try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase)
            XCTAssertTrue(Self.text(encrypted).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), "\(algorithm)")
            let keyFile = directory.appendingPathComponent("key.pem")
            let passphraseFile = directory.appendingPathComponent("key.pem.passphrase")
            try Data(encrypted.bytes).write(to: keyFile)
            try Data(Passphrase.fileContents(passphrase).bytes).write(to: passphraseFile)
            let opened = try openssl(["pkey", "-in", keyFile.path, "-passin", "file:" + passphraseFile.path], in: directory)
            XCTAssertEqual([UInt8](opened), try key.pkcs8PEM().bytes, "\(algorithm): openssl opened another key")
            // And back through our reader: the same key again.
            let loaded = try SigningKey(pem: encrypted, passphrase: passphrase)
            XCTAssertEqual(loaded.algorithm, algorithm)
            XCTAssertEqual(try loaded.pkcs8PEM().bytes, try key.pkcs8PEM().bytes, "\(algorithm)")
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    /// What we write: PBES2 with PBKDF2-HMAC-SHA256 (the iteration count of the work asked for, a 16-byte salt) and
    /// AES-256-CBC with a 16-byte IV, as the header of EncryptedPrivateKey.swift states.
    func testTheParametersAreTheDocumentedOnes() throws {
        let directory = try makeTemporaryDirectory("enc-params").url
        let key = try SigningKey.generate(.ed25519)
        for (work, iterations) in [(KeyEncryptionWork.generatedPassphrase, "2710"), (.chosenPassphrase, "0927C0")] {
            let file = directory.appendingPathComponent("key.pem")
            try Data(try key.pkcs8PEM(passphrase: Self.secret("correct horse"), work: work).bytes).write(to: file)
            let dump = String(decoding: try openssl(["asn1parse", "-in", file.path], in: directory), as: UTF8.self)
            for fragment in [":PBES2", ":PBKDF2", ":hmacWithSHA256", ":aes-256-cbc", "INTEGER           :\(iterations)"] {
                XCTAssertTrue(dump.contains(fragment), "\(work): no \(fragment) in\n\(dump)")
            }
            // The salt, then the IV: two 16-byte OCTET STRINGs (32 hex digits each) in the algorithm identifiers.
            let octets = dump.split(separator: "\n").filter { $0.contains("prim: OCTET STRING") && $0.contains("l=  16") }
            XCTAssertEqual(octets.count, 2, "\(work): salt and IV of 16 bytes each\n\(dump)")
            XCTAssertEqual(work.iterations, Int32(iterations, radix: 16))
        }
        XCTAssertEqual(KeyEncryptionWork.chosenPassphrase.iterations, 600_000, "OWASP's PBKDF2-HMAC-SHA256 figure")
    }

    /// openssl → ours: keys encrypted by `openssl genpkey -aes-256-cbc` (OpenSSL 3: PBES2, PBKDF2, 2048 iterations),
    /// by `openssl pkcs8 -topk8 -scrypt`, and the traditional PEM encryption of `openssl ec -aes256` / `rsa -aes256`.
    func testWeOpenKeysOpenSSLEncrypted() throws {
        let directory = try makeTemporaryDirectory("openssl-enc").url
        let passphrase = "open sesame, é"
        let passFile = directory.appendingPathComponent("pass").path
        try Data((passphrase + "\n").utf8).write(to: URL(fileURLWithPath: passFile))
        let genpkey: [(KeyAlgorithm, [String])] = [
            (.ed25519, ["-algorithm", "ED25519"]),
            (.ecdsaP256, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            (.ecdsaP384, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            (.rsa(bits: 2048), ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        ]
        for (algorithm, options) in genpkey {
            let plain = directory.appendingPathComponent("plain.pem").path
            try openssl(["genpkey"] + options + ["-out", plain], in: directory)
            let plainPEM = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain)))
            let variants: [(String, [String])] = [
                ("genpkey -aes-256-cbc", ["pkey", "-in", plain, "-aes-256-cbc", "-passout", "file:" + passFile]),
                ("pkcs8 -scrypt", ["pkcs8", "-topk8", "-in", plain, "-scrypt", "-passout", "file:" + passFile]),
                ("pkcs8 -v2 aes-256-cbc -iter 100000", ["pkcs8", "-topk8", "-in", plain, "-v2", "aes-256-cbc", "-iter",
                                                         "100000", "-passout", "file:" + passFile]),
            ] + (algorithm == .ed25519 ? [] : [  // the traditional form has no Ed25519 encoding
                ("traditional", [algorithm == .rsa(bits: 2048) ? "rsa" : "ec", "-in", plain, "-aes256",
                                 "-passout", "file:" + passFile]),
            ])
            for (label, arguments) in variants {
                let encrypted = [UInt8](try openssl(arguments, in: directory))
                XCTAssertTrue(String(decoding: encrypted, as: UTF8.self).contains("ENCRYPTED"), "\(algorithm) \(label)")
                let key = try SigningKey(pem: encrypted, passphrase: Self.secret(passphrase))
                XCTAssertEqual(key.algorithm, algorithm, label)
                XCTAssertEqual(try key.pkcs8PEM().bytes, try SigningKey(pem: plainPEM).pkcs8PEM().bytes, "\(algorithm) \(label)")
                CryptoTestSupport.assertThrows(.passphraseRequired, "\(algorithm) \(label)") { try SigningKey(pem: encrypted) }
                CryptoTestSupport.assertThrows(.wrongPassphrase, "\(algorithm) \(label)") {
                    try SigningKey(pem: encrypted, passphrase: Self.secret("open sesame, e"))
                }
            }
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    /// No passphrase for an encrypted key, a wrong one, one for a key that needs none, one too long, garbage.
    func testOutcomesAreToldApart() throws {
        let key = try SigningKey.generate(.ecdsaP256)
        let encrypted = try key.pkcs8PEM(passphrase: Self.secret("right passphrase"), work: .generatedPassphrase)
        CryptoTestSupport.assertThrows(.passphraseRequired) { try SigningKey(pem: encrypted, passphrase: nil) }
        CryptoTestSupport.assertThrows(.wrongPassphrase) { try SigningKey(pem: encrypted, passphrase: Self.secret("wrong")) }
        CryptoTestSupport.assertThrows(.wrongPassphrase) {
            try SigningKey(pem: encrypted, passphrase: SecretBytes(copying: [UInt8](repeating: 0x61, count: 5000)))
        }
        // The right one, after wrong ones: nothing was left behind in OpenSSL's error queue or the key.
        XCTAssertEqual(try SigningKey(pem: encrypted, passphrase: Self.secret("right passphrase")).algorithm, .ecdsaP256)
        // An unencrypted key with a passphrase: read, the passphrase unused.
        XCTAssertEqual(try SigningKey(pem: try key.pkcs8PEM(), passphrase: Self.secret("unused")).algorithm, .ecdsaP256)
        // Not a key at all: still malformed input, not a passphrase problem.
        CryptoTestSupport.assertThrows(.malformedInput) { try SigningKey(pem: Array("not a key".utf8), passphrase: Self.secret("x")) }
        // The longest passphrase OpenSSL takes works.
        let longest = SecretBytes(copying: [UInt8](repeating: 0x7A, count: Passphrase.maximumLength))
        let sealed = try key.pkcs8PEM(passphrase: longest, work: .generatedPassphrase)
        XCTAssertEqual(try SigningKey(pem: sealed, passphrase: longest).algorithm, .ecdsaP256)
        CryptoTestSupport.assertThrows(.unsupportedKey) { try key.pkcs8PEM(passphrase: Self.secret(""), work: .generatedPassphrase) }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    /// Two encryptions of one key under one passphrase differ (fresh salt and IV) and both open.
    func testSaltAndIVAreFresh() throws {
        let key = try SigningKey.generate(.ed25519)
        let passphrase = Self.secret("same passphrase")
        let first = try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase)
        let second = try key.pkcs8PEM(passphrase: passphrase, work: .generatedPassphrase)
        XCTAssertNotEqual(first.bytes, second.bytes)
        for sealed in [first, second] { XCTAssertNoThrow(try SigningKey(pem: sealed, passphrase: passphrase)) }
    }

    // MARK: Passphrase files and generated passphrases

    func testPassphraseFileRules() throws {
        func parse(_ text: [UInt8]) -> Result<String, Passphrase.FileProblem> {
            do throws(Passphrase.FileProblem) {
                let secret = try text.withCryptoBytes { (bytes) throws(Passphrase.FileProblem) in try Passphrase.fromFile(bytes) }
                return .success(Self.text(secret))
            } catch {
                return .failure(error)
            }
        }
        XCTAssertEqual(parse(Array("secret".utf8)), .success("secret"))
        XCTAssertEqual(parse(Array("secret\n".utf8)), .success("secret"), "one trailing newline is not part of it")
        XCTAssertEqual(parse(Array("secret\r\n".utf8)), .success("secret"), "nor a CRLF")
        XCTAssertEqual(parse(Array(" two words \n".utf8)), .success(" two words "), "spaces are kept")
        XCTAssertEqual(parse(Array("secret\n\n".utf8)), .failure(.severalLines))
        XCTAssertEqual(parse(Array("first\nsecond\n".utf8)), .failure(.severalLines))
        XCTAssertEqual(parse(Array("".utf8)), .failure(.empty))
        XCTAssertEqual(parse(Array("\n".utf8)), .failure(.empty))
        XCTAssertEqual(parse([0x61, 0x00, 0x62]), .failure(.nulByte))
        XCTAssertEqual(parse([UInt8](repeating: 0x61, count: Passphrase.maximumLength)).map(\.count), .success(1024))
        XCTAssertEqual(parse([UInt8](repeating: 0x61, count: Passphrase.maximumLength + 1)), .failure(.tooLong))
        XCTAssertTrue(Passphrase.FileProblem.severalLines.description.contains("-passin"))
    }

    func testGeneratedPassphrasesAreLongRandomAndBase64URL() throws {
        let samples = (0..<64).map { _ in Self.text(Passphrase.generate()) }
        XCTAssertEqual(Set(samples).count, samples.count)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for sample in samples {
            XCTAssertEqual(sample.count, 43, "32 bytes in base64url without padding")
            XCTAssertTrue(sample.allSatisfy(alphabet.contains), sample)
        }
        // The encoding is base64url: Foundation's base64 of the same bits, with - and _ and no padding.
        let decoded = samples.map { sample -> Data? in
            Data(base64Encoded: sample.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")
        }
        XCTAssertTrue(decoded.allSatisfy { $0?.count == Passphrase.generatedEntropyBytes })
        // The file form ends in one newline and reads back.
        let passphrase = Passphrase.generate()
        let file = Passphrase.fileContents(passphrase)
        XCTAssertEqual(file.bytes, passphrase.bytes + [0x0A])
        XCTAssertEqual(try file.withUnsafeBytes { (bytes) throws(Passphrase.FileProblem) in try Passphrase.fromFile(bytes) }.bytes,
                       passphrase.bytes)
    }
}
