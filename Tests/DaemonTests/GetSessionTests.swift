// Get on the daemon's side without a socket (ServerSession+Get, a real Store, the pool stepped by hand): the file read
// block by block and sealed as it is read, a shutdown that waits for the stream, a file that shrinks on the server
// while it is sent (an error for that Get, the session goes on), and a connection that ends with a read in flight
// (the file closed when the read completes, nothing left open).
import Foundation
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class GetSessionTests: XCTestCase {
    private func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }

    private func received(_ rig: SessionRig) -> (header: GetHeader?, bytes: [UInt8], finished: Bool, failure: UploadFailure?) {
        var header: GetHeader?, bytes: [UInt8] = [], finished = false, failure: UploadFailure?
        for event in rig.events {
            switch event {
            case .getStarted(let started): header = started
            case .getData(let data): bytes += data
            case .getFinished: finished = true
            case .storeAnswered(.failed(let failed)): failure = failed
            default: break
            }
        }
        return (header, bytes, finished, failure)
    }

    func testAFileIsSentBlockByBlockAndAShutdownWaitsForIt() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("get-session"))
        try rig.handshake()
        let content = (0..<(1 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 13 ^ $0 >> 10) }
        try rig.upload("dir/f.bin", content)
        try rig.ask(.get(GetRequest(path: "dir/f.bin")))
        rig.perform(rig.session.shutdown(force: false, now: rig.now))
        try rig.runJobs(1)  // the open
        XCTAssertEqual(received(rig).header?.size, UInt64(content.count))
        XCTAssertTrue(rig.session.isBusy)
        XCTAssertFalse(rig.closed, "closed with a Get in flight")
        try rig.runJobs()
        let got = received(rig)
        XCTAssertEqual(got.bytes, content)
        XCTAssertTrue(got.finished)
        XCTAssertEqual(got.header?.sha256, DigestContext.hash(.sha256, content))
        XCTAssertEqual(rig.events.last, .peerClosed, "Goodbye after the stream")
        XCTAssertTrue(rig.closed)
    }

    func testAFileThatShrinksWhileItIsSentEndsThatGetOnly() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("get-shrinks"))
        try rig.handshake()
        try rig.upload("f.bin", [UInt8](repeating: 9, count: 1 << 20))
        try rig.ask(.get(GetRequest(path: "f.bin")))
        try rig.runJobs(1)  // the open: the header went with the recorded size
        XCTAssertEqual(received(rig).header?.size, 1 << 20)
        XCTAssertEqual(truncate(rig.root.appendingPathComponent("alice/f.bin").path, 100_000), 0)
        try rig.runJobs()
        let got = received(rig)
        XCTAssertFalse(got.finished)
        XCTAssertEqual(got.failure?.code, .storageFailure)
        XCTAssertFalse(rig.closed)
        XCTAssertFalse(rig.session.isBusy)
        try rig.upload("next.bin", [1, 2, 3])
        XCTAssertEqual(rig.events.last, .uploadCommitted(UploadReceipt(storedName: "next.bin", size: 3,
                                                                       digest: DigestContext.hash(.sha256, [1, 2, 3]))))
    }

    func testAConnectionThatEndsWithAReadInFlightLeavesNothingOpen() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("get-ends"))
        try rig.handshake()
        try rig.upload("f.bin", [UInt8](repeating: 4, count: 3 << 20))
        let before = openDescriptors()
        try rig.ask(.get(GetRequest(path: "f.bin")))
        try rig.runJobs(1)  // the open; the first read is queued
        XCTAssertEqual(openDescriptors(), before + 1, "the file is open while it is sent")
        rig.session.connectionClosed()
        try rig.runJobs()
        XCTAssertEqual(openDescriptors(), before, "the file was left open")
        XCTAssertFalse(rig.session.isBusy)
    }

    func testAConnectionThatEndsWhileTheFileOpensLeavesNothingOpen() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("get-ends-opening"))
        try rig.handshake()
        try rig.upload("f.bin", [UInt8](repeating: 4, count: 1000))
        let before = openDescriptors()
        try rig.ask(.get(GetRequest(path: "f.bin")))  // the open is queued, not run
        rig.session.connectionClosed()
        try rig.runJobs()
        XCTAssertEqual(openDescriptors(), before, "the file was left open")
    }

    func testRefusalsComeAtOnce() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("get-refused"))
        try rig.handshake()
        try rig.upload("d/f.bin", [1])
        for (path, code) in [("nope", UploadErrorCode.notFound), ("d", .badPath), ("a/../b", .badPath), ("d/f.bin/x", .notFound)] {
            try rig.ask(.get(GetRequest(path: path)))
            try rig.runJobs()
            guard case .storeAnswered(.failed(let failure))? = rig.events.last else { XCTFail("\(path): \(rig.events.suffix(2))"); continue }
            XCTAssertEqual(failure.code, code, "\(path): \(failure.message)")
        }
        try rig.ask(.get(GetRequest(namespace: "bob", path: "f")))
        guard case .storeAnswered(.failed(let failure))? = rig.events.last else { return XCTFail("another's namespace") }
        XCTAssertEqual(failure.code, .permissionDenied)
        XCTAssertFalse(rig.closed)
    }
}
