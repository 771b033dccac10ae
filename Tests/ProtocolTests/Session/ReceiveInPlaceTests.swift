// Reading straight into the session's receive buffer (ServerConnection.receiveSpace / didReceive, the daemon's path
// while an upload runs): records that straddle reads, reads of every size the room allows, and the buffer's
// compaction keep the stream exact, and the buffer stays at its preferred size instead of growing with the stream.
import XCTest
@testable import Protocol

final class ReceiveInPlaceTests: XCTestCase {
    func testAStreamReadInPlaceInUnevenPiecesArrivesExactly() throws {
        for suite in [CipherSuite.aes256GCM, .aes256CBCHMACSHA256] {
            var client = try Fixtures.clientConfiguration()
            client.preferences.cipherSuites = [suite]
            client.rotation = RotationPolicy(afterBytes: 1 << 20)  // a few rotations on the way
            var pair = try SessionPair(client: client, server: Fixtures.serverConfiguration())
            pair.pump()
            let total = 6 << 20
            let data = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 >> 10) }
            pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
            pair.client.startUpload(UploadRequest(path: "f", size: UInt64(total)), now: pair.now)
            pair.pump()
            pair.onServerEvent = nil

            var wire: [UInt8] = []
            var received: [UInt8] = []
            var generator = SplitMix(state: 7)
            var offset = 0, largestRoom = 0
            while offset < total || !wire.isEmpty {
                if offset < total, pair.client.canSendData {
                    let end = min(offset + Limits.maxDataChunk, total)
                    pair.now.monotonicNanoseconds += 100_000_000  // slower than the rotation pacing (PROTOCOL.md §7.5)
                    data[offset..<end].withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
                    offset = end
                    wire += pair.client.takeOutput()
                }
                // The "socket" delivers 1 byte to a whole room's worth at a time, straight into the room.
                guard let room = pair.server.receiveSpace(minimum: 70_000, preferredCapacity: 512 << 10) else {
                    return XCTFail("no room once established")
                }
                largestRoom = max(largestRoom, room.count)
                let count = min(wire.count, 1 + Int(generator.next() % UInt64(room.count)))
                wire.withUnsafeBytes { room.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
                wire.removeFirst(count)
                pair.server.didReceive(count: count)
                while let event = try pair.server.nextEvent(now: pair.now) {
                    if case .uploadData(let chunk) = event { received += chunk }
                }
                pair.client.receive(pair.server.takeOutput())  // rotation replies
                pair.drainClient()
                if offset >= total, wire.isEmpty { wire += pair.client.takeOutput() }
            }
            XCTAssertTrue(received == data, "\(suite.name): the stream arrived exactly")
            XCTAssertLessThanOrEqual(largestRoom, 512 << 10, "\(suite.name): the buffer stayed at its preferred size")
            XCTAssertGreaterThanOrEqual(pair.server.rotations.received, 4, suite.name)
        }
    }

    func testNoRoomBeforeTheHandshakeCompletes() throws {
        var server = ServerConnection(configuration: try Fixtures.serverConfiguration())
        XCTAssertNil(server.receiveSpace(minimum: 1, preferredCapacity: 4096))
    }

    func testReceiveBufferKeepsUnreadBytesAcrossCompactionAndReleasesWhenEmpty() {
        let buffer = ReceiveBuffer()
        let first = buffer.space(minimum: 100, preferredCapacity: 10_000)
        XCTAssertEqual(first.count, 10_000)
        for index in 0..<9000 { first[index] = UInt8(index % 251) }
        buffer.didWrite(9000)
        buffer.consume(8500)  // 500 unread: 8500..<9000
        let second = buffer.space(minimum: 5000)  // 1000 left behind: compacts instead of growing
        XCTAssertEqual(buffer.capacity, 10_000)
        XCTAssertEqual(second.count, 9500)
        buffer.withUnread { unread in XCTAssertEqual(Array(unread), (8500..<9000).map { UInt8($0 % 251) }) }
        _ = buffer.space(minimum: 20_000)  // grows, keeping the unread bytes
        XCTAssertGreaterThanOrEqual(buffer.capacity, 20_500)
        buffer.withUnread { unread in XCTAssertEqual(Array(unread), (8500..<9000).map { UInt8($0 % 251) }) }
        buffer.releaseIfEmpty()
        XCTAssertGreaterThan(buffer.capacity, 0, "unread bytes keep the memory")
        buffer.consume(500)
        buffer.releaseIfEmpty()
        XCTAssertEqual(buffer.capacity, 0)
    }
}
