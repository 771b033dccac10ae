// Two stores on one root, as two ferryd sharing it (`storage.shared`, Store+Sharing.swift) — two opens in one process
// take flock(2) locks that conflict as two processes' do (each lock belongs to its open file description): they open
// beside each other and an unshared one does not; a name one takes is busy for the other; a scan of staging keeps
// what is recorded, leaves what the other holds and removes the rest; a departed one's journal is settled, a running
// one's left alone.
import Foundation
import Index
import Platform
import Protocol
@testable import Store
import XCTest

final class SharedStoreTests: StoreTestCase {
    /// The index's directory, as ferryd has it: an unshared daemon's journal, and `nodes/<node>/` the shared ones'.
    private var indexDirectory: String { rootPath + "/.index" }
    private var journals: String { indexDirectory + "/" + StoreSharing.journalsDirectory }

    private func makeShared(_ node: String, index: (any MetadataIndex)? = nil) throws -> Store {
        try Store(rootPath: rootPath, staging: Self.staging, sharing: StoreSharing(node: node), journals: indexDirectory,
                  index: index)
    }

    /// The journal of `node` over `rows`, locked as ferryd's is.
    private func journal(_ node: String, rows: any RowStore,
                         backlogLimit: Int = JournaledIndex.maximumWaiting) throws -> JournaledIndex {
        let directory = journals + "/" + node
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try JournaledIndex(rows: rows, journalDirectory: directory, exclusive: true, backlogLimit: backlogLimit)
    }

    private func journalExists(_ node: String) -> Bool { FileManager.default.fileExists(atPath: journals + "/" + node) }

    private func stagingNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: rootPath + "/" + Self.staging).sorted()
    }

    func testSharedStoresOpenBesideEachOtherAndAnUnsharedOneNeverBesideThem() throws {
        try withExtendedLifetime(try makeShared("a")) {
            try withExtendedLifetime(try makeShared("b")) {
                XCTAssertThrowsError(try makeStore()) { error in
                    XCTAssertTrue("\(error)".contains("another ferryd (or several with storage.shared) is using this storage "
                        + "root"), "\(error)")
                }
            }
            XCTAssertThrowsError(try makeStore(), "one shared store is enough to keep an unshared one out")
        }
        try withExtendedLifetime(try makeStore()) {
            XCTAssertThrowsError(try makeShared("a")) { error in
                XCTAssertTrue("\(error)".contains("a ferryd without storage.shared, or `ferryd reindex`"), "\(error)")
                XCTAssertTrue("\(error)".contains("set storage.shared = true in its configuration too"), "\(error)")
            }
        }
        XCTAssertNoThrow(try makeShared("a"))
    }

    func testANameOneStoreTookIsBusyForTheOtherUntilItLetsGo() throws {
        let first = try makeShared("a"), second = try makeShared("b")
        let name = first.rules.partName(identity: "alice", relativePath: "x.bin")
        XCTAssertNil(first.partials.claimReportingKept(name, size: 10, now: 1).refusal)
        XCTAssertEqual(second.partials.claimReportingKept(name, size: 10, now: 1).refusal, .busy)
        XCTAssertNil(second.partials.hold(name, now: 1), "a delete or rename of the name waits too")
        XCTAssertNil(second.partials.entry(name), "the refused claim left nothing behind")
        XCTAssertEqual(try stagingNames(), [NameLocks.lockName(name)])

        first.partials.release(name, kept: nil, now: 2)
        XCTAssertEqual(try stagingNames(), [], "the lock file goes with the name")
        let hold = try XCTUnwrap(second.partials.hold(name, now: 3))
        XCTAssertEqual(first.partials.claimReportingKept(name, size: 10, now: 3).refusal, .busy)
        second.partials.letGo(hold)
        let (refusal, kept) = first.partials.claimReportingKept(name, size: 10, now: 4)
        XCTAssertNil(refusal)
        XCTAssertTrue(kept, "shared, the disk is always looked at: another daemon may have kept a partial of the name")
        first.partials.release(name, kept: 4096, now: 5)
        XCTAssertNil(first.partials.entry(name), "shared, a kept partial is left to its record on disk")
        XCTAssertEqual(first.keptPartials.count, 0)
    }

    func testAScanKeepsRecordedPartialsLeavesNamesHeldElsewhereAndRemovesTheRest() throws {
        let first = try makeShared("a"), second = try makeShared("b")
        let staging = rootPath + "/" + Self.staging
        func part(_ path: String) -> String { first.rules.partName(identity: "alice", relativePath: path) }
        // A kept partial: 8 KiB on disk, 4 KiB recorded.
        try Data(count: 8192).write(to: URL(fileURLWithPath: staging + "/" + part("kept.bin")))
        XCTAssertNil(PartialJobs.writeRecord(PartialRecord(identity: "alice", path: "kept.bin", size: 10_000, offset: 4096),
                                             for: part("kept.bin"), in: first.staging))
        // A .part nobody writes and no record says anything of (a departed daemon's fresh upload): removed.
        try Data(count: 100).write(to: URL(fileURLWithPath: staging + "/" + part("orphan.bin")))
        // One the other daemon writes: left alone, record or none.
        try Data(count: 100).write(to: URL(fileURLWithPath: staging + "/" + part("live.bin")))
        XCTAssertNil(second.partials.claimReportingKept(part("live.bin"), size: 100, now: 1).refusal)
        // A departed daemon's lock file, and a record whose .part was committed: removed.
        try Data().write(to: URL(fileURLWithPath: staging + "/" + NameLocks.lockName(part("left.bin"))))
        XCTAssertNil(PartialJobs.writeRecord(PartialRecord(identity: "alice", path: "done.bin", size: 10, offset: 0),
                                             for: part("done.bin"), in: first.staging))

        let found = first.scanSharedStaging(ttlSeconds: 3600, now: SystemClock.unixSeconds())
        XCTAssertEqual(found.kept, 1)
        XCTAssertEqual(found.removed, 1)
        XCTAssertEqual(first.keptPartials.count, 1)
        XCTAssertEqual(first.keptPartials.bytes, 4096)
        XCTAssertEqual(try stagingNames(), [part("kept.bin"), PartialJobs.recordName(part("kept.bin")),
                                            NameLocks.lockName(part("live.bin")), part("live.bin")].sorted())
        XCTAssertEqual(first.partials.across?.count, 0, "every name the scan took was given back")

        // Past its time to live, the kept one goes too; the live one stays while its upload runs.
        let later = first.scanSharedStaging(ttlSeconds: 60, now: SystemClock.unixSeconds() + 120)
        XCTAssertEqual(later.removed, 1)
        XCTAssertEqual(try stagingNames(), [NameLocks.lockName(part("live.bin")), part("live.bin")].sorted())
        second.partials.release(part("live.bin"), kept: nil, now: 2)
        XCTAssertEqual(first.scanSharedStaging(ttlSeconds: 3600, now: SystemClock.unixSeconds()).removed, 1)
        XCTAssertEqual(try stagingNames(), [])
    }

    func testADepartedDaemonsJournalIsSettledAndARunningOnesIsLeftAlone() throws {
        let rows = try SQLiteIndex(path: outsidePath + "/index.sqlite")
        var departed: JournaledIndex? = try journal("old", rows: rows)
        let file = IndexedFile(namespace: "alice", path: "gone.bin", size: 1, sha256: [UInt8](repeating: 1, count: 32),
                               modified: nil, uploaded: 1, uploader: "alice")
        try departed?.finishCommit(try XCTUnwrap(departed?.beginCommit(file, durable: false)))
        // Its delete was begun and the file unlinked (there is none in the tree) when the daemon died.
        _ = try departed?.beginDelete(namespace: "alice", path: "gone.bin", durable: false)
        XCTAssertEqual(try rows.file(namespace: "alice", path: "gone.bin")?.size, 1)

        let store = try makeShared("b", index: try journal("b", rows: rows))
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished(), "its daemon still holds the journal")
        XCTAssertNotNil(try rows.file(namespace: "alice", path: "gone.bin"))

        departed = nil  // the daemon is gone: its journal's lock is free
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished(nodes: ["old"], settled: 1))
        XCTAssertNil(try rows.file(namespace: "alice", path: "gone.bin"), "the delete was finished: the file is gone")
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage())
        XCTAssertFalse(journalExists("old"), "a departed daemon's settled journal goes")
        XCTAssertTrue(journalExists("b"))
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished(), "nothing left to settle")
        XCTAssertNoThrow(try journal("old", rows: rows), "its daemon starting again makes it anew")
        XCTAssertEqual(store.partials.across?.count, 0)

        // A second daemon of the same node name cannot open that journal while the first runs.
        XCTAssertThrowsError(try journal("b", rows: rows)) { error in
            XCTAssertEqual((error as? IndexError)?.kind, .inUse, "\(error)")
        }
    }

    /// An intent this daemon's crash left, whose name another daemon holds when it starts again: left pending (never
    /// settled under that daemon's feet), and settled by the next round once the name is free.
    func testAnOwnIntentWhoseNameIsBusyAtStartIsSettledLater() throws {
        let rows = try SQLiteIndex(path: outsidePath + "/index.sqlite")
        let other = try makeShared("other")
        let name = other.rules.partName(identity: "alice", relativePath: "busy.bin")
        XCTAssertNil(other.partials.claimReportingKept(name, size: 1, now: 1).refusal)
        let file = IndexedFile(namespace: "alice", path: "busy.bin", size: 1, sha256: [UInt8](repeating: 1, count: 32),
                               modified: nil, uploaded: 1, uploader: "alice")
        do {
            let crashed = try journal("b", rows: rows)
            try crashed.finishCommit(try crashed.beginCommit(file, durable: false))
            _ = try crashed.beginDelete(namespace: "alice", path: "busy.bin", durable: false)
        }
        let store = try makeShared("b", index: try journal("b", rows: rows))
        XCTAssertEqual(store.replayedIntents, 1)
        XCTAssertNotNil(try rows.file(namespace: "alice", path: "busy.bin"), "left: its name is another daemon's")
        XCTAssertEqual(store.settleUnfinished().left, 1)
        other.partials.release(name, kept: nil, now: 2)
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished(settled: 1))
        XCTAssertNil(try rows.file(namespace: "alice", path: "busy.bin"), "settled once the name was free")
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished())
    }

    /// The index failing while a change finishes: shared, its row is not kept to be written by a later flush (the name
    /// is let go meanwhile, and another daemon's change of it would be overwritten by the stale row); the intent is
    /// pending again and settled against the tree under the name's lock once the index answers.
    func testARowTheIndexCouldNotTakeIsSettledAgainstTheTreeNotWrittenLate() throws {
        let rows = FailingRows(try SQLiteIndex(path: outsidePath + "/index.sqlite"))
        let index = try journal("b", rows: rows)
        let store = try makeShared("b", index: index)
        let file = IndexedFile(namespace: "alice", path: "late.bin", size: 1, sha256: [UInt8](repeating: 1, count: 32),
                               modified: nil, uploaded: 1, uploader: "alice")
        rows.failing = true
        let intent = try index.beginCommit(file, durable: false)
        XCTAssertThrowsError(try index.finishCommit(intent, waiting: true))
        rows.failing = false
        try index.flush()
        XCTAssertNil(try rows.file(namespace: "alice", path: "late.bin"), "the failed batch was dropped, not kept")
        // No file in the tree: settled as a commit that did not happen.
        XCTAssertEqual(store.settleUnfinished().settled, 1)
        XCTAssertNil(try rows.file(namespace: "alice", path: "late.bin"))
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertEqual(store.settleUnfinished(), Store.Unfinished())
    }

    /// The index down (a PostgreSQL server gone): settling tries once and leaves every intent for the next round —
    /// each further try would wait out its connect timeout — and settles them all once the index answers; past the
    /// backlog limit new changes are refused, shared as alone (the intents in the journal are what is counted).
    func testAnIndexThatIsDownIsTriedOnceARoundAndItsBacklogIsBounded() throws {
        let rows = FailingRows(try SQLiteIndex(path: outsidePath + "/index.sqlite"))
        let index = try journal("b", rows: rows, backlogLimit: 5)
        let store = try makeShared("b", index: index)
        rows.failing = true
        // Five files stored (in the tree) whose rows the index did not take: settling them needs the index.
        try FileManager.default.createDirectory(atPath: rootPath + "/alice", withIntermediateDirectories: true)
        for number in 0..<5 {
            let content = Array("file \(number)".utf8)
            try Data(content).write(to: URL(fileURLWithPath: rootPath + "/alice/f\(number).bin"))
            let file = IndexedFile(namespace: "alice", path: "f\(number).bin", size: UInt64(content.count),
                                   sha256: DigestContext.hash(.sha256, content), modified: nil, uploaded: 1, uploader: "alice")
            XCTAssertThrowsError(try index.finishCommit(try index.beginCommit(file, durable: false), waiting: true))
        }
        let refused = IndexedFile(namespace: "alice", path: "refused.bin", size: 1,
                                  sha256: [UInt8](repeating: 1, count: 32), modified: nil, uploaded: 1, uploader: "alice")
        XCTAssertThrowsError(try index.beginCommit(refused, durable: false)) { error in
            XCTAssertEqual((error as? IndexError)?.kind, .unavailable, "\(error)")
        }
        let callsBefore = rows.failedCalls
        let down = store.settleUnfinished()
        XCTAssertEqual(rows.failedCalls - callsBefore, 1, "one try of the index a round")
        XCTAssertEqual(down.failures.count, 1, "\(down.failures)")
        XCTAssertEqual(down.left, 5)
        XCTAssertEqual(down.settled, 0)
        rows.failing = false
        XCTAssertEqual(store.settleUnfinished().settled, 5)
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertNoThrow(try index.beginCommit(refused, durable: false), "room again")
    }

    /// Shared, a read does not queue behind a batch being written to a slow index: every change's row is written
    /// before the change returns, so there is nothing for it to wait for.
    func testAReadDoesNotWaitBehindAWriteToASlowIndex() throws {
        let rows = FailingRows(try SQLiteIndex(path: outsidePath + "/index.sqlite"))
        let index = try journal("b", rows: rows)
        let applying = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        rows.gate = (applying, release)
        let file = IndexedFile(namespace: "alice", path: "slow.bin", size: 1, sha256: [UInt8](repeating: 1, count: 32),
                               modified: nil, uploaded: 1, uploader: "alice")
        let intent = try index.beginCommit(file, durable: false)
        let committed = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do { try index.finishCommit(intent, waiting: true) } catch { XCTFail("\(error)") }
            committed.signal()
        }
        applying.wait()  // the batch is in the slow index's hands
        let read = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do { _ = try index.file(namespace: "alice", path: "other.bin") } catch { XCTFail("\(error)") }
            read.signal()
        }
        // Not a measure of speed: a read that waits for the write would wait here until the write is let go below.
        XCTAssertEqual(read.wait(timeout: .now() + 30), .success, "the read waited for the write")
        rows.gate = nil
        release.signal()
        committed.wait()
        XCTAssertNotNil(try index.file(namespace: "alice", path: "slow.bin"))
    }

    /// A name's lock file left in staging by shared daemons is removed by an unshared one's start (none is in use).
    func testAnUnsharedStartRemovesTheSharedNameLocks() throws {
        do {
            let shared = try makeShared("a")
            let name = shared.rules.partName(identity: "alice", relativePath: "x.bin")
            XCTAssertNil(shared.partials.claimReportingKept(name, size: 10, now: 1).refusal)
            XCTAssertEqual(try stagingNames(), [NameLocks.lockName(name)])
        }
        let alone = try makeStore()
        _ = alone.recoverPartials(ttlSeconds: 3_600, now: 2)
        XCTAssertEqual(try stagingNames(), [])
    }

    /// A journal an unshared daemon left (the root shared since) is settled by a shared one; the journals shared
    /// daemons left, by an unshared one at its start.
    func testJournalsOfTheOtherModeAreSettled() throws {
        let rows = try SQLiteIndex(path: outsidePath + "/index.sqlite")
        let file = IndexedFile(namespace: "alice", path: "gone.bin", size: 1, sha256: [UInt8](repeating: 1, count: 32),
                               modified: nil, uploaded: 1, uploader: "alice")
        try FileManager.default.createDirectory(atPath: indexDirectory, withIntermediateDirectories: true)
        do {
            let unshared = try JournaledIndex(rows: rows, journalDirectory: indexDirectory)
            try unshared.finishCommit(try unshared.beginCommit(file, durable: false))
            _ = try unshared.beginDelete(namespace: "alice", path: "gone.bin", durable: false)
        }
        do {
            let shared = try makeShared("b", index: try journal("b", rows: rows))
            XCTAssertEqual(shared.settleUnfinished(), Store.Unfinished(nodes: [Store.unsharedJournalName], settled: 1))
            XCTAssertNil(try rows.file(namespace: "alice", path: "gone.bin"))
            // And b leaves a delete of its own behind.
            try rows.apply([.put(file)], durable: true)
            _ = try (shared.index as? JournaledIndex)?.beginDelete(namespace: "alice", path: "gone.bin", durable: false)
        }
        let alone = try Store(rootPath: rootPath, staging: Self.staging, journals: indexDirectory,
                              index: try JournaledIndex(rows: rows, journalDirectory: indexDirectory))
        XCTAssertEqual(alone.settleUnfinished(), Store.Unfinished(nodes: ["b"], settled: 1))
        XCTAssertNil(try rows.file(namespace: "alice", path: "gone.bin"))
        XCTAssertFalse(journalExists("b"), "a shared daemon's settled journal goes")
    }

    /// Shared, a row the index has not caught up on (PostgreSQL refused the change a moment ago) is not moved with a
    /// rename of its file: refused as busy, nothing moved; once the row is the file's, the rename goes through.
    func testARenameRefusesARowThatDiffersFromItsFilesRecord() throws {
        let rows = try SQLiteIndex(path: outsidePath + "/index.sqlite")
        let index = try journal("b", rows: rows)
        let store = try makeShared("b", index: index)
        let content = pattern(3000)
        let run = try upload(store, "x.bin", content)
        drive([run], on: executor)
        let stored = try XCTUnwrap(try rows.file(namespace: "alice", path: "x.bin"), "\(run.events)")
        let stale = IndexedFile(namespace: "alice", path: "x.bin", size: 10, sha256: [UInt8](repeating: 9, count: 32),
                                modified: nil, uploaded: 1, uploader: "alice")
        try rows.apply([.put(stale)], durable: true)
        let request = StoreRequest.rename(RenameRequest(from: "x.bin", to: "y.bin"))
        let refused = StoreChange(request: request, namespace: "alice", store: store, index: index, durable: true).answer()
        guard case .failed(let failure) = refused.answer else { return XCTFail("renamed: \(refused.answer)") }
        XCTAssertEqual(failure.code, .busy)
        XCTAssertTrue(failure.message.contains("its index has not caught up yet"), failure.message)
        XCTAssertEqual(contents("alice/x.bin"), content)
        XCTAssertFalse(exists("alice/y.bin"))

        try rows.apply([.put(stored)], durable: true)
        let moved = StoreChange(request: request, namespace: "alice", store: store, index: index, durable: true).answer()
        guard case .stat = moved.answer else { return XCTFail("not renamed: \(moved.answer)") }
        XCTAssertEqual(contents("alice/y.bin"), content)
        XCTAssertEqual(try rows.file(namespace: "alice", path: "y.bin")?.sha256, stored.sha256)
    }
}


/// Rows that fail every call while `failing` (an index server that went away), counting the calls that failed; with a
/// `gate`, a change signals the first semaphore and waits for the second (an index that is slow to answer).
private final class FailingRows: RowStore, @unchecked Sendable {
    // @unchecked: `failing` and `gate` are set by the test between calls; `failedCalls` is read between them too.
    private let rows: any RowStore
    var failing = false
    var gate: (started: DispatchSemaphore, release: DispatchSemaphore)?
    private(set) var failedCalls = 0

    init(_ rows: any RowStore) { self.rows = rows }

    private func check() throws(IndexError) {
        guard failing else { return }
        failedCalls += 1
        throw IndexError(.unavailable, "the test's index is down")
    }

    func apply(_ changes: [RowChange], durable: Bool) throws(IndexError) {
        try check()
        if let gate {
            gate.started.signal()
            gate.release.wait()
        }
        try rows.apply(changes, durable: durable)
    }

    func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try check()
        return try rows.file(namespace: namespace, path: path)
    }
    func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] {
        try check()
        return try rows.files(namespace: namespace, prefix: prefix, after: cursor, limit: limit)
    }
    func usage(namespace: String) throws(IndexError) -> Usage {
        try check()
        return try rows.usage(namespace: namespace)
    }
    func usage(namespace: String, prefix: String) throws(IndexError) -> Usage {
        try check()
        return try rows.usage(namespace: namespace, prefix: prefix)
    }
    func namespaces() throws(IndexError) -> [String] {
        try check()
        return try rows.namespaces()
    }
    func totalUsage() throws(IndexError) -> Usage {
        try check()
        return try rows.totalUsage()
    }
    func scan(namespace: String, from lower: String, inclusive: Bool, below upper: String?, limit: Int) throws(IndexError)
        -> [IndexedFile] {
        try check()
        return try rows.scan(namespace: namespace, from: lower, inclusive: inclusive, below: upper, limit: limit)
    }
    func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) {
        try check()
        try rows.replaceNamespace(namespace, with: files)
    }
}
