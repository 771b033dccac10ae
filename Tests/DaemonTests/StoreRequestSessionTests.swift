// The daemon's side of Stat and List (PROTOCOL.md §14) without a socket: ServerSession with a real Store and index,
// its lookups run when the test says. What the session refuses at once (another's namespace, a path against §8.11, no
// index) and what the index answers; a lookup in flight holds a shutdown until it is answered; uploads go on after.
import Foundation
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class StoreRequestSessionTests: XCTestCase {
    private func lastAnswer(_ rig: SessionRig) -> StoreAnswer? {
        guard case .storeAnswered(let answer)? = rig.events.last else { return nil }
        return answer
    }

    func testStatAndListAreAnsweredFromTheIndexOnThePool() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("store-session"), indexed: true)
        try rig.handshake()
        let content = [UInt8](repeating: 7, count: 5000)
        try rig.upload("docs/a.bin", content)
        try rig.upload("docs/sub/b.bin", [1, 2, 3])

        try rig.ask(.stat(StatRequest(path: "docs/a.bin")))
        XCTAssertNil(lastAnswer(rig), "answered before the lookup ran")
        XCTAssertTrue(rig.session.isBusy)
        try rig.runJobs()
        guard case .stat(.file(let entry))? = lastAnswer(rig) else { return XCTFail("\(rig.events.last.map { "\($0)" } ?? "")") }
        XCTAssertEqual(entry.size, 5000)
        XCTAssertEqual(entry.sha256, DigestContext.hash(.sha256, content))
        XCTAssertEqual(entry.uploader, "alice")
        XCTAssertFalse(rig.session.isBusy)

        // Its own namespace by name is the same as "".
        try rig.ask(.stat(StatRequest(namespace: "alice", path: "docs")))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .stat(.directory(path: "docs", files: 2, bytes: 5003)))

        try rig.ask(.list(ListRequest(directory: "docs/", limit: 1)))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .list(ListPage(entries: [.file(entry)], nextCursor: "docs/a.bin")))
        try rig.ask(.list(ListRequest(directory: "docs/", cursor: "docs/a.bin", limit: 1)))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .list(ListPage(entries: [.directory("docs/sub")], nextCursor: "")),
                       "the last page says so, though it is full")

        try rig.ask(.list(ListRequest(directory: "docs/a.bin/")))
        try rig.runJobs()
        guard case .failed(let failure)? = lastAnswer(rig) else { return XCTFail("a file listed as a directory") }
        XCTAssertEqual(failure.code, .notFound)
        XCTAssertTrue(failure.message.contains("is a file"), failure.message)

        // Uploads go on in the same session.
        try rig.upload("docs/c.bin", [9])
        XCTAssertEqual(rig.events.last, .uploadCommitted(UploadReceipt(storedName: "docs/c.bin", size: 1,
                                                                       digest: DigestContext.hash(.sha256, [9]))))
    }

    func testRefusalsComeAtOnceWithoutALookup() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("store-refusals"), indexed: true)
        try rig.handshake()
        let refusals: [(StoreRequest, UploadErrorCode, String)] = [
            (.stat(StatRequest(namespace: "bob", path: "x")), .permissionDenied, "its own files only"),
            (.list(ListRequest(namespace: "bob", directory: "")), .permissionDenied, "'bob'"),
            (.stat(StatRequest(path: "a/../b")), .badPath, ".."),
            (.list(ListRequest(directory: ".staging/")), .badPath, ".staging"),
            (.stat(StatRequest(path: "caf\u{65}\u{301}")), .badPath, "NFC"),
        ]
        for (request, code, words) in refusals {
            try rig.ask(request)
            XCTAssertEqual(rig.executor.queuedResultTypes.count, 0, "\(request): no lookup for a refusal")
            guard case .failed(let failure)? = lastAnswer(rig) else { XCTFail("\(request) was not refused"); continue }
            XCTAssertEqual(failure.code, code, "\(request)")
            XCTAssertTrue(failure.message.contains(words), "\(request): \(failure.message)")
        }
        XCTAssertFalse(rig.closed)
        let exposition = String(decoding: rig.metrics.exposition(), as: UTF8.self)
        for line in ["ferry_store_requests_total{request=\"stat\",result=\"refused\"} 3",
                     "ferry_store_requests_total{request=\"list\",result=\"refused\"} 2",
                     "ferry_store_requests_total{request=\"list\",result=\"ok\"} 0"] {
            XCTAssertTrue(exposition.contains(line), "\(line) in\n\(exposition)")
        }
    }

    func testWithoutAnIndexTheAnswerIsNotSupported() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("store-noindex"))
        try rig.handshake()
        try rig.ask(.list(ListRequest(directory: "")))
        guard case .failed(let failure)? = lastAnswer(rig) else { return XCTFail("not refused") }
        XCTAssertEqual(failure.code, .notSupported)
        XCTAssertTrue(failure.message.contains("backend = \"off\""), failure.message)
    }

    func testAShutdownWaitsForTheAnswerInFlight() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("store-drain"), indexed: true)
        try rig.handshake()
        try rig.upload("a", [1])
        try rig.ask(.stat(StatRequest(path: "a")))
        rig.perform(rig.session.shutdown(force: false, now: rig.now))
        XCTAssertFalse(rig.closed, "closed with a lookup in flight")
        try rig.runJobs()
        guard case .stat(.file)? = rig.events.dropLast().last.flatMap({ event -> StoreAnswer? in
            if case .storeAnswered(let answer) = event { answer } else { nil }
        }) else { return XCTFail("\(rig.events.suffix(2))") }
        XCTAssertEqual(rig.events.last, .peerClosed, "Goodbye after the answer")
        XCTAssertTrue(rig.closed)
    }
}
