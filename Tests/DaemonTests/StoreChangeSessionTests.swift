// The daemon's side of Delete, Rename and Verify (PROTOCOL.md §14.8–§14.10) without a socket: ServerSession with a real
// Store and index. Refusals at once (another's namespace, either path of a Rename against §8.11, no index); the change
// made on the pool and answered; a Verify re-read a step per job, each step progress for the idle timeout; a damaged
// copy logged for the operator; the metrics by request.
import Foundation
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class StoreChangeSessionTests: XCTestCase {
    private func lastAnswer(_ rig: SessionRig) -> StoreAnswer? {
        guard case .storeAnswered(let answer)? = rig.events.last else { return nil }
        return answer
    }

    func testDeleteAndRenameAreMadeOnThePoolAndAnswered() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("change-session"), indexed: true)
        try rig.handshake()
        try rig.upload("d/a.bin", [1, 2, 3])
        try rig.upload("d/b.bin", [4, 5])

        try rig.ask(.rename(RenameRequest(from: "d/a.bin", to: "e/a.bin")))
        XCTAssertNil(lastAnswer(rig), "answered before the change ran")
        XCTAssertTrue(rig.session.isBusy)
        try rig.runJobs()
        guard case .stat(.file(let entry))? = lastAnswer(rig) else { return XCTFail("\(rig.events.suffix(1))") }
        XCTAssertEqual(entry.path, "e/a.bin")
        XCTAssertEqual(entry.sha256, DigestContext.hash(.sha256, [1, 2, 3]))
        XCTAssertFalse(rig.session.isBusy)

        try rig.ask(.delete(DeleteRequest(path: "d", recursive: true)))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .deleted(DeleteOutcome(files: 1, bytes: 2)))
        try rig.ask(.stat(StatRequest(path: "")))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .stat(.directory(path: "", files: 1, bytes: 3)))

        // The name is free again: uploads go on in the same session.
        try rig.upload("d/a.bin", [9])
        XCTAssertEqual(rig.events.last, .uploadCommitted(UploadReceipt(storedName: "d/a.bin", size: 1,
                                                                       digest: DigestContext.hash(.sha256, [9]))))
        let exposition = String(decoding: rig.metrics.exposition(), as: UTF8.self)
        for line in ["ferry_store_requests_total{request=\"rename\",result=\"ok\"} 1",
                     "ferry_store_requests_total{request=\"delete\",result=\"ok\"} 1"] {
            XCTAssertTrue(exposition.contains(line), "\(line) in\n\(exposition)")
        }
    }

    func testRefusalsComeAtOnceWithoutAJob() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("change-refusals"), indexed: true)
        try rig.handshake()
        let refusals: [(StoreRequest, UploadErrorCode, String)] = [
            (.delete(DeleteRequest(namespace: "bob", path: "x")), .permissionDenied, "\"alice: delete on bob/x\""),
            (.rename(RenameRequest(namespace: "bob", from: "x", to: "y")), .permissionDenied, "\"alice: delete on bob/x\""),
            (.verify(VerifyRequest(namespace: "bob", path: "x")), .permissionDenied, "\"alice: read on bob/x\""),
            (.delete(DeleteRequest(path: "a/../b")), .badPath, ".."),
            (.rename(RenameRequest(from: "ok.bin", to: ".staging/x")), .badPath, ".staging"),
            (.rename(RenameRequest(from: "a/./b", to: "ok.bin")), .badPath, "."),
            (.verify(VerifyRequest(path: "caf\u{65}\u{301}")), .badPath, "NFC"),
        ]
        for (request, code, words) in refusals {
            try rig.ask(request)
            XCTAssertEqual(rig.executor.queuedResultTypes.count, 0, "\(request): no job for a refusal")
            guard case .failed(let failure)? = lastAnswer(rig) else { XCTFail("\(request) was not refused"); continue }
            XCTAssertEqual(failure.code, code, "\(request)")
            XCTAssertTrue(failure.message.contains(words), "\(request): \(failure.message)")
        }
        XCTAssertFalse(rig.closed)
        let exposition = String(decoding: rig.metrics.exposition(), as: UTF8.self)
        for line in ["ferry_store_requests_total{request=\"delete\",result=\"refused\"} 2",
                     "ferry_store_requests_total{request=\"rename\",result=\"refused\"} 3",
                     "ferry_store_requests_total{request=\"verify\",result=\"refused\"} 2"] {
            XCTAssertTrue(exposition.contains(line), "\(line) in\n\(exposition)")
        }
    }

    /// Replacing a file by a rename is an overwrite: refused as an upload's is while [storage] allow_overwrite is off.
    func testARenameOverAFileFollowsAllowOverwrite() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("rename-overwrite"), indexed: true)
        try rig.handshake()
        try rig.upload("a.bin", [1])
        try rig.upload("b.bin", [2])
        try rig.ask(.rename(RenameRequest(from: "a.bin", to: "b.bin", overwrite: true)))
        XCTAssertEqual(rig.executor.queuedResultTypes.count, 0, "refused at once")
        guard case .failed(let failure)? = lastAnswer(rig) else { return XCTFail("\(rig.events.suffix(1))") }
        XCTAssertEqual(failure.code, .exists)
        XCTAssertTrue(failure.message.contains("allow_overwrite"), failure.message)
        XCTAssertEqual(try Data(contentsOf: rig.root.appending(path: "alice/b.bin")), Data([2]))
    }

    func testWithoutAnIndexNothingCanBeChanged() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("change-noindex"))
        try rig.handshake()
        try rig.upload("a.bin", [1])
        for request in [StoreRequest.delete(DeleteRequest(path: "a.bin")), .rename(RenameRequest(from: "a.bin", to: "b.bin")),
                        .verify(VerifyRequest(path: "a.bin"))] {
            try rig.ask(request)
            guard case .failed(let failure)? = lastAnswer(rig) else { XCTFail("\(request) not refused"); continue }
            XCTAssertEqual(failure.code, .notSupported)
        }
    }

    /// A file of two steps and a bit: three jobs, each moving the session's progress (what the idle timer watches),
    /// then the answer; a copy changed on the disk is answered as read and logged as a warning.
    func testVerifyReadsAStepPerJobAndEachIsProgress() throws {
        let directory = try makeTemporaryDirectory("verify-session")
        let rig = try SessionRig(directory: directory, indexed: true)
        try rig.handshake()
        let content = [UInt8]((0..<(33 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try rig.upload("big.bin", content)
        try rig.ask(.verify(VerifyRequest(path: "big.bin")))
        var progress: [UInt64] = [rig.session.progress]
        while lastAnswer(rig) == nil {
            try rig.runJobs(1)
            progress.append(rig.session.progress)
        }
        XCTAssertEqual(progress.count, 4, "three steps of at most 16 MiB")
        XCTAssertEqual(Set(progress).count, 4, "each step moved the session forward: \(progress)")
        let digest = DigestContext.hash(.sha256, content)
        XCTAssertEqual(lastAnswer(rig), .verified(VerifyResult(size: UInt64(content.count), recorded: digest, read: digest)))

        try rig.upload("small.bin", [1, 2, 3, 4])
        try Data([1, 2, 3, 5]).write(to: rig.root.appendingPathComponent("alice/small.bin"))
        try rig.ask(.verify(VerifyRequest(path: "small.bin")))
        try rig.runJobs()
        XCTAssertEqual(lastAnswer(rig), .verified(VerifyResult(size: 4, recorded: DigestContext.hash(.sha256, [1, 2, 3, 4]),
                                                               read: DigestContext.hash(.sha256, [1, 2, 3, 5]))))
        let warning = rig.logged.all.first { $0.message == "stored file differs from its recorded SHA-256" }
        XCTAssertEqual(warning?.metadata["path"], "alice/small.bin")
    }
}
