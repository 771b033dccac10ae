// §14.4 in memory: a Get streamed from a real ServerConnection to a real ClientConnection — header, every byte in
// order, GetEnd — at the offset rules' edges (from 0, from a prefix, past the end, an empty file), across key
// rotations by volume, ended early by the server (the session goes on), and every client check of the stream
// (offset, chunk sizes, the end) refusing a server that breaks it with illegal_parameter.
import XCTest
@_spi(Fuzzing) @testable import Protocol

final class GetFlowTests: XCTestCase {
    private func header(size: UInt64, offset: UInt64) -> GetHeader {
        GetHeader(size: size, sha256: [UInt8](repeating: 7, count: 32), modified: WireTime(seconds: 1_700_000_000, nanoseconds: 1),
                  executable: true, offset: offset)
    }

    /// Sends `content[offset...]` in chunks of `chunk` bytes; returns the bytes the client got and its events' kinds.
    private func stream(_ pair: inout SessionPair, _ content: [UInt8], offset: Int, chunk: Int = Limits.maxDataChunk) -> [UInt8] {
        var got: [UInt8] = []
        var start = offset
        while start < content.count {
            XCTAssertTrue(pair.server.canSendGetData || pair.server.getRemaining == nil)
            if !pair.server.canSendGetData {  // a rotation holds the keys back: its reply must come first
                pair.pump()
                continue
            }
            let end = min(start + chunk, content.count)
            pair.now.monotonicNanoseconds += 100_000_000  // own-policy rotations are paced (§7.1): time moves on
            content[start..<end].withUnsafeBytes { pair.server.sendGetData($0, now: pair.now) }
            start = end
            pair.pump()
            for case .getData(let bytes) in pair.clientEvents { got += bytes }
            pair.clientEvents.removeAll { if case .getData = $0 { true } else { false } }
        }
        return got
    }

    func testAFileStreamsWholeFromAnOffsetAndTheSessionGoesOn() throws {
        let content = (0..<300_001).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for offset in [0, 1, 65_536, 300_000] {
            var pair = try SessionPair.established()
            pair.client.sendStoreRequest(.get(GetRequest(path: "f", offset: UInt64(offset))), now: pair.now)
            pair.pump()
            XCTAssertEqual(pair.serverEvents.last, .storeRequested(.get(GetRequest(path: "f", offset: UInt64(offset)))))
            pair.server.startGet(header(size: UInt64(content.count), offset: UInt64(offset)), now: pair.now)
            pair.pump()
            XCTAssertEqual(pair.clientEvents.first, .getStarted(header(size: UInt64(content.count), offset: UInt64(offset))))
            pair.clientEvents.removeFirst()
            let got = stream(&pair, content, offset: offset, chunk: 50_000)
            XCTAssertEqual(got, Array(content[offset...]), "offset \(offset)")
            XCTAssertEqual(pair.clientEvents.last, .getFinished, "offset \(offset)")
            XCTAssertNil(pair.server.getRemaining)
            XCTAssertTrue(pair.client.canSendStoreRequest, "idle again")
            XCTAssertNil(pair.clientError)
            XCTAssertNil(pair.serverError)
        }
    }

    func testAnOffsetPastTheEndStartsAtZeroAndAnEmptyFileEndsAtOnce() throws {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(.get(GetRequest(path: "f", offset: 500)), now: pair.now)
        pair.pump()
        pair.server.startGet(header(size: 10, offset: 0), now: pair.now)
        pair.pump()
        XCTAssertEqual(stream(&pair, [UInt8](repeating: 1, count: 10), offset: 0), [UInt8](repeating: 1, count: 10))
        XCTAssertEqual(pair.clientEvents.last, .getFinished)

        pair.clientEvents = []
        pair.client.sendStoreRequest(.get(GetRequest(path: "empty")), now: pair.now)
        pair.pump()
        pair.server.startGet(header(size: 0, offset: 0), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents, [.getStarted(header(size: 0, offset: 0)), .getFinished])
        XCTAssertNil(pair.server.getRemaining)
    }

    func testTheStreamCrossesKeyRotationsByVolume() throws {
        var client = try Fixtures.clientConfiguration()
        var server = try Fixtures.serverConfiguration()
        server.rotation = RotationPolicy(afterBytes: 200_000, afterSeconds: nil)
        client.rotation = server.rotation
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        pair.clientEvents = []
        let content = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 11)) }
        pair.client.sendStoreRequest(.get(GetRequest(path: "big")), now: pair.now)
        pair.pump()
        pair.server.startGet(header(size: UInt64(content.count), offset: 0), now: pair.now)
        pair.pump()
        XCTAssertEqual(stream(&pair, content, offset: 0), content)
        XCTAssertGreaterThanOrEqual(pair.server.rotations.sent, 5, "the server's keys did not rotate")
        XCTAssertEqual(pair.clientEvents.last, .getFinished)
    }

    func testTheServerMayEndTheStreamEarlyAndTheSessionGoesOn() throws {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(.get(GetRequest(path: "f")), now: pair.now)
        pair.pump()
        pair.server.startGet(header(size: 1000, offset: 0), now: pair.now)
        [UInt8](repeating: 3, count: 400).withUnsafeBytes { pair.server.sendGetData($0, now: pair.now) }
        let failure = UploadFailure(.storageFailure, "read error")
        pair.server.failGet(failure, now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .storeAnswered(.failed(failure)))
        XCTAssertTrue(pair.client.canSendStoreRequest)
        XCTAssertNil(pair.clientError)
    }

    /// The client in `receivingFile` (or awaiting the header) gets `type` with `body` sealed by the server.
    private func clientError(afterHeader: GetHeader?, getOffset: UInt64 = 0, inject type: MessageType, _ body: [UInt8])
        throws -> ProtocolError? {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(.get(GetRequest(path: "f", offset: getOffset)), now: pair.now)
        pair.pump()
        if let afterHeader {
            pair.server.startGet(afterHeader, now: pair.now)
            pair.pump()
        }
        XCTAssertTrue(pair.server.sealForFuzzing(typeByte: type.rawValue, body: body))
        pair.pump()
        return pair.clientError
    }

    func testTheClientRefusesAStreamThatBreaksTheRules() throws {
        var wrongOffset = WireEncoder()
        header(size: 100, offset: 5).encode(into: &wrongOffset)
        XCTAssertEqual(try clientError(afterHeader: nil, getOffset: 10, inject: .getHeader, wrongOffset.bytes)?.alert,
                       .illegalParameter, "a header at another offset than the Get's")
        var pastEnd = WireEncoder()
        header(size: 100, offset: 10).encode(into: &pastEnd)
        XCTAssertEqual(try clientError(afterHeader: nil, getOffset: 200, inject: .getHeader, pastEnd.bytes)?.alert,
                       .illegalParameter, "a Get past the end is answered from 0")
        let started = header(size: 100, offset: 0)
        XCTAssertEqual(try clientError(afterHeader: started, inject: .getData, [])?.alert, .illegalParameter, "empty GetData")
        XCTAssertEqual(try clientError(afterHeader: started, inject: .getData, [UInt8](repeating: 0, count: 101))?.alert,
                       .illegalParameter, "GetData past the end")
        XCTAssertEqual(try clientError(afterHeader: started, inject: .getEnd, [])?.alert, .illegalParameter, "GetEnd too early")
        XCTAssertEqual(try clientError(afterHeader: started, inject: .statResult, [1])?.alert, .unexpectedMessage)
        XCTAssertEqual(try clientError(afterHeader: nil, inject: .getData, [1])?.alert, .unexpectedMessage, "data before the header")
        var flags = WireEncoder()
        header(size: 1, offset: 0).encode(into: &flags)
        flags.bytes[32 + 8 + 12] = 0x80
        XCTAssertEqual(try clientError(afterHeader: nil, inject: .getHeader, flags.bytes)?.alert, .decodeError, "unknown flags")
    }

    func testTheServerRefusesAGetOfNoFile() {
        for path in ["", "/a", "a/"] {
            var encoder = WireEncoder()
            encoder.text("")
            encoder.text(path)
            encoder.u64(0)
            XCTAssertThrowsError(try GetRequest.decode(encoder.bytes[...]), path) {
                XCTAssertEqual(($0 as? ProtocolError)?.alert, .illegalParameter, path)
            }
        }
    }
}
