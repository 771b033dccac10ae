// Helpers for the crypto tests: hex decoding, Wycheproof loading and counting, assertions on CryptoError kinds, array
// front ends to the ciphers. Namespaced (CryptoTestSupport, Wycheproof) so they cannot clash with other test helpers.
// (Encoding hex is Protocol's own `hex`; the openssl command line and temporary directories are in TestSupport.)
import Foundation
import XCTest
@testable import Protocol

enum CryptoTestSupport {
    struct BadHex: Error { let text: String }

    /// Bytes from hex (spaces and newlines ignored). Throws on anything else: vector files are input, not trusted code.
    static func bytes(_ hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") })
        guard digits.count % 2 == 0 else { throw BadHex(text: hex) }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { throw BadHex(text: hex) }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Asserts that `body` throws a CryptoError of `kind`.
    static func assertThrows<T>(_ kind: CryptoError.Kind, _ message: @autoclosure () -> String = "",
                                file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected \(kind), nothing thrown. \(message())", file: file, line: line)
        } catch let error as CryptoError {
            XCTAssertEqual(error.kind, kind, "\(error). \(message())", file: file, line: line)
        } catch {
            XCTFail("expected CryptoError \(kind), got \(error). \(message())", file: file, line: line)
        }
    }

    // MARK: Array front ends to the pointer-based ciphers

    static func seal(_ cipher: AEADCipher, nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + AEADCipher.tagLength)
        try nonce.withUnsafeBytes { n in
            try aad.withUnsafeBytes { a in
                try plaintext.withUnsafeBytes { p in
                    try output.withUnsafeMutableBytes { o in try cipher.seal(nonce: n, aad: a, plaintext: p, output: o) }
                }
            }
        }
        return output
    }

    /// Opens into a buffer pre-filled with 0xAA; on failure, asserts that the wrapper zeroed it before rethrowing.
    static func open(_ cipher: AEADCipher, nonce: [UInt8], aad: [UInt8], sealed: [UInt8],
                     file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        var output = [UInt8](repeating: 0xAA, count: max(sealed.count - AEADCipher.tagLength, 0))
        do {
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try sealed.withUnsafeBytes { s in
                        try output.withUnsafeMutableBytes { o in try cipher.open(nonce: n, aad: a, ciphertextAndTag: s, output: o) }
                    }
                }
            }
        } catch {
            XCTAssert(output.allSatisfy { $0 == 0 }, "output not zeroed after a failed open", file: file, line: line)
            throw error
        }
        return output
    }

    /// Opens in place: the plaintext lands at the start of the sealed buffer.
    static func openInPlace(_ cipher: AEADCipher, nonce: [UInt8], aad: [UInt8], sealed: [UInt8]) throws -> [UInt8] {
        var buffer = sealed
        let length = sealed.count - AEADCipher.tagLength
        try nonce.withUnsafeBytes { n in
            try aad.withUnsafeBytes { a in
                try buffer.withUnsafeMutableBytes { b in
                    try cipher.open(nonce: n, aad: a, ciphertextAndTag: UnsafeRawBufferPointer(b),
                                    output: UnsafeMutableRawBufferPointer(rebasing: b[..<length]))
                }
            }
        }
        return Array(buffer[..<length])
    }

    static func seal(_ cipher: CBCHMACCipher, prefix: [UInt8], plaintext: [UInt8], iv: [UInt8]? = nil) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: CBCHMACCipher.sealedLength(plaintextLength: plaintext.count))
        try prefix.withUnsafeBytes { a in
            try plaintext.withUnsafeBytes { p in
                try output.withUnsafeMutableBytes { o in
                    if let iv {
                        try cipher.seal(authenticatedPrefix: a, plaintext: p, output: o, fixedIVForTesting: iv)
                    } else {
                        try cipher.seal(authenticatedPrefix: a, plaintext: p, output: o)
                    }
                }
            }
        }
        return output
    }

    static func open(_ cipher: CBCHMACCipher, prefix: [UInt8], sealed: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0xAA, count: sealed.count)
        let length = try prefix.withUnsafeBytes { a in
            try sealed.withUnsafeBytes { s in
                try output.withUnsafeMutableBytes { o in try cipher.open(authenticatedPrefix: a, sealed: s, output: o) }
            }
        }
        return Array(output[..<length])
    }
}

/// Project Wycheproof vector files (C2SP/wycheproof testvectors_v1), copied into Tests/ProtocolTests/Vectors/wycheproof.
enum Wycheproof {
    enum Result: String, Decodable, CaseIterable {
        case valid, invalid, acceptable
    }

    struct File<Group: Decodable>: Decodable {
        let algorithm: String
        let numberOfTests: Int
        let testGroups: [Group]
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors").appendingPathComponent("wycheproof")

    static func load<Group: Decodable>(_ name: String, as _: Group.Type) throws -> File<Group> {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONDecoder().decode(File<Group>.self, from: data)
    }

    /// Counts what a test did with each vector, so that it cannot pass by skipping everything.
    struct Tally: CustomStringConvertible {
        let name: String
        let total: Int
        private(set) var exercised: [Result: Int] = [:]
        /// Vectors outside the subset Ferry's wrapper deliberately supports; the test checked the wrapper refuses them.
        private(set) var refused: [String: [Result: Int]] = [:]

        init<Group>(_ file: File<Group>, name: String) {
            self.name = name
            total = file.numberOfTests
        }

        mutating func exercise(_ result: Result) { exercised[result, default: 0] += 1 }
        mutating func refuse(_ reason: String, _ result: Result) { refused[reason, default: [:]][result, default: 0] += 1 }

        func count(_ result: Result) -> Int { exercised[result] ?? 0 }
        func refusedCount(_ result: Result) -> Int { refused.values.reduce(0) { $0 + ($1[result] ?? 0) } }

        var description: String {
            let reasons = refused.sorted { $0.key < $1.key }.map { reason, counts in
                let parts = Result.allCases.compactMap { result in counts[result].map { "\($0) \(result)" } }
                return "\(reason): \(parts.joined(separator: ", "))"
            }
            return "\(name): exercised \(count(.valid)) valid, \(count(.invalid)) invalid, \(count(.acceptable)) acceptable"
                + " of \(total); refused by design: \(reasons.isEmpty ? "none" : reasons.joined(separator: "; "))"
        }

        /// Every vector accounted for, and exactly the expected numbers exercised.
        func assertCounts(valid: Int, invalid: Int, acceptable: Int = 0, file: StaticString = #filePath, line: UInt = #line) {
            print(description)
            let accounted = Result.allCases.reduce(0) { $0 + count($1) + refusedCount($1) }
            XCTAssertEqual(accounted, total, "\(name): every vector must be exercised or refused", file: file, line: line)
            XCTAssertEqual(count(.valid), valid, "\(name) valid vectors exercised", file: file, line: line)
            XCTAssertEqual(count(.invalid), invalid, "\(name) invalid vectors exercised", file: file, line: line)
            XCTAssertEqual(count(.acceptable), acceptable, "\(name) acceptable vectors exercised", file: file, line: line)
        }
    }
}
