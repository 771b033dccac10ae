// AES-256-CBC + HMAC-SHA-256 (encrypt-then-MAC): vectors of our own, computed independently with the openssl command
// line, and tamper tests: every way of damaging a record gives the same `.authenticationFailure`.
import XCTest
@testable import Protocol

final class CBCHMACKnownAnswerTests: XCTestCase {
    private func bytes(_ hex: String) throws -> [UInt8] { try CryptoTestSupport.bytes(hex) }

    // MAC key 00…1f ‖ encryption key 20…3f, IV 40…4f, prefix = sequence 7 ‖ header 17 03 03 00 40.
    private let macKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    private let encKeyHex = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    private let ivHex = "404142434445464748494a4b4c4d4e4f"
    private let prefixHex = "00000000000000071703030040"

    private func ciphers() throws -> (sealer: CBCHMACCipher, opener: CBCHMACCipher) {
        let key = SecretBytes(copying: try bytes(macKeyHex + encKeyHex))
        return (try CBCHMACCipher(key: key, encrypting: true), try CBCHMACCipher(key: key, encrypting: false))
    }

    /// Expected values computed with OpenSSL 3.0 on the command line, not with this code:
    ///   printf '%s' "$PT" > pt.bin
    ///   openssl enc -aes-256-cbc -K 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f \
    ///       -iv 404142434445464748494a4b4c4d4e4f -in pt.bin -out ct.bin          # PKCS#7 padding is enc's default
    ///   printf '%s' "00000000000000071703030040404142434445464748494a4b4c4d4e4f$(xxd -p ct.bin | tr -d '\n')" \
    ///       | xxd -r -p > macin.bin                                              # prefix ‖ IV ‖ ciphertext
    ///   openssl dgst -sha256 -mac HMAC \
    ///       -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f -r macin.bin
    /// (and cross-checked with Python's `cryptography` + `hmac`).
    func testPinnedVectors() throws {
        let vectors: [(plaintext: [UInt8], ciphertext: String, tag: String)] = [
            // PT = "Ferry encrypt-then-MAC test vector" (34 bytes → 48 with padding)
            (Array("Ferry encrypt-then-MAC test vector".utf8),
             "c2819204ce54412962cbdbc68720a145074aac276fdf2ff83e7cbc8824d182861b1e0180be23e2be9dead030aa494167",
             "971473fe5d31177fd19ba2adfacd39b23c368fb57368f856dd5ad7c99ef7275a"),
            // PT = "" (a full block of padding)
            ([], "44ab3ad852f55729908bb4f377f639fb", "09c5290a2eee44bd9d2520a59f3fb59e28b8bdf7e4962f9b3754c4583c842b73"),
        ]
        let (sealer, opener) = try ciphers()
        let prefix = try bytes(prefixHex), iv = try bytes(ivHex)
        for vector in vectors {
            let expected = try bytes(ivHex + vector.ciphertext + vector.tag)
            XCTAssertEqual(CBCHMACCipher.sealedLength(plaintextLength: vector.plaintext.count), expected.count)
            let sealed = try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: vector.plaintext, iv: iv)
            XCTAssertEqual(hex(sealed), hex(expected))
            XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: expected), vector.plaintext)
        }
    }

    /// A valid record, and the error a bad MAC gets, to compare every other failure with.
    private func sample() throws -> (opener: CBCHMACCipher, prefix: [UInt8], sealed: [UInt8]) {
        let (sealer, opener) = try ciphers()
        let prefix = try bytes(prefixHex)
        let sealed = try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: Array("Ferry encrypt-then-MAC test vector".utf8))
        return (opener, prefix, sealed)
    }

    private func assertRejected(_ opener: CBCHMACCipher, prefix: [UInt8], sealed: [UInt8], _ what: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try CryptoTestSupport.open(opener, prefix: prefix, sealed: sealed)
            XCTFail("\(what) was accepted", file: file, line: line)
        } catch let error as CryptoError {
            XCTAssertEqual(error.kind, .authenticationFailure, what, file: file, line: line)
            // Not even the detail differs between failure causes (no oracle through logs either).
            XCTAssertEqual(error.detail, "CBC-HMAC record rejected", what, file: file, line: line)
        } catch {
            XCTFail("\(what): \(error)", file: file, line: line)
        }
    }

    func testEveryFlippedByteIsRejected() throws {
        let (opener, prefix, sealed) = try sample()
        XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: sealed).count, 34)
        for index in sealed.indices {
            for bit in [0x01, 0x80] as [UInt8] {
                var damaged = sealed
                damaged[index] ^= bit
                let part = index < 16 ? "IV" : index < sealed.count - 32 ? "ciphertext" : "tag"
                assertRejected(opener, prefix: prefix, sealed: damaged, "\(part) byte \(index) ^ \(bit)")
            }
        }
        // The opener is still usable after all those failures.
        XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: sealed).count, 34)
    }

    func testWrongPrefixIsRejected() throws {
        let (opener, prefix, sealed) = try sample()
        var otherSequence = prefix
        otherSequence[7] ^= 1
        assertRejected(opener, prefix: otherSequence, sealed: sealed, "other sequence number")
        assertRejected(opener, prefix: Array(prefix.dropLast()), sealed: sealed, "shorter prefix")
        assertRejected(opener, prefix: [], sealed: sealed, "empty prefix")
        assertRejected(opener, prefix: prefix + [0], sealed: sealed, "longer prefix")
    }

    func testTruncatedAndMalformedLengthsAreRejected() throws {
        let (opener, prefix, sealed) = try sample()
        for cut in [1, 15, 16, 31, 32, 33, 48] {
            assertRejected(opener, prefix: prefix, sealed: Array(sealed.dropLast(cut)), "\(cut) bytes cut from the end")
            assertRejected(opener, prefix: prefix, sealed: Array(sealed.dropFirst(cut)), "\(cut) bytes cut from the start")
        }
        assertRejected(opener, prefix: prefix, sealed: sealed + [0], "one byte appended")
        assertRejected(opener, prefix: prefix, sealed: [], "empty")
        assertRejected(opener, prefix: prefix, sealed: [UInt8](repeating: 0, count: 63), "one byte under the minimum")
        assertRejected(opener, prefix: prefix, sealed: [UInt8](repeating: 0, count: 64), "minimum length, zero MAC")
        // Dropping a whole ciphertext block keeps the length valid; the MAC no longer matches.
        var shorter = sealed
        shorter.removeSubrange(16..<32)
        assertRejected(opener, prefix: prefix, sealed: shorter, "first ciphertext block removed")
    }

    /// A record whose MAC is valid but whose padding is not (only a peer holding the MAC key can make one) gets the
    /// same error as a bad MAC. Built by dropping the final padding block of a block-aligned plaintext, so the last
    /// block decrypts to 'A' × 16, and MACing the result with our HMAC wrapper.
    func testBadPaddingUnderAValidMACGetsTheSameError() throws {
        let (sealer, opener) = try ciphers()
        let prefix = try bytes(prefixHex), iv = try bytes(ivHex)
        let aligned = try CryptoTestSupport.seal(sealer, prefix: prefix, plaintext: [UInt8](repeating: 0x41, count: 32), iv: iv)
        XCTAssertEqual(aligned.count, 16 + 48 + 32)
        let ciphertext = Array(aligned[16..<48])  // two blocks of 'A', without the padding block
        let tag = HMAC.authenticationCode(.sha256, key: SecretBytes(copying: try bytes(macKeyHex)), message: prefix + iv + ciphertext)
        assertRejected(opener, prefix: prefix, sealed: iv + ciphertext + tag, "bad padding under a valid MAC")
        // And the opener still works afterwards.
        XCTAssertEqual(try CryptoTestSupport.open(opener, prefix: prefix, sealed: aligned), [UInt8](repeating: 0x41, count: 32))
    }
}
