// §8.10, the client's side: every Committed or UploadError while pipelined uploads are unanswered answers the oldest,
// and one that cannot be its answer ends the session (illegal_parameter), as does an answer or an Accepted where none
// can come (unexpected_message). The answers here are forged (ServerConnection.injectForTesting) and the client's
// records never reach the server, so only the client's checks decide. Also PipelinedQueue, the server's record of
// unanswered uploads, and how much either side keeps of a long pipeline.
import XCTest
@testable import Protocol

final class PipelinedUploadCheckTests: XCTestCase {
    private let data = pipelinedBytes(1000, seed: 7)

    /// The client after `send` (its output dropped), receiving `type` from the server.
    private func client(receiving type: MessageType, _ body: [UInt8],
                        after send: (inout SessionPair) -> Void) throws -> SessionPair {
        var pair = try SessionPair.established()
        send(&pair)
        _ = pair.client.takeOutput()
        pair.server.injectForTesting(type, body: body)
        pair.client.receive(pair.server.takeOutput())
        pair.drainClient()
        return pair
    }

    private func encoded(_ receipt: UploadReceipt) -> [UInt8] {
        var encoder = WireEncoder()
        receipt.encode(into: &encoder)
        return encoder.bytes
    }

    private func encoded(_ failure: UploadFailure) -> [UInt8] {
        var encoder = WireEncoder()
        failure.encode(into: &encoder)
        return encoder.bytes
    }

    func testACommittedOfAnotherSizeOrDigestIsIllegal() throws {
        let right = pipelinedReceipt("f", data)
        let wrong = [UploadReceipt(storedName: "f", size: 999, digest: right.digest),
                     UploadReceipt(storedName: "f", size: 1000, digest: DigestContext.hash(.sha256, [1]))]
        for (index, receipt) in wrong.enumerated() {
            let pair = try client(receiving: .committed, encoded(receipt)) { pair in
                pair.sendPipelined("f", self.data, announceDigest: true)
            }
            XCTAssertEqual(pair.clientError?.alert, .illegalParameter, "\(receipt)")
            XCTAssertTrue(pair.client.isClosed)
            if index == 1 {  // without a digest in Open, the digest is informational (§8.1)
                let informational = try client(receiving: .committed, encoded(receipt)) { pair in pair.sendPipelined("f", self.data) }
                XCTAssertNil(informational.clientError)
            }
        }
        let pair = try client(receiving: .committed, encoded(right)) { pair in pair.sendPipelined("f", self.data, announceDigest: true) }
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents.count, 1)
    }

    /// Only the oldest is answered: a Committed of the second's size, first in line, is the first's and wrong.
    func testAnAnswerIsTakenForTheOldestUnanswered() throws {
        let pair = try client(receiving: .committed, encoded(pipelinedReceipt("g", [1, 2]))) { pair in
            pair.sendPipelined("f", self.data)
            pair.sendPipelined("g", [1, 2])
        }
        XCTAssertEqual(pair.clientError?.alert, .illegalParameter)
    }

    func testAnAbortedAnswerForAnUploadNotAbortedIsIllegal() throws {
        let pair = try client(receiving: .uploadError, encoded(ServerConnection.abortAcknowledgement)) { pair in
            pair.sendPipelined("f", self.data)
        }
        XCTAssertEqual(pair.clientError?.alert, .illegalParameter)
        let refused = try client(receiving: .uploadError, encoded(UploadFailure(.exists, "x"))) { pair in
            pair.sendPipelined("f", self.data)
        }
        XCTAssertNil(refused.clientError)
        XCTAssertEqual(refused.clientEvents.count, 1)
    }

    func testACommittedOrAnotherCodeForAnAbortedUploadIsIllegal() throws {
        let answers: [(MessageType, [UInt8])] = [(.committed, encoded(pipelinedReceipt("f", data))),
                                                 (.uploadError, encoded(UploadFailure(.noSpace, "full")))]
        for (type, body) in answers {
            let pair = try client(receiving: type, body) { pair in pair.sendPipelined("f", self.data, abortAfter: 500) }
            XCTAssertEqual(pair.clientError?.alert, .illegalParameter, "\(type)")
        }
        let pair = try client(receiving: .uploadError, encoded(ServerConnection.abortAcknowledgement)) { pair in
            pair.sendPipelined("f", self.data, abortAfter: 500)
        }
        XCTAssertNil(pair.clientError)
        XCTAssertEqual(pair.clientEvents.count, 1)
    }

    func testAcceptedWhilePipelinedUploadsAreUnansweredIsUnexpected() throws {
        var accepted = WireEncoder()
        AcceptedMessage(offset: 0).encode(into: &accepted)
        let idle = try client(receiving: .accepted, accepted.bytes) { pair in pair.sendPipelined("f", self.data) }
        XCTAssertEqual(idle.clientError?.alert, .unexpectedMessage)
        let sendingTheNext = try client(receiving: .accepted, accepted.bytes) { pair in
            pair.sendPipelined("f", self.data)
            pair.client.startUpload(UploadRequest(path: "g", size: 10, pipelined: true), now: pair.now)
        }
        XCTAssertEqual(sendingTheNext.clientError?.alert, .unexpectedMessage)
    }

    /// While a pipelined upload is being sent and none is unanswered, no answer can come.
    func testAnAnswerWhileSendingWithNoneUnansweredIsUnexpected() throws {
        let answers: [(MessageType, [UInt8])] = [(.committed, encoded(pipelinedReceipt("f", data))),
                                                 (.uploadError, encoded(UploadFailure(.noSpace, "full"))),
                                                 (.uploadError, encoded(ServerConnection.abortAcknowledgement))]
        for (type, body) in answers {
            let pair = try client(receiving: type, body) { pair in
                pair.client.startUpload(UploadRequest(path: "f", size: 1000, pipelined: true), now: pair.now)
                pair.client.sendData(Array(self.data[..<500]), now: pair.now)
            }
            XCTAssertEqual(pair.clientError?.alert, .unexpectedMessage, "\(type)")
        }
    }

    // MARK: What each side keeps of a long pipeline

    /// A long batch with a few uploads always unanswered (as the reference client keeps up to 64): the answered ones
    /// are let go on both sides, not kept for the whole session.
    func testBothSidesForgetAnsweredUploadsInALongPipeline() throws {
        var pair = try SessionPair.established()
        let window: UInt64 = 3
        pair.onServerEvent = { pair, event in
            guard case .pipelinedFinished(let id, _, _) = event, id >= window else { return }
            let answered = id - window
            pair.server.answerPipelined(id: answered, .committed(pipelinedReceipt("f\(answered)", [UInt8(answered & 0xFF)])),
                                        now: pair.now)
        }
        var largestClient = 0, largestServer = 0
        for index in 0..<400 {
            pair.sendPipelined("f\(index)", [UInt8(index & 0xFF)])
            pair.pump()
            if case .established(_, let uploads) = pair.client.core.state { largestClient = max(largestClient, uploads.unanswered.storedCount) }
            if case .established(_, let uploads) = pair.server.core.state { largestServer = max(largestServer, uploads.queue.entries.storedCount) }
        }
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.client.unansweredPipelined, Int(window))
        XCTAssertEqual(pair.server.unansweredPipelined, Int(window))
        XCTAssertEqual(pair.clientEvents.count, 400 - Int(window))
        XCTAssertEqual(pair.clientEvents.last, .pipelinedAnswered(UploadRequest(path: "f396", size: 1, pipelined: true),
                                                                  .committed(pipelinedReceipt("f396", [UInt8(396 & 0xFF)]))))
        XCTAssertLessThanOrEqual(largestServer, 2 * 64, "the server's queue is compacted")
        XCTAssertLessThanOrEqual(largestClient, 2 * 64, "the client's record of unanswered uploads is compacted")
    }

    // MARK: PipelinedQueue

    private func request(_ id: Int) -> UploadRequest { UploadRequest(path: "q\(id)", size: 1, pipelined: true) }

    private func committed(_ id: Int) -> PipelinedAnswer { .committed(pipelinedReceipt("q\(id)", [UInt8(id & 0xFF)])) }

    func testTheQueueReleasesAnswersInOrderOnceClosed() {
        var queue = PipelinedQueue()
        for id in 0..<3 { queue.append(id: UInt64(id), request(id)) }
        XCTAssertEqual(queue.count, 3)
        XCTAssertEqual(queue.request(1), request(1))
        let busy = PipelinedAnswer.failed(UploadFailure(.busy, "b"))
        XCTAssertTrue(queue.answer(2, busy))
        XCTAssertFalse(queue.answer(2, committed(2)), "one answer each")
        queue.close(2)
        XCTAssertTrue(queue.answer(0, committed(0)))
        XCTAssertEqual(queue.takeReady(), [], "the oldest is answered but its Close has not arrived")
        queue.close(0)
        XCTAssertEqual(queue.takeReady(), [committed(0)])
        XCTAssertFalse(queue.answer(0, committed(0)), "answered and sent")
        XCTAssertNil(queue.request(0))
        queue.close(1)
        XCTAssertEqual(queue.takeReady(), [], "1 is closed but unanswered: 2 waits")
        let aborted = PipelinedAnswer.failed(ServerConnection.abortAcknowledgement)
        XCTAssertTrue(queue.answer(1, committed(1)))
        queue.replaceAnswer(1, aborted)
        XCTAssertEqual(queue.takeReady(), [aborted, busy])
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(queue.entries.count, 0)
        queue.close(7)  // unknown ids change nothing
        XCTAssertFalse(queue.answer(7, committed(7)))
        XCTAssertEqual(queue.takeReady(), [])
    }

    /// A thousand uploads through a window of ten: answers come out in order, ids still find their entries after each
    /// compaction, and the array stays small.
    func testTheQueueIsCompactedUnderASlidingWindow() {
        var queue = PipelinedQueue()
        var released: [PipelinedAnswer] = [], largest = 0
        for id in 0..<1000 {
            queue.append(id: UInt64(id), request(id))
            queue.close(UInt64(id))
            guard id >= 10 else { continue }
            let answered = id - 10
            XCTAssertEqual(queue.request(UInt64(answered)), request(answered))
            XCTAssertEqual(queue.request(UInt64(id)), request(id))
            XCTAssertTrue(queue.answer(UInt64(answered), committed(answered)))
            released += queue.takeReady()
            largest = max(largest, queue.entries.count)
        }
        XCTAssertEqual(released, (0..<990).map(committed))
        XCTAssertEqual(queue.count, 10)
        XCTAssertLessThanOrEqual(largest, 2 * 64 + 10)
        XCTAssertNil(queue.request(989))
        XCTAssertEqual(queue.request(990), request(990))
    }
}
