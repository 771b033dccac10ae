// Data sealed straight into the caller's buffer (ClientConnection.sendData(_:into:now:), the client's zero-copy path):
// the AEAD's two-part seal gives exactly the bytes of the contiguous one, and a stream of such records, interleaved
// with the RotateInit and RotateCommit messages of frequent rotations, reaches the server intact for every suite.
import XCTest
@testable import Protocol

final class SealIntoBufferTests: XCTestCase {
    /// seal(first, second) == seal(first ‖ second), tag included, at every split, for every AEAD.
    func testTwoPartSealEqualsTheContiguousSeal() throws {
        for algorithm in [AEADCipher.Algorithm.aes128GCM, .aes256GCM, .chacha20Poly1305] {
            let sealer = try AEADCipher(algorithm, key: SecretBytes(copying: randomBytes(algorithm.keyLength)), encrypting: true)
            for length in [0, 1, 2, 16, 17, 4097, 65537] {
                let nonce = randomBytes(12), aad = randomBytes(5), plaintext = randomBytes(length)
                let expected = try CryptoTestSupport.seal(sealer, nonce: nonce, aad: aad, plaintext: plaintext)
                for split in Set([0, min(1, length), length / 2, length]) {
                    var output = [UInt8](repeating: 0, count: length + AEADCipher.tagLength)
                    try nonce.withUnsafeBytes { n in
                        try aad.withUnsafeBytes { a in
                            try plaintext.withUnsafeBytes { p in
                                try output.withUnsafeMutableBytes { o in
                                    try sealer.seal(nonce: n, aad: a, plaintext: UnsafeRawBufferPointer(rebasing: p[..<split]),
                                                    UnsafeRawBufferPointer(rebasing: p[split...]), output: o)
                                }
                            }
                        }
                    }
                    XCTAssertEqual(output, expected, "\(algorithm), \(length) bytes split at \(split)")
                }
            }
        }
    }

    /// A 1 MiB upload whose Data records are all sealed into separate buffers, with rotation every 8 KiB: the
    /// rotation messages the protocol queues go out between them (hasPendingOutput), and the server opens everything.
    func testDataSealedIntoBuffersArrivesIntactAcrossRotations() throws {
        for suite in [CipherSuite.aes256GCM, .aes128GCM, .chacha20Poly1305, .aes256CBCHMACSHA256] {
            var client = try Fixtures.clientConfiguration()
            client.preferences.cipherSuites = [suite]
            client.rotation = RotationPolicy(afterBytes: 8 * 1024)
            var pair = try SessionPair(client: client, server: try Fixtures.serverConfiguration())
            pair.pump()
            let total = (1 << 20) + 333
            let data = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ $0 >> 9) }
            pair.acceptAndCommit(path: "f", size: total)
            pair.client.startUpload(UploadRequest(path: "f", size: UInt64(total)), now: pair.now)
            pair.pump()
            var offset = 0, sealedInPlace = 0
            while offset < total {
                pair.waitUntilClientCanSend()
                var wire: [UInt8] = []
                // Three records per "socket write", as the client batches them; queued output goes first.
                for _ in 0..<3 where offset < total && pair.client.canSendData {
                    if pair.client.hasPendingOutput { wire += pair.client.takeOutput() }
                    let end = min(offset + 5000, total)
                    pair.now.monotonicNanoseconds += 100_000_000  // slower than the rotation pacing (PROTOCOL.md §7.5)
                    var buffer = [UInt8](repeating: 0, count: pair.client.sealedDataLength(end - offset))
                    let written = data[offset..<end].withUnsafeBytes { chunk in
                        buffer.withUnsafeMutableBytes { pair.client.sendData(chunk, into: $0, now: pair.now) }
                    }
                    XCTAssertEqual(written, buffer.count, suite.name)
                    wire += buffer
                    sealedInPlace += 1
                    offset = end
                }
                wire += pair.client.takeOutput()
                pair.server.receive(wire)
                pair.drainServer()
                pair.pump()
            }
            pair.finishAndCheckDelivery(of: data, suite.name)
            XCTAssertGreaterThan(sealedInPlace, 200, suite.name)
            XCTAssertGreaterThanOrEqual(pair.client.rotations.sent, 60, "\(suite.name): about one per 8 KiB")
            XCTAssertEqual(pair.client.rotations.sent, pair.server.rotations.received, suite.name)
            XCTAssertTrue(pair.clientEvents.contains { if case .uploadCommitted = $0 { true } else { false } }, suite.name)
        }
    }
}
