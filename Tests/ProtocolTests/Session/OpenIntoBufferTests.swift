// Data opened straight into the caller's buffer (ServerConnection.nextEvent(now:dataInto:), the daemon's data path):
// the AEAD's two-part open gives the contiguous plaintext and zeroes both parts on any failure; every suite delivers
// the exact bytes into the caller's buffer, falls back to the in-place path when the caller has no room, and closes
// on a tampered record without counting its bytes.
import XCTest
@testable import Protocol

final class OpenIntoBufferTests: XCTestCase {
    /// open(first, rest) == open(whole), and a flipped bit anywhere zeroes both outputs and throws.
    func testTwoPartOpenEqualsTheContiguousOpenAndZeroesOnFailure() throws {
        for algorithm in [AEADCipher.Algorithm.aes128GCM, .aes256GCM, .chacha20Poly1305] {
            let key = SecretBytes(copying: randomBytes(algorithm.keyLength))
            let sealer = try AEADCipher(algorithm, key: key, encrypting: true)
            let opener = try AEADCipher(algorithm, key: key, encrypting: false)
            for length in [1, 2, 17, 4097, 65537] {
                let nonce = randomBytes(12), aad = randomBytes(5), plaintext = randomBytes(length)
                let sealed = try CryptoTestSupport.seal(sealer, nonce: nonce, aad: aad, plaintext: plaintext)
                XCTAssertEqual(try openInTwo(opener, nonce: nonce, aad: aad, sealed: sealed), plaintext, "\(algorithm) \(length)")
                for position in [0, length / 2, sealed.count - 1] {
                    var tampered = sealed
                    tampered[position] ^= 0x04
                    XCTAssertThrowsError(try openInTwo(opener, nonce: nonce, aad: aad, sealed: tampered),
                                         "\(algorithm) \(length), bit flipped at \(position)")
                }
            }
        }
    }

    /// Opens `sealed` with its first byte into one buffer and the rest into another (pre-filled with 0xAA); on
    /// failure, checks both were zeroed.
    private func openInTwo(_ cipher: AEADCipher, nonce: [UInt8], aad: [UInt8], sealed: [UInt8]) throws -> [UInt8] {
        var first: [UInt8] = [0xAA]
        var rest = [UInt8](repeating: 0xAA, count: sealed.count - AEADCipher.tagLength - 1)
        var sawFirst: UInt8?
        do {
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try sealed.withUnsafeBytes { s in
                        try first.withUnsafeMutableBytes { f in
                            try rest.withUnsafeMutableBytes { r in
                                try cipher.open(nonce: n, aad: a, ciphertextAndTag: s, first: f) { decrypted in
                                    sawFirst = decrypted[0]
                                    return r
                                }
                            }
                        }
                    }
                }
            }
        } catch {
            XCTAssertEqual(first, [0], "first part not zeroed")
            XCTAssertTrue(rest.allSatisfy { $0 == 0 }, "second part not zeroed")
            throw error
        }
        XCTAssertEqual(sawFirst, first[0], "rest saw the first part")
        return first + rest
    }

    /// Every suite: a 600 KiB upload opened into the caller's buffer, every other chunk refused room (in-place path):
    /// the bytes come out exact and in order, counted once each.
    func testEverySuiteDeliversDataIntoTheCallersBuffer() throws {
        for suite in CipherSuite.allCases {
            var pair = try establishedPair(suite: suite, size: 600 * 1024 + 7)
            let data = (0..<(600 * 1024 + 7)).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ $0 >> 13) }
            var delivered: [UInt8] = [], moved = 0, inline = 0, offerRoom = true
            var room = [UInt8](repeating: 0, count: Limits.maxDataChunk)
            for start in stride(from: 0, to: data.count, by: 10_000) {
                data[start..<min(start + 10_000, data.count)].withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
                pair.server.receive(pair.client.takeOutput())
                try room.withUnsafeMutableBytes { buffer in
                    let dataInto: (Int) -> UnsafeMutableRawBufferPointer? = { length in
                        offerRoom ? UnsafeMutableRawBufferPointer(rebasing: buffer[..<length]) : nil
                    }
                    while let event = try pair.server.nextEvent(now: pair.now, dataInto: dataInto) {
                        switch event {
                        case .uploadDataWritten(let length):
                            delivered += buffer[..<length]
                            moved += 1
                        case .uploadData(let chunk):
                            delivered += chunk
                            inline += 1
                        default:
                            XCTFail("\(suite.name): unexpected \(event)")
                        }
                    }
                }
                offerRoom.toggle()
            }
            XCTAssertTrue(delivered == data, "\(suite.name): bytes delivered exactly")
            XCTAssertGreaterThan(moved, 25, suite.name)
            XCTAssertGreaterThan(inline, 25, suite.name)
        }
    }

    /// A flipped bit in a Data record opened into the caller's buffer: the session closes with bad_record_mac, no
    /// event counts the chunk, and the room holds zeros, not unauthenticated plaintext.
    func testATamperedRecordIsNeitherCountedNorLeftInTheBuffer() throws {
        for suite in CipherSuite.allCases {
            var pair = try establishedPair(suite: suite, size: 1 << 20)
            pair.client.sendData([UInt8](repeating: 0x5A, count: 3000), now: pair.now)
            var record = pair.client.takeOutput()
            record[record.count / 2] ^= 0x10
            pair.server.receive(record)
            var room = [UInt8](repeating: 0x77, count: 3000)
            var events: [ServerEvent] = []
            do {
                try room.withUnsafeMutableBytes { buffer in
                    while let event = try pair.server.nextEvent(now: pair.now, dataInto: { UnsafeMutableRawBufferPointer(rebasing: buffer[..<$0]) }) {
                        events.append(event)
                    }
                }
                XCTFail("\(suite.name): the tampered record was accepted")
            } catch {
                XCTAssertEqual((error as? ProtocolError)?.alert, .badRecordMAC, suite.name)
            }
            XCTAssertEqual(events, [], suite.name)
            XCTAssertFalse(room.contains(0x5A), "\(suite.name): unauthenticated plaintext left in the buffer")
            XCTAssertTrue(pair.server.isClosed, suite.name)
        }
    }

    private func establishedPair(suite: CipherSuite, size: Int) throws -> SessionPair {
        var pair = try SessionPair.uploading(suite: suite, size: size)
        pair.onServerEvent = nil
        return pair
    }
}
