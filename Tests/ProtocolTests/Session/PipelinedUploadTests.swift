// §8.10 in memory: pipelined uploads sent back to back without waiting, answered once each in the order of their Opens
// whatever order the server decides them in, never before their Close or Abort; the negotiation (§8.9 bit 1), the
// size limit, the v1 Open that must wait, and the §8.1 checks a pipelined upload keeps. The client's checks of the
// answers are in PipelinedUploadCheckTests.
import XCTest
@testable import Protocol

extension SessionPair {
    /// An established pair, each side offering these upload features (both `.known` by default: pipelining agreed).
    static func established(client clientFeatures: UploadFeatures = .known,
                           server serverFeatures: UploadFeatures = .known) throws -> SessionPair {
        var client = try Fixtures.clientConfiguration()
        client.uploadFeatures = clientFeatures
        var server = try Fixtures.serverConfiguration()
        server.uploadFeatures = serverFeatures
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertTrue(pair.handshakeCompleted)
        pair.clientEvents = []  // the handshake's: each test looks at its uploads' events
        pair.serverEvents = []
        return pair
    }

    /// Sends a whole pipelined upload of `data` to `path` — Open, Data (at most `chunk` bytes each), then Close, or
    /// Abort after `abortAfter` bytes — with no pumping: nothing waits for the server.
    @discardableResult
    mutating func sendPipelined(_ path: String, _ data: [UInt8], announceDigest: Bool = false, abortAfter: Int? = nil,
                                chunk: Int = Limits.maxDataChunk) -> UploadRequest {
        XCTAssertTrue(client.canStartPipelinedUpload, "a pipelined Open may go")
        let digest = DigestContext.hash(.sha256, data)
        let request = UploadRequest(path: path, size: UInt64(data.count), expectedDigest: announceDigest ? digest : nil,
                                    pipelined: true)
        client.startUpload(request, now: now)
        let end = abortAfter ?? data.count
        for start in stride(from: 0, to: end, by: chunk) {
            data[start..<min(start + chunk, end)].withUnsafeBytes { client.sendData($0, now: now) }
        }
        if abortAfter != nil { client.abortUpload(now: now) } else { client.finishUpload(digest: digest, now: now) }
        return request
    }

    /// The id the server gave each pipelined Open, by path.
    var pipelinedIDs: [String: UInt64] {
        var ids: [String: UInt64] = [:]
        for case .pipelinedRequested(let request, let id) in serverEvents { ids[request.path] = id }
        return ids
    }
}

/// The receipt of `data` stored as `path`.
func pipelinedReceipt(_ path: String, _ data: [UInt8]) -> UploadReceipt {
    UploadReceipt(storedName: path, size: UInt64(data.count), digest: DigestContext.hash(.sha256, data))
}

/// `count` bytes that differ with `seed`.
func pipelinedBytes(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) ^ seed }
}

final class PipelinedUploadTests: XCTestCase {
    // MARK: Negotiation (§8.9 bit 1)

    func testPipeliningIsAgreedWhenBothSidesOfferIt() throws {
        let pair = try SessionPair.established()
        XCTAssertEqual(pair.client.parameters?.uploadFeatures, .known)
        XCTAssertEqual(pair.server.parameters?.uploadFeatures, .known)
        XCTAssertTrue(pair.client.canStartPipelinedUpload)
        XCTAssertTrue(pair.client.canStartUpload)
        XCTAssertEqual(pair.client.unansweredPipelined, 0)
    }

    func testWithoutPipeliningOnEitherSideTheClientMayNotPipeline() throws {
        for (client, server) in [(UploadFeatures.known, UploadFeatures.fileTimes), (.fileTimes, .known)] {
            let pair = try SessionPair.established(client: client, server: server)
            XCTAssertEqual(pair.client.parameters?.uploadFeatures, [.fileTimes], "client \(client), server \(server)")
            XCTAssertEqual(pair.server.parameters?.uploadFeatures, [.fileTimes])
            XCTAssertFalse(pair.client.canStartPipelinedUpload, "client \(client), server \(server)")
            XCTAssertTrue(pair.client.canStartUpload, "v1 uploads still go")
        }
    }

    /// The flag is bit 0x04 of Open's flags; sent where pipelining was not agreed (forged: the client would trap), it
    /// is a decode_error.
    func testAPipelinedOpenWithoutAgreementIsADecodeError() throws {
        var encoder = WireEncoder()
        UploadRequest(path: "a", size: 3, pipelined: true).encode(into: &encoder)
        XCTAssertEqual(encoder.bytes[2 + 1 + 8], 0x04, "the flags byte after the path and the size")
        XCTAssertEqual(try UploadRequest.decode(encoder.bytes[...]).pipelined, true)
        var unknown = encoder.bytes
        unknown[11] = 0x08
        XCTAssertThrowsError(try UploadRequest.decode(unknown[...]), "0x08 is not a flag")

        var pair = try SessionPair.established(server: .fileTimes)
        pair.client.injectForTesting(.open, body: encoder.bytes)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .decodeError)
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertFalse(pair.serverEvents.contains { if case .pipelinedRequested = $0 { true } else { false } })
    }

    // MARK: Answers, in order and after Close

    func testUploadsSentBackToBackAreAnsweredInTheOrderOfTheirOpens() throws {
        var pair = try SessionPair.established()
        let files = [("a", pipelinedBytes(70_000, seed: 1)), ("b", pipelinedBytes(10, seed: 2)), ("c", [])]
        let requests = files.map { pair.sendPipelined($0.0, $0.1) }
        XCTAssertEqual(pair.client.unansweredPipelined, 3, "every Close went without an answer")
        pair.pump()
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.pipelinedIDs, ["a": 0, "b": 1, "c": 2])
        XCTAssertEqual(pair.received, files[0].1 + files[1].1, "the Data of each, in order")
        XCTAssertEqual(pair.serverEvents.filter { if case .pipelinedFinished = $0 { true } else { false } },
                       files.enumerated().map { ServerEvent.pipelinedFinished(id: UInt64($0.offset), digest: DigestContext.hash(.sha256, $0.element.1), times: nil) })
        XCTAssertEqual(pair.server.unansweredPipelined, 3)
        XCTAssertEqual(pair.clientEvents, [], "no Accepted, no answer yet")

        // The server decides c, then b: both wait for a's answer.
        let exists = UploadFailure(.exists, "'b' already exists")
        pair.server.answerPipelined(id: 2, .committed(pipelinedReceipt("c", [])), now: pair.now)
        pair.server.answerPipelined(id: 1, .failed(exists), now: pair.now)
        XCTAssertEqual(pair.server.takeOutput(), [], "nothing goes before the oldest is answered")
        XCTAssertEqual(pair.server.unansweredPipelined, 3)
        pair.server.answerPipelined(id: 0, .committed(pipelinedReceipt("a", files[0].1)), now: pair.now)
        let output = pair.server.takeOutput()
        XCTAssertEqual(Fixtures.records(in: output).count, 3, "a's answer lets all three go")
        pair.client.receive(output)
        pair.drainClient()
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents, [
            .pipelinedAnswered(requests[0], .committed(pipelinedReceipt("a", files[0].1))),
            .pipelinedAnswered(requests[1], .failed(exists)),
            .pipelinedAnswered(requests[2], .committed(pipelinedReceipt("c", []))),
        ])
        XCTAssertEqual(pair.client.unansweredPipelined, 0)
        XCTAssertEqual(pair.server.unansweredPipelined, 0)
        XCTAssertTrue(pair.client.canStartUpload)
    }

    /// A refusal given at Open (the daemon decides before any Data) goes out only after the upload's Close; and an
    /// upload answered early does not hold back an earlier one, whose answer the client takes mid-upload.
    func testAnAnswerGoesOutOnlyAfterItsOwnClose() throws {
        var pair = try SessionPair.established()
        let first = pair.sendPipelined("first", [1, 2, 3])
        let data = pipelinedBytes(100, seed: 3)
        let second = UploadRequest(path: "bad\\name", size: 100, pipelined: true)
        pair.client.startUpload(second, now: pair.now)
        pair.client.sendData(Array(data[..<40]), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.pipelinedIDs, ["first": 0, "bad\\name": 1])
        let badPath = UploadFailure(.badPath, "no backslashes")
        pair.server.answerPipelined(id: 1, .failed(badPath), now: pair.now)
        XCTAssertEqual(pair.server.takeOutput(), [], "refused, but its Data is still coming")
        pair.server.answerPipelined(id: 0, .committed(pipelinedReceipt("first", [1, 2, 3])), now: pair.now)
        let output = pair.server.takeOutput()
        XCTAssertEqual(Fixtures.records(in: output).count, 1, "only the first's answer")
        pair.client.receive(output)
        pair.drainClient()
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents, [.pipelinedAnswered(first, .committed(pipelinedReceipt("first", [1, 2, 3])))])
        XCTAssertFalse(pair.client.canStartPipelinedUpload, "still sending the second")

        pair.client.sendData(Array(data[40...]), now: pair.now)
        pair.client.finishUpload(digest: DigestContext.hash(.sha256, data), now: pair.now)
        pair.pump()
        XCTAssertNil(pair.serverError)
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents.last, .pipelinedAnswered(second, .failed(badPath)))
        XCTAssertEqual(pair.clientEvents.count, 2)
        XCTAssertEqual(pair.received, [1, 2, 3] + data, "a refused upload's Data is still received to its Close")
        pair.server.answerPipelined(id: 1, .failed(UploadFailure(.busy, "again")), now: pair.now)
        XCTAssertEqual(pair.server.takeOutput(), [], "an upload answered on the wire is not answered twice")
    }

    /// Abort of a pipelined upload: its answer is UploadError(aborted), in its turn, whatever the server had said of
    /// it before the Abort arrived.
    func testAnAbortedUploadIsAnsweredAbortedInItsTurn() throws {
        let data = pipelinedBytes(5000, seed: 4)
        let earlier: [PipelinedAnswer?] = [nil, .failed(UploadFailure(.exists, "x")), .committed(pipelinedReceipt("b", data))]
        for early in earlier {
            var pair = try SessionPair.established()
            let a = pair.sendPipelined("a", [9])
            let b = UploadRequest(path: "b", size: 5000, pipelined: true)
            pair.client.startUpload(b, now: pair.now)
            pair.client.sendData(Array(data[..<1000]), now: pair.now)
            pair.pump()
            if let early { pair.server.answerPipelined(id: 1, early, now: pair.now) }
            pair.client.abortUpload(now: pair.now)
            XCTAssertEqual(pair.client.unansweredPipelined, 2, "an aborted upload waits for its answer too")
            XCTAssertTrue(pair.client.canStartPipelinedUpload, "the next may follow the Abort at once")
            let c = pair.sendPipelined("c", [7, 7])
            pair.pump()
            XCTAssertNil(pair.serverError, "\(String(describing: early))")
            XCTAssertTrue(pair.serverEvents.contains(.pipelinedAborted(id: 1)))
            XCTAssertEqual(pair.clientEvents, [], "a is unanswered: nothing goes, b's aborted answer included")
            pair.server.answerPipelined(id: 2, .committed(pipelinedReceipt("c", [7, 7])), now: pair.now)
            pair.server.answerPipelined(id: 1, .committed(pipelinedReceipt("b", data)), now: pair.now)  // too late
            pair.server.answerPipelined(id: 0, .committed(pipelinedReceipt("a", [9])), now: pair.now)
            pair.pump()
            XCTAssertNil(pair.clientError, "\(String(describing: early))")
            XCTAssertEqual(pair.clientEvents, [
                .pipelinedAnswered(a, .committed(pipelinedReceipt("a", [9]))),
                .pipelinedAnswered(b, .failed(ServerConnection.abortAcknowledgement)),
                .pipelinedAnswered(c, .committed(pipelinedReceipt("c", [7, 7]))),
            ], "early answer \(String(describing: early))")
            XCTAssertEqual(pair.client.unansweredPipelined, 0)
        }
    }

    // MARK: v1 uploads beside pipelined ones

    func testAV1OpenWhilePipelinedUploadsAreUnansweredIsUnexpected() throws {
        var pair = try SessionPair.established()
        pair.sendPipelined("p", [1])
        pair.pump()
        XCTAssertFalse(pair.client.canStartUpload, "a v1 Open waits for every answer")
        XCTAssertTrue(pair.client.canStartPipelinedUpload)
        var encoder = WireEncoder()
        UploadRequest(path: "v1", size: 3).encode(into: &encoder)
        pair.client.injectForTesting(.open, body: encoder.bytes)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
        XCTAssertFalse(pair.serverEvents.contains(.uploadRequested(UploadRequest(path: "v1", size: 3))))
    }

    func testV1AndPipelinedUploadsTakeTurnsInOneSession() throws {
        var pair = try SessionPair.established()
        let p1 = pair.sendPipelined("p1", [1, 2])
        let p2 = pair.sendPipelined("p2", [3])
        pair.pump()
        pair.server.answerPipelined(id: 0, .committed(pipelinedReceipt("p1", [1, 2])), now: pair.now)
        pair.pump()
        XCTAssertFalse(pair.client.canStartUpload, "p2 is unanswered")
        pair.server.answerPipelined(id: 1, .committed(pipelinedReceipt("p2", [3])), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.suffix(2), [.pipelinedAnswered(p1, .committed(pipelinedReceipt("p1", [1, 2]))),
                                                     .pipelinedAnswered(p2, .committed(pipelinedReceipt("p2", [3])))])
        XCTAssertTrue(pair.client.canStartUpload, "every pipelined upload answered")

        let large = pipelinedBytes(300_000, seed: 5)
        pair.acceptAndCommit(path: "v1", size: large.count)
        pair.client.startUpload(UploadRequest(path: "v1", size: UInt64(large.count)), now: pair.now)
        XCTAssertFalse(pair.client.canStartPipelinedUpload, "not while a v1 upload awaits its Accepted")
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadAccepted(offset: 0))
        XCTAssertFalse(pair.client.canStartPipelinedUpload, "nor while it is being sent")
        for start in stride(from: 0, to: large.count, by: Limits.maxDataChunk) {
            pair.client.sendData(Array(large[start..<min(start + Limits.maxDataChunk, large.count)]), now: pair.now)
        }
        pair.client.finishUpload(digest: DigestContext.hash(.sha256, large), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadCommitted(pipelinedReceipt("v1", large)))

        pair.onServerEvent = nil
        let p3 = pair.sendPipelined("p3", [4])
        pair.pump()
        XCTAssertEqual(pair.pipelinedIDs["p3"], 2, "ids count the session's pipelined Opens")
        pair.server.answerPipelined(id: 2, .failed(UploadFailure(.noSpace, "full")), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .pipelinedAnswered(p3, .failed(UploadFailure(.noSpace, "full"))))
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
    }

    // MARK: The server's checks

    func testAPipelinedOpenOverOneMebibyteIsIllegal() throws {
        var pair = try SessionPair.established()
        let limit = Limits.maxPipelinedFileSize
        XCTAssertEqual(limit, 1_048_576)
        pair.client.startUpload(UploadRequest(path: "max", size: limit, pipelined: true), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .pipelinedRequested(UploadRequest(path: "max", size: limit, pipelined: true), id: 0))

        var over = try SessionPair.established()
        var encoder = WireEncoder()
        UploadRequest(path: "big", size: limit + 1, pipelined: true).encode(into: &encoder)
        over.client.injectForTesting(.open, body: encoder.bytes)
        over.pump()
        XCTAssertEqual(over.serverError?.alert, .illegalParameter)
    }

    /// The §8.1 checks hold for a pipelined upload: Data past the size, Close before every byte, a Close digest other
    /// than Open's, and a non-empty Abort.
    func testAPipelinedUploadKeepsTheChecksOfAnyUpload() throws {
        let data: [UInt8] = [1, 2, 3, 4]
        var past = try SessionPair.established()
        past.client.startUpload(UploadRequest(path: "f", size: 4, pipelined: true), now: past.now)
        past.client.injectForTesting(.data, body: data + [5])
        past.pump()
        XCTAssertEqual(past.serverError?.alert, .illegalParameter, "Data past the size")

        var early = try SessionPair.established()
        early.client.startUpload(UploadRequest(path: "f", size: 4, pipelined: true), now: early.now)
        early.client.sendData(Array(data[..<3]), now: early.now)
        var close = WireEncoder()
        CloseMessage(digest: DigestContext.hash(.sha256, data)).encode(into: &close)
        early.client.injectForTesting(.close, body: close.bytes)
        early.pump()
        XCTAssertEqual(early.serverError?.alert, .illegalParameter, "Close after 3 of 4 bytes")

        var other = try SessionPair.established()
        other.client.startUpload(UploadRequest(path: "f", size: 4, expectedDigest: DigestContext.hash(.sha256, [9]),
                                               pipelined: true), now: other.now)
        other.client.sendData(data, now: other.now)
        other.client.injectForTesting(.close, body: close.bytes)
        other.pump()
        XCTAssertEqual(other.serverError?.alert, .illegalParameter, "Close's digest is not Open's")

        var abort = try SessionPair.established()
        abort.client.startUpload(UploadRequest(path: "f", size: 4, pipelined: true), now: abort.now)
        abort.client.injectForTesting(.abort, body: [0])
        abort.pump()
        XCTAssertEqual(abort.serverError?.alert, .decodeError, "Abort has an empty body")

        var fine = try SessionPair.established()  // the same upload, sent right
        fine.sendPipelined("f", data, announceDigest: true)
        fine.pump()
        XCTAssertNil(fine.serverError)
        XCTAssertEqual(fine.serverEvents.last, .pipelinedFinished(id: 0, digest: DigestContext.hash(.sha256, data), times: nil))
    }

    /// The daemon's data path: Data of a pipelined upload decrypted straight into the caller's memory.
    func testDataDecryptedInPlaceReachesAPipelinedUpload() throws {
        var pair = try SessionPair.established()
        let data = pipelinedBytes(200_000, seed: 6)
        let request = pair.sendPipelined("in-place", data)
        pair.server.receive(pair.client.takeOutput())
        var room = [UInt8](repeating: 0, count: data.count)
        var filled = 0, chunks = 0
        var events: [ServerEvent] = []
        try room.withUnsafeMutableBytes { buffer in
            let dataInto: (Int) -> UnsafeMutableRawBufferPointer? = { length in
                filled + length <= buffer.count ? UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + length]) : nil
            }
            while let event = try pair.server.nextEvent(now: pair.now, dataInto: dataInto) {
                if case .uploadDataWritten(let length) = event {
                    filled += length
                    chunks += 1
                } else {
                    events.append(event)
                }
            }
        }
        XCTAssertEqual(events, [.pipelinedRequested(request, id: 0),
                                .pipelinedFinished(id: 0, digest: DigestContext.hash(.sha256, data), times: nil)])
        XCTAssertEqual(chunks, 4)
        XCTAssertEqual(filled, data.count)
        XCTAssertTrue(room == data, "the bytes arrived exactly, in place")
    }
}
