// The intent journal's file: what a crash or a power cut leaves is read back whole up to the first torn record, the
// files go once their intents are forgotten, a full file is replaced while intents in it are outstanding, and the
// rows a batch finishes are written in one transaction, durable when an intent was.
import Foundation
import TestSupport
import XCTest

@testable import Index

final class IntentJournalTests: IndexTestCase {
    private func file(_ path: String, size: UInt64 = 10) -> IndexedFile {
        IndexedFile(namespace: "alice", path: path, size: size, sha256: [UInt8](repeating: 3, count: 32),
                    modified: -5, uploaded: 1_800_000_000_000_000_000, uploader: "publisher")
    }

    private func journalFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: journalPath)) ?? []).sorted()
    }

    private func size(_ name: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: journalPath + "/" + name))?[.size] as? Int) ?? -1
    }

    func testTheCRCIsZlibs() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
    }

    func testRecordsRoundTripAndATornTailIsWhereReadingStops() {
        let intents = [
            Intent(id: 1, kind: .commit, namespace: "alice", path: "é/日本/x", file: file("é/日本/x")),
            Intent(id: 2, kind: .delete, namespace: "bob", path: "old", file: nil),
            Intent(id: 3, kind: .commit, namespace: "alice", path: "n", file: IndexedFile(
                namespace: "alice", path: "n", size: 0, sha256: [UInt8](repeating: 9, count: 32), modified: nil,
                uploaded: 7, uploader: "alice")),
        ]
        let bytes = intents.flatMap(IntentRecord.encode)
        XCTAssertEqual(IntentRecord.decodeAll(bytes), intents)
        let lastStart = bytes.count - IntentRecord.encode(intents[2]).count
        for cut in [lastStart + 1, lastStart + 8, bytes.count - 1] {
            XCTAssertEqual(IntentRecord.decodeAll(Array(bytes[..<cut])), Array(intents.prefix(2)), "cut at \(cut)")
        }
        var flipped = bytes
        flipped[lastStart + 12] ^= 0x40
        XCTAssertEqual(IntentRecord.decodeAll(flipped), Array(intents.prefix(2)), "a changed byte fails its checksum")
        var huge = bytes
        huge.replaceSubrange(0..<4, with: [0xFF, 0xFF, 0xFF, 0x7F])
        XCTAssertEqual(IntentRecord.decodeAll(huge), [], "a length past any record is not trusted")
        XCTAssertEqual(IntentRecord.decodeAll(Array(repeating: 0, count: 64)), [], "zeros a power cut left")
    }

    func testWhatAProcessLeftIsPendingAtOpenAndItsFileGoesOnceSettled() throws {
        var journal: IntentJournal? = try IntentJournal(directory: journalPath)
        let kept = try XCTUnwrap(journal?.append(kind: .commit, namespace: "alice", path: "a", file: file("a"), durable: true))
        let done = try XCTUnwrap(journal?.append(kind: .delete, namespace: "alice", path: "b", file: nil, durable: false))
        XCTAssertEqual(journal?.claim(done.id).claimed, true)
        journal?.forget([done.id])
        journal = nil  // killed: `kept` was never finished
        // A torn record after it, as a power cut leaves.
        let left = try XCTUnwrap(journalFiles().first)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: journalPath + "/" + left))
        handle.seekToEndOfFile()
        handle.write(Data([0x20, 0, 0, 0, 1, 2]))
        try handle.close()

        // `done` was forgotten, but its record stays in the file until the file goes: read again, settled again (the
        // store's settling only makes the index say what the tree holds, so twice is harmless).
        let reopened = try IntentJournal(directory: journalPath)
        XCTAssertEqual(reopened.pending, [kept, done])
        XCTAssertEqual(journalFiles(), [left, "intents.2"], "a new file for new intents beside the old one")
        let next = try reopened.append(kind: .commit, namespace: "alice", path: "c", file: file("c"), durable: false)
        XCTAssertGreaterThan(next.id, kept.id, "ids go on from the highest found")
        XCTAssertEqual(reopened.claim(kept.id).claimed, true)
        XCTAssertEqual(reopened.claim(kept.id).claimed, false, "claimed once")
        reopened.forget([kept.id])
        XCTAssertEqual(journalFiles(), [left, "intents.2"], "an intent of the old file is still outstanding")
        _ = reopened.claim(done.id)
        reopened.forget([done.id])
        XCTAssertEqual(journalFiles(), ["intents.2"], "the old file went with its last intent")
        XCTAssertGreaterThan(size("intents.2"), 0)
        XCTAssertEqual(reopened.claim(next.id).claimed, true)
        reopened.forget([next.id])
        XCTAssertEqual(size("intents.2"), 0, "nothing outstanding: the active file starts over")
    }

    func testAFullFileIsReplacedWhileItsIntentsAreOutstanding() throws {
        let journal = try IntentJournal(directory: journalPath)
        let long = String(repeating: "d/", count: 2000) + "f"
        var outstanding: [Intent] = []
        while journalFiles().count < 2 {
            outstanding.append(try journal.append(kind: .commit, namespace: "alice", path: long, file: file(long),
                                                  durable: false))
        }
        XCTAssertGreaterThanOrEqual(Int64(size("intents.1")), IntentJournal.rotateBytes)
        let late = try journal.append(kind: .delete, namespace: "alice", path: "z", file: nil, durable: false)
        for intent in outstanding { _ = journal.claim(intent.id) }
        journal.forget(outstanding.map(\.id))
        XCTAssertEqual(journalFiles(), ["intents.2"], "the full file went once its intents were forgotten")
        XCTAssertEqual(journal.pending, [late])
    }

    func testAJournalFileLargerThanAnyDaemonWritesIsNotReadIntoMemory() throws {
        let path = journalPath + "/intents.7"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(IntentJournal.largestReadable) + 1)  // sparse: no disk used
        try handle.close()
        XCTAssertThrowsError(try IntentJournal(directory: journalPath)) {
            XCTAssertTrue("\($0)".contains("larger than any ferryd writes"), "\($0)")
            XCTAssertTrue("\($0)".contains("ferryd reindex"), "\($0)")
        }
    }

    func testANameTheRecordCannotHoldIsRefused() throws {
        let journal = try IntentJournal(directory: journalPath)
        XCTAssertThrowsError(try journal.append(kind: .delete, namespace: "alice", path: String(repeating: "x", count: 5000),
                                                file: nil, durable: false)) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable)
        }
        XCTAssertEqual(journal.pending, [])
    }

    /// Finishes wait in memory until a batch gathers or someone reads; a reader sees them all, and the journal keeps
    /// each intent until its row is written.
    func testFinishedRowsWaitForABatchOrAReaderAndTheJournalKeepsTheirIntentsMeanwhile() throws {
        let rows = try SQLiteIndex(path: directory.path + "/rows.sqlite")
        let index = try JournaledIndex(rows: rows, journalDirectory: journalPath)
        let first = try index.beginCommit(file("one"))
        try index.finishCommit(first, waiting: false)
        XCTAssertNil(try rows.file(namespace: "alice", path: "one"), "not written yet")
        XCTAssertGreaterThan(size("intents.1"), 0, "its intent is still in the journal")
        XCTAssertEqual(try index.file(namespace: "alice", path: "one")?.size, 10, "a reader writes what waits first")
        XCTAssertEqual(size("intents.1"), 0)

        for number in 0..<JournaledIndex.batchSize {
            try index.finishCommit(try index.beginCommit(file("many/\(number)")), waiting: false)
        }
        XCTAssertEqual(try rows.usage(namespace: "alice").files, UInt64(1 + JournaledIndex.batchSize),
                       "a full batch is written by the finish that filled it")
        XCTAssertThrowsError(try index.finishCommit(first, waiting: false)) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unknownIntent)
        }
    }
}

/// The fuzz target's seeds (Fuzz/corpus/IntentJournal) read as they should, and go through its harness.
final class IntentJournalSeedTests: XCTestCase {
    func testTheSeedsDecodeAsTheirNamesSayAndPassTheHarness() throws {
        let directory = RepositoryPaths.root.appendingPathComponent("Fuzz/corpus/IntentJournal")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertEqual(names, ["commit-delete-commit", "empty", "torn-tail", "zeros-after"])
        var counts: [String: Int] = [:]
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
            counts[name] = IntentRecord.decodeAll(bytes).count
            IntentRecord.fuzz(bytes)
        }
        XCTAssertEqual(counts, ["commit-delete-commit": 3, "empty": 0, "torn-tail": 2, "zeros-after": 1])
        let first = IntentRecord.decodeAll([UInt8](try Data(contentsOf: directory.appendingPathComponent("commit-delete-commit"))))
        XCTAssertEqual(first.map(\.path), ["photos/2026/a.jpg", "old.txt", "résumé/été/日本.txt"])
        XCTAssertEqual(first.last?.file?.uploader, "publisher")
    }
}
