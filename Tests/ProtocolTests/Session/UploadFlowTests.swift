// The upload messages end to end in memory: several uploads per session, refusals and failures that keep the session.
import XCTest
@testable import Protocol

final class UploadFlowTests: XCTestCase {
    private func established() throws -> SessionPair {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        XCTAssertTrue(pair.handshakeCompleted)
        return pair
    }

    private func committed(_ pair: SessionPair) -> [UploadReceipt] {
        pair.clientEvents.compactMap { if case .uploadCommitted(let receipt) = $0 { receipt } else { nil } }
    }

    func testSeveralUploadsOneAfterAnotherIncludingEmptyAndBoundarySizes() throws {
        var pair = try established()
        var expected: [UInt8] = []
        let chunk = Limits.maxDataChunk
        for size in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 17] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 ^ size) }
            pair.upload(data, path: "f\(size)")
            expected += data
        }
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.received, expected)
        XCTAssertEqual(committed(pair).map(\.size), [0, 1, UInt64(chunk - 1), UInt64(chunk), UInt64(chunk + 1), UInt64(3 * chunk + 17)])
        XCTAssertEqual(committed(pair).last?.storedName, "f\(3 * chunk + 17)")
    }

    /// The daemon and the client move output with drainOutput (one buffer kept, no array per flush) and free the
    /// record buffers when idle. Several records sealed, then drained in one call, arrive as takeOutput's would; the
    /// server releasing its buffers after every piece of input (mid-record included) loses nothing.
    func testDrainedBatchesAndIdleBufferReleaseCarryAnUploadExactly() throws {
        var pair = try established()
        pair.client.releaseIdleBuffers()
        pair.server.releaseIdleBuffers()
        let chunk = Limits.maxDataChunk
        let data = (0..<(5 * chunk + 3)).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 9) }
        pair.onServerEvent = { pair, event in
            switch event {
            case .uploadRequested: pair.server.accept(now: pair.now)
            case .uploadFinished(let digest, _):
                pair.server.commit(UploadReceipt(storedName: "batched", size: UInt64(data.count), digest: digest), now: pair.now)
            default: break
            }
        }
        pair.client.startUpload(UploadRequest(path: "batched", size: UInt64(data.count)), now: pair.now)
        pair.pump()
        for offset in stride(from: 0, to: data.count, by: chunk) {
            data[offset..<min(offset + chunk, data.count)].withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
        }
        pair.client.finishUpload(digest: DigestContext.hash(.sha256, data), now: pair.now)
        var drained: [UInt8] = []
        var calls = 0
        pair.client.drainOutput { drained += $0; calls += 1 }
        XCTAssertEqual(calls, 1, "one batch, one buffer")
        XCTAssertEqual(Fixtures.records(in: drained).count, 7, "six Data records and Close")
        XCTAssertTrue(pair.client.takeOutput().isEmpty, "drained output is gone")
        for start in stride(from: 0, to: drained.count, by: 10_007) {
            pair.server.receive(Array(drained[start..<min(start + 10_007, drained.count)]))
            pair.drainServer()
            pair.server.releaseIdleBuffers()
        }
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.received, data)
        XCTAssertEqual(committed(pair).map(\.storedName), ["batched"])
    }

    /// nextEvents returns every available event in order, and with a failure the events that came before it.
    func testNextEventsReturnsTheEventsBeforeAFailure() throws {
        var pair = try established()
        pair.client.startUpload(UploadRequest(path: "x", size: 0), now: pair.now)
        pair.server.receive(pair.client.takeOutput())
        pair.drainServer()
        pair.server.accept(now: pair.now)
        pair.client.receive(pair.server.takeOutput())
        let quiet = pair.client.nextEvents(now: pair.now)
        XCTAssertNil(quiet.failure)
        XCTAssertEqual(quiet.events, [.uploadAccepted(offset: 0)])
        XCTAssertTrue(pair.client.nextEvents(now: pair.now).events.isEmpty)

        var broken = try established()
        broken.client.receive([0x02, 0x00, 0x00, 0x00, 0x20] + [UInt8](repeating: 0xA5, count: 32))  // a forged record
        let result = broken.client.nextEvents(now: broken.now)
        XCTAssertEqual(result.events, [])
        XCTAssertEqual(result.failure?.alert, .badRecordMAC)
        XCTAssertTrue(broken.client.isClosed)
    }

    func testRejectedUploadKeepsTheSession() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in
            if case .uploadRequested(let request) = event, request.path.contains("..") {
                pair.server.reject(UploadFailure(.badPath, "'..' is not allowed"), now: pair.now)
            }
        }
        pair.client.startUpload(UploadRequest(path: "../etc/passwd", size: 5), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadFailed(UploadFailure(.badPath, "'..' is not allowed")))
        pair.upload([1, 2, 3], path: "fine")
        XCTAssertEqual(committed(pair).count, 1)
        XCTAssertNil(pair.serverError)
    }

    func testServerFailureMidStreamIsAcknowledgedAndTheNextUploadWorks() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "big", size: 100_000), now: pair.now)
        pair.pump()
        pair.client.sendData([UInt8](repeating: 1, count: 10_000), now: pair.now)
        pair.pump()
        pair.server.fail(UploadFailure(.noSpace, "disk full"), now: pair.now)
        // Data already in flight from the client is dropped by the server, not an error.
        pair.client.sendData([UInt8](repeating: 1, count: 10_000), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadFailed(UploadFailure(.noSpace, "disk full")))
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.received.count, 10_000)
        pair.received = []
        pair.upload([9, 9, 9], path: "after")
        XCTAssertEqual(pair.received, [9, 9, 9])
        XCTAssertEqual(committed(pair).count, 1)
    }

    func testDigestMismatchIsAnUploadErrorNotASessionError() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in
            switch event {
            case .uploadRequested: pair.server.accept(now: pair.now)
            case .uploadFinished: pair.server.fail(UploadFailure(.digestMismatch, "SHA-256 differs"), now: pair.now)
            default: break
            }
        }
        pair.client.startUpload(UploadRequest(path: "x", size: 3), now: pair.now)
        pair.pump()
        pair.client.sendData([1, 2, 3], now: pair.now)
        pair.client.finishUpload(digest: [UInt8](repeating: 0, count: 32), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadFailed(UploadFailure(.digestMismatch, "SHA-256 differs")))
        XCTAssertTrue(pair.client.isEstablished)
    }

    func testClientAbort() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "x", size: 10), now: pair.now)
        pair.pump()
        pair.client.abortUpload(now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .uploadAborted(UploadFailure(.aborted, "the client aborted the upload")))
        pair.upload([5], path: "y")
        XCTAssertEqual(committed(pair).count, 1)
    }

    func testDataBeyondTheDeclaredSizeEndsTheSession() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "x", size: 2), now: pair.now)
        pair.pump()
        pair.client.injectForTesting(.data, body: [1, 2, 3])
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .illegalParameter)
        XCTAssertTrue(pair.received.isEmpty)
    }

    func testCloseBeforeAllBytesEndsTheSession() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "x", size: 2), now: pair.now)
        pair.pump()
        pair.client.injectForTesting(.close, body: [UInt8](repeating: 0, count: 32))
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .illegalParameter)
        XCTAssertFalse(pair.serverEvents.contains { if case .uploadFinished = $0 { true } else { false } })
    }

    func testAnnouncedDigestMustMatchClose() throws {
        var pair = try established()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "x", size: 1, expectedDigest: [UInt8](repeating: 1, count: 32)), now: pair.now)
        pair.pump()
        pair.client.sendData([0], now: pair.now)
        pair.client.finishUpload(digest: [UInt8](repeating: 2, count: 32), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .illegalParameter)
    }

    func testGoodbyeEndsCleanly() throws {
        var pair = try established()
        pair.client.goodbye(now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .peerClosed)
        XCTAssertNil(pair.serverError)
    }

    func testMalformedOpenIsRejected() throws {
        for body: [UInt8] in [[], [0, 0], [0, 1, 0x61], [0, 1, 0x61] + [UInt8](repeating: 0, count: 8) + [0x80],
                              [0, 2, 0xC3, 0x28] + [UInt8](repeating: 0, count: 9)] {
            var pair = try established()
            pair.client.injectForTesting(.open, body: body)
            pair.pump()
            XCTAssertEqual(pair.serverError?.alert, .decodeError, "\(body)")
        }
    }
}
