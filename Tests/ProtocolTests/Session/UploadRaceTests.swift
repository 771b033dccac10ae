// Crossings of messages in flight, and limits the server announced (docs/PROTOCOL.md §8.6).
import XCTest
@testable import Protocol

final class UploadRaceTests: XCTestCase {
    private func sending(size: UInt64 = 100_000) throws -> SessionPair {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "race", size: size), now: pair.now)
        pair.pump()
        pair.onServerEvent = nil
        return pair
    }

    /// The client aborts while the server fails the same upload: both messages cross. Neither side errs, the client
    /// waits for the answer to its Abort, and the next upload gets its own answer.
    func testAbortCrossingAServerFailure() throws {
        var pair = try sending()
        pair.client.abortUpload(now: pair.now)
        pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)
        XCTAssertFalse(pair.client.canStartUpload, "the Abort is not answered yet")
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.client.canStartUpload)
        pair.upload([1, 2, 3], path: "next")
        XCTAssertEqual(pair.clientEvents.last, .uploadCommitted(UploadReceipt(storedName: "next", size: 3,
                                                                               digest: DigestContext.hash(.sha256, [1, 2, 3]))))
    }

    /// The daemon's disk fails after the client's Abort already returned the upload to idle: no crash, nothing sent.
    func testFailAfterAbortIsHarmless() throws {
        var pair = try sending()
        pair.client.abortUpload(now: pair.now)
        pair.pump()
        XCTAssertTrue(pair.serverEvents.contains(.uploadAborted(ServerConnection.abortAcknowledgement)))
        pair.server.fail(UploadFailure(.storageFailure, "late"), now: pair.now)
        XCTAssertTrue(pair.server.takeOutput().isEmpty)
        XCTAssertTrue(pair.client.canStartUpload)
    }

    /// Data the server drops after failing an upload must not hide the Abort behind it in the same read: the client
    /// sends nothing more until that Abort is answered, so a step that ended at the dropped record stalled both ends.
    func testDroppedDataDoesNotHideTheAbortBehindIt() throws {
        var pair = try sending()
        pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)
        pair.client.sendData([UInt8](repeating: 1, count: 1000), now: pair.now)
        pair.client.sendData([UInt8](repeating: 2, count: 1000), now: pair.now)
        pair.client.abortUpload(now: pair.now)
        pair.server.receive(pair.client.takeOutput())  // one read: Data, Data, Abort
        pair.drainServer()
        XCTAssertNil(pair.serverError)
        pair.client.receive(pair.server.takeOutput())
        pair.drainClient()
        XCTAssertNil(pair.clientError)
        XCTAssertTrue(pair.client.canStartUpload, "the server did not answer the Abort behind the dropped Data")
    }

    /// The answer to an Abort behind a failure that crossed it, both in one read: the client takes both at once and
    /// may start the next upload (waiting for another read would wait forever: the server has nothing more to say).
    func testTheAbortsAnswerBehindACrossingFailureIsTakenInTheSameRead() throws {
        var pair = try sending()
        pair.client.abortUpload(now: pair.now)
        pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)
        pair.server.receive(pair.client.takeOutput())
        pair.drainServer()
        pair.client.receive(pair.server.takeOutput())  // one read: UploadError(no_space), UploadError(aborted)
        pair.drainClient()
        XCTAssertNil(pair.clientError)
        XCTAssertTrue(pair.client.canStartUpload, "the answer to the Abort is still waiting in the client's buffer")
    }

    func testServerFailureWhileTheClientAlreadySentClose() throws {
        var pair = try sending(size: 4)
        pair.client.sendData([1, 2, 3, 4], now: pair.now)
        pair.server.receive(pair.client.takeOutput())
        pair.drainServer()
        pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)  // before the server saw Close
        pair.client.finishUpload(digest: DigestContext.hash(.sha256, [1, 2, 3, 4]), now: pair.now)
        pair.pump()
        XCTAssertNil(pair.serverError)
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents.last, .uploadFailed(UploadFailure(.noSpace, "disk full")))
        XCTAssertTrue(pair.client.canStartUpload)
    }

    func testChunkLargerThanTheServersAnnouncedMaximum() throws {
        var server = try Fixtures.serverConfiguration()
        server.maxDataChunk = 16 * 1024
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: server)
        pair.pump()
        XCTAssertEqual(pair.client.maxDataChunk, 16 * 1024)
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "x", size: 100_000), now: pair.now)
        pair.pump()
        pair.client.injectForTesting(.data, body: [UInt8](repeating: 0, count: 16 * 1024 + 1))
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .illegalParameter)
    }

    func testMalformedAlertIsNotAnswered() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        pair.client.injectForTesting(.alert, body: [0x00])  // too short to be an alert
        pair.server.receive(pair.client.takeOutput())
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.origin, .peer)
        XCTAssertTrue(pair.server.takeOutput().isEmpty)
    }

    /// Reason texts are cut on a character boundary, so the receiver's 256-byte check always holds.
    func testLongReasonTextsAreCutOnACharacterBoundary() throws {
        let text = String(repeating: "é", count: 200)  // 400 bytes of UTF-8, two per character
        var encoder = WireEncoder()
        UploadFailure(.badPath, "x" + text).encode(into: &encoder)
        let decoded = try UploadFailure.decode(encoder.bytes[...])
        XCTAssertLessThanOrEqual(decoded.message.utf8.count, Limits.maxReasonLength)
        XCTAssertFalse(decoded.message.contains("\u{FFFD}"))
        XCTAssertEqual(truncatedUTF8("ab€", maxBytes: 4), "ab")
        XCTAssertEqual(truncatedUTF8("abc", maxBytes: 3), "abc")
    }

    /// A stale RotateRequest (for an epoch the peer already left) does not cause a second rotation.
    func testStaleRotateRequestIsIgnored() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        try pair.client.rotateNow()
        pair.pump()
        XCTAssertEqual(pair.client.rotations.sent, 1)
        var encoder = WireEncoder()
        RotateRequestMessage(epoch: 0).encode(into: &encoder)
        pair.server.injectForTesting(.rotateRequest, body: encoder.bytes)
        pair.pump()
        XCTAssertEqual(pair.client.rotations.sent, 1)
        XCTAssertNil(pair.clientError)
        var current = WireEncoder()
        RotateRequestMessage(epoch: 1).encode(into: &current)
        pair.server.injectForTesting(.rotateRequest, body: current.bytes)
        pair.pump()
        XCTAssertEqual(pair.client.rotations.sent, 2)
    }
}
