// A namespace's quota (UploadJobs+Quota.swift, docs/STORE.md "Quotas"): checked when an upload is prepared, from its
// declared size, against the index's usage plus the namespace's other uploads in progress and kept partials, less
// what an overwrite replaces; at the limit is allowed, past it is no_space naming the quota and the figures.
import Foundation
import Index
import Platform
import Protocol
import Synchronization
import TestSupport
import XCTest

@testable import Store

final class QuotaTests: StoreTestCase {
    private func store() throws -> (Store, JournaledIndex) {
        let index = try makeIndex()
        return (try makeStore(index: index), index)
    }

    private func stored(_ store: Store, _ path: String, _ size: Int, quota: StoreQuota, overwrite: Bool = false) throws -> UploadRun {
        let run = try upload(store, path, pattern(size), overwrite: overwrite, quota: quota)
        drive([run], on: executor)
        return run
    }

    private func context(_ store: Store, _ relativePath: String, size: UInt64, quota: StoreQuota) throws -> UploadJobs.Context {
        UploadJobs.Context(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: relativePath),
                           partName: store.rules.partName(identity: "alice", relativePath: relativePath), size: size,
                           expectedDigest: nil, overwrite: false, durable: false, reserve: 0, resumable: false, quota: quota)
    }

    func testBytesUpToTheLimitAreStoredAndPastItRefusedAtOpen() throws {
        let (store, index) = try store()
        let quota = StoreQuota(bytes: 100, files: nil)
        XCTAssertNotNil(try stored(store, "a.bin", 60, quota: quota).receipt)
        let refused = try stored(store, "b.bin", 41, quota: quota)
        XCTAssertEqual(refused.failure?.failure.code, .noSpace)
        let message = refused.failure?.failure.message ?? ""
        XCTAssertTrue(message.contains("quota of 'alice', 100 bytes") && message.contains("60 bytes stored")
                      && message.contains("it needs 41 bytes"), message)
        XCTAssertFalse(refused.events.contains { if case .ready = $0 { true } else { false } }, "refused before any byte")
        XCTAssertFalse(exists("alice/b.bin"))
        XCTAssertNotNil(try stored(store, "b.bin", 40, quota: quota).receipt, "exactly at the limit")
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 100, files: 2))
        XCTAssertEqual(try stored(store, "other.bin", 1, quota: quota).failure?.failure.code, .noSpace, "nothing more fits")
        assertNothingHeld(store)
    }

    func testFilesAreCountedAndAnOverwriteGivesBackWhatItReplaces() throws {
        let (store, _) = try store()
        let quota = StoreQuota(bytes: 100, files: 2)
        XCTAssertNotNil(try stored(store, "a.bin", 60, quota: quota).receipt)
        XCTAssertNotNil(try stored(store, "b.bin", 30, quota: quota).receipt)
        let third = try stored(store, "c.bin", 1, quota: quota)
        XCTAssertEqual(third.failure?.failure.code, .noSpace)
        XCTAssertTrue(third.failure?.failure.message.contains("2 files: 2 stored") == true, third.failure?.failure.message ?? "")
        // Replacing a.bin (60) with 70: 30 + 70 = 100 fits, and it is no new file.
        XCTAssertNotNil(try stored(store, "a.bin", 70, quota: quota, overwrite: true).receipt)
        XCTAssertEqual(contents("alice/a.bin"), pattern(70))
        XCTAssertEqual(try stored(store, "a.bin", 71, quota: quota, overwrite: true).failure?.failure.code, .noSpace)
        XCTAssertEqual(contents("alice/a.bin"), pattern(70), "the refused overwrite left the file")
        assertNothingHeld(store)
    }

    /// An upload in progress counts its whole size before it is stored; a kept partial the bytes it holds.
    func testUploadsInProgressAndKeptPartialsCount() throws {
        let (store, index) = try store()
        let quota = StoreQuota(bytes: 1000, files: nil)
        let writing = store.rules.partName(identity: "alice", relativePath: "big.bin")
        XCTAssertNil(store.partials.claim(writing, size: 700, now: 0, namespace: "alice"))
        XCTAssertNotNil(try stored(store, "x.bin", 1000, quota: quota).receipt, "claimed, not yet checked: not counted")
        try FileManager.default.removeItem(atPath: path("alice/x.bin"))
        _ = try index.finishDelete(try index.beginDelete(namespace: "alice", path: "x.bin", durable: false))
        store.partials.setQuotaShare(writing, .counted)  // past its own check: its whole size
        let refused = try stored(store, "x.bin", 301, quota: quota)
        XCTAssertEqual(refused.failure?.failure.code, .noSpace)
        XCTAssertTrue(refused.failure?.failure.message.contains("700 bytes in uploads in progress") == true,
                      refused.failure?.failure.message ?? "")
        store.partials.release(writing, kept: 200, now: 0)  // interrupted: kept, holding 200 bytes
        XCTAssertEqual(try stored(store, "x.bin", 801, quota: quota).failure?.failure.code, .noSpace)
        XCTAssertNotNil(try stored(store, "x.bin", 800, quota: quota).receipt)
        // Another namespace's uploads are not this one's.
        XCTAssertNil(store.partials.claim(store.rules.partName(identity: "bob", relativePath: "y"), size: 5000, now: 0,
                                          namespace: "bob"))
        XCTAssertNotNil(try stored(store, "z.bin", 0, quota: quota).receipt, "800 stored + 200 kept: 0 bytes still fit")
    }

    /// Uploads claimed before any of them is checked (pipelined Opens on several pool threads): the claims not yet
    /// checked count nothing, so the first two checked fit and the third does not. Counting every claim whole, each
    /// check saw the other two and all three were refused.
    func testClaimsNotYetCheckedDoNotCountAgainstEachOther() throws {
        let (store, _) = try store()
        let contexts = try (0..<3).map { n in try context(store, "f\(n).bin", size: 40, quota: StoreQuota(bytes: 100, files: 2)) }
        for context in contexts {
            XCTAssertNil(store.partials.claim(context.partName, size: 40, now: 0, namespace: "alice"))
        }
        let refusals = contexts.map { UploadJobs.checkQuota($0, in: store.root) }
        XCTAssertNil(refusals[0])
        XCTAssertNil(refusals[1])
        XCTAssertEqual(refusals[2]?.failure.code, .noSpace)
        XCTAssertEqual(store.partials.pending(namespace: "alice", besides: contexts[2].partName).bytes, 80)
    }

    /// Uploads prepared at once on real threads, as the daemon's pool does: exactly as many as fit are admitted, round
    /// after round (the namespace's gate: two checks at once each passed without the other's file, and three fitted).
    func testUploadsPreparedAtOnceAdmitExactlyWhatFits() throws {
        let (store, _) = try store()
        let quota = StoreQuota(bytes: 100, files: nil)
        let contexts = try (0..<8).map { n in try context(store, "f\(n).bin", size: 40, quota: quota) }
        for round in 0..<40 {
            let results = PlainMutex([Result<UploadJobs.Prepared, StoreFailure>?](repeating: nil, count: contexts.count))
            DispatchQueue.concurrentPerform(iterations: contexts.count) { n in
                let result = UploadJobs.prepare(contexts[n], directIO: false)
                results.withLock { $0[n] = result }
            }
            var admitted = 0
            for (n, result) in results.withLock({ $0 }).enumerated() {
                switch result {
                case .success(.upload(let prepared, _))?:
                    admitted += 1
                    UploadJobs.discard(contexts[n], prepared)
                case .failure(let refusal)?: XCTAssertEqual(refusal.failure.code, .noSpace, refusal.failure.message)
                default: XCTFail("round \(round), upload \(n): \(String(describing: result))")
                }
            }
            XCTAssertEqual(admitted, 2, "round \(round): two of 40 bytes fit 100")
        }
    }

    /// A commit moves its file from the uploads in progress to the index's usage under the namespace's gate: a
    /// check, also under it, counts each file once — never in both (refusing what fits), never in neither (letting
    /// through what does not) — however the commits and the checks interleave on real threads.
    func testACommittedFileIsCountedOnceWhileChecksRunBesideTheCommits() throws {
        let (store, index) = try store()
        let sampling = Atomic<Bool>(false)
        for round in 0..<20 {
            let contexts = try (0..<8).map { n in try context(store, "r\(round)/f\(n).bin", size: 40, quota: StoreQuota(bytes: nil, files: nil)) }
            var prepared: [PreparedUpload] = []
            for context in contexts {
                guard case .success(.upload(let upload, _)) = UploadJobs.prepare(context, directIO: false) else {
                    return XCTFail("round \(round): \(context.path.relativePath) not prepared")
                }
                prepared.append(upload)
            }
            let uploads = prepared, expected = UInt64(round + 1) * 8
            let samples = PlainMutex([(bytes: UInt64, files: UInt64)]())
            sampling.store(true, ordering: .relaxed)
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                if worker == 0 {
                    for (context, upload) in zip(contexts, uploads) {
                        _ = UploadJobs.commit(context, upload, digest: [UInt8](repeating: 7, count: 32))
                    }
                    sampling.store(false, ordering: .relaxed)
                } else {
                    while sampling.load(ordering: .relaxed) {
                        let seen = store.partials.withQuotaGate(namespace: "alice") { () -> (bytes: UInt64, files: UInt64) in
                            let pending = store.partials.pending(namespace: "alice", besides: "")
                            let usage = (try? index.usage(namespace: "alice")) ?? Usage()
                            return (pending.bytes + usage.bytes, pending.files + usage.files)
                        }
                        samples.withLock { $0.append(seen) }
                    }
                }
            }
            let wrong = samples.withLock { $0 }.filter { $0.files != expected || $0.bytes != expected * 40 }
            XCTAssertEqual(wrong.count, 0, "round \(round): \(wrong.prefix(3)) where \(expected) files of 40 bytes are")
            XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: expected * 40, files: expected))
        }
    }
}
