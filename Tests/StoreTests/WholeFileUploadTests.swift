// WholeFileUpload (a pipelined upload, PROTOCOL.md §8.10) stored in one job against a real directory: the committed
// file's bytes, mode and times, nothing left in the staging directory (a fresh name never touches it: an unnamed
// O_TMPFILE file in the target directory, linked at commit), a digest mismatch that leaves nothing, the final name
// taken (exists, already stored, or replaced when overwriting through a named .part), a kept partial of the name
// dropped, a symbolic link refused and never followed, an empty file, and two uploads of one name at once.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class WholeFileUploadTests: StoreTestCase {
    /// alice's `relativePath` stored from `content` (fed in chunks into the room `reserve` gives, as the protocol
    /// decrypts into it) in one job of the stepped executor; the outcome.
    private func storeWhole(_ store: Store, _ relativePath: String, _ content: [UInt8], size: UInt64? = nil,
                            clientDigest: [UInt8]? = nil, expectedDigest: [UInt8]? = nil, overwrite: Bool = false,
                            times: FileTimes? = nil, file: StaticString = #filePath,
                            line: UInt = #line) throws -> WholeFileUpload.Outcome? {
        let upload = WholeFileUpload(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: relativePath),
                                     size: size ?? UInt64(content.count), expectedDigest: expectedDigest,
                                     overwrite: overwrite, durable: true, reserve: 0)
        for start in stride(from: 0, to: content.count, by: 65_536) {
            let end = min(start + 65_536, content.count)
            let room = upload.reserve(end - start)
            content[start..<end].withUnsafeBytes { room.copyMemory(from: $0) }
            upload.appendWritten(end - start)
        }
        XCTAssertEqual(upload.received, content.count, file: file, line: line)
        var outcome: WholeFileUpload.Outcome?
        upload.store(clientDigest: clientDigest ?? DigestContext.hash(.sha256, content), times: times,
                     executor: executor) { outcome = $0 }
        XCTAssertNil(outcome, "not before its job ran", file: file, line: line)
        XCTAssertTrue(executor.runNext(), file: file, line: line)
        XCTAssertTrue(executor.isIdle, "one job", file: file, line: line)
        return outcome
    }

    private func receipt(_ relativePath: String, _ content: [UInt8]) -> WholeFileUpload.Outcome {
        .committed(UploadReceipt(storedName: relativePath, size: UInt64(content.count), digest: DigestContext.hash(.sha256, content)))
    }

    private func code(_ outcome: WholeFileUpload.Outcome?) -> UploadErrorCode? {
        if case .failed(let failure)? = outcome { failure.failure.code } else { nil }
    }

    private func status(_ relative: String) -> stat? {
        var info = stat()
        return lstat(path(relative), &info) == 0 ? info : nil
    }

    private func stagingEntries() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path(Self.staging))) ?? ["(no staging directory)"]
    }

    /// Nothing held and nothing in the staging directory, no index entry for alice's `relativePath`.
    private func assertClean(_ store: Store, _ relativePath: String, file: StaticString = #filePath, line: UInt = #line) {
        assertNothingHeld(store, file: file, line: line)
        XCTAssertEqual(stagingEntries(), [], "staging directory empty", file: file, line: line)
        XCTAssertNil(store.partials.entry(store.rules.partName(identity: "alice", relativePath: relativePath)),
                     "no claim left", file: file, line: line)
    }

    func testAFileIsStoredWholeWithItsBytesModeAndTimes() throws {
        let store = try makeStore()
        let content = pattern(300_000, seed: 1)
        let times = FileTimes(modificationSeconds: 1_000_000_000, modificationNanoseconds: 123_456_789, executable: false)
        XCTAssertEqual(try storeWhole(store, "docs/deep/f.bin", content, times: times), receipt("docs/deep/f.bin", content))
        XCTAssertEqual(contents("alice/docs/deep/f.bin"), content)
        let stored = try XCTUnwrap(status("alice/docs/deep/f.bin"))
        XCTAssertEqual(stored.st_mode & 0o777, 0o640)
        XCTAssertEqual(stored.st_mtim.tv_sec, 1_000_000_000)
        XCTAssertEqual(stored.st_mtim.tv_nsec, 123_456_789)
        XCTAssertEqual(stored.st_nlink, 1, "one name: no staging file linked to it")
        XCTAssertEqual(uploadsTree().keys.sorted(), ["alice", "alice/docs", "alice/docs/deep", "alice/docs/deep/f.bin"])
        assertClean(store, "docs/deep/f.bin")

        let script = Array("#!/bin/sh\n".utf8)
        let executable = FileTimes(modificationSeconds: 1_500_000_000, modificationNanoseconds: 0, executable: true)
        XCTAssertEqual(try storeWhole(store, "run.sh", script, times: executable), receipt("run.sh", script))
        XCTAssertEqual((status("alice/run.sh")?.st_mode ?? 0) & 0o777, 0o750, "the execute bit travels")
        XCTAssertEqual(status("alice/run.sh")?.st_mtim.tv_sec, 1_500_000_000)

        let before = Int(Date().timeIntervalSince1970)
        XCTAssertEqual(try storeWhole(store, "now.bin", [1]), receipt("now.bin", [1]))
        XCTAssertGreaterThanOrEqual(status("alice/now.bin")?.st_mtim.tv_sec ?? 0, before, "without times: the upload's own")
        assertClean(store, "now.bin")
    }

    /// The file is unnamed until its commit, in its own directory: with the staging directory gone, a fresh name is
    /// still stored; an overwrite, which goes through a named .part in staging, fails and leaves the old file.
    func testAFreshNameNeverTouchesTheStagingDirectory() throws {
        let store = try makeStore()
        XCTAssertEqual(rmdir(path(Self.staging)), 0)
        let content = pattern(70_000, seed: 2)
        XCTAssertEqual(try storeWhole(store, "f.bin", content), receipt("f.bin", content))
        XCTAssertEqual(contents("alice/f.bin"), content)
        XCTAssertFalse(exists(Self.staging))
        let replaced = try storeWhole(store, "f.bin", [1, 2, 3], overwrite: true)
        XCTAssertEqual(code(replaced), .storageFailure)
        XCTAssertEqual(contents("alice/f.bin"), content, "the stored file is untouched")
        XCTAssertEqual(store.heldDirectories, 0)
    }

    func testADigestMismatchLeavesNothing() throws {
        let store = try makeStore()
        let content = pattern(5000, seed: 3)
        let mismatch = try storeWhole(store, "d/f.bin", content, clientDigest: DigestContext.hash(.sha256, [0]))
        XCTAssertEqual(code(mismatch), .digestMismatch)
        let short = try storeWhole(store, "d/f.bin", Array(content.dropLast()), size: 5000)
        XCTAssertEqual(code(short), .digestMismatch, "fewer bytes than Open's size")
        XCTAssertEqual(uploadsTree(), [:], "not even the directories")
        assertClean(store, "d/f.bin")
    }

    func testAnExistingFileIsExistsUnlessOverwritten() throws {
        let store = try makeStore()
        try makeDirectories("alice")
        try writeFile(path("alice/f.bin"), Array("old".utf8))
        let content = pattern(1 << 20, seed: 4)
        XCTAssertEqual(code(try storeWhole(store, "f.bin", content)), .exists)
        XCTAssertEqual(contents("alice/f.bin"), Array("old".utf8))
        assertClean(store, "f.bin")

        let times = FileTimes(modificationSeconds: 1_234_567_890, modificationNanoseconds: 5, executable: true)
        XCTAssertEqual(try storeWhole(store, "f.bin", content, overwrite: true, times: times), receipt("f.bin", content))
        XCTAssertEqual(contents("alice/f.bin"), content)
        XCTAssertEqual((status("alice/f.bin")?.st_mode ?? 0) & 0o777, 0o750)
        XCTAssertEqual(status("alice/f.bin")?.st_mtim.tv_sec, 1_234_567_890)
        XCTAssertEqual(status("alice/f.bin")?.st_nlink, 1, "the .part was renamed, not left linked")
        assertClean(store, "f.bin")
    }

    /// The digest is recorded on the unnamed file before its link, so the same file announced again is answered
    /// from the record with nothing written; other content announced is `exists`.
    func testTheSameFileAnnouncedAgainIsAlreadyStored() throws {
        let store = try makeStore()
        let content = pattern(200_000, seed: 5)
        let digest = DigestContext.hash(.sha256, content)
        XCTAssertEqual(try storeWhole(store, "a/f.bin", content), receipt("a/f.bin", content))
        let descriptor = open(path("alice/a/f.bin"), O_RDONLY)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        let attribute = FileAttributes.get(StoredDigest.attribute, of: descriptor, maximumLength: StoredDigest.length)
        XCTAssertEqual(attribute?.count, StoredDigest.length, "recorded at commit")
        XCTAssertEqual(attribute?.suffix(32).map { $0 }, digest)
        let before = try XCTUnwrap(status("alice/a/f.bin"))

        XCTAssertEqual(try storeWhole(store, "a/f.bin", content, expectedDigest: digest),
                       .alreadyStored(UploadReceipt(storedName: "a/f.bin", size: 200_000, digest: digest)))
        let after = try XCTUnwrap(status("alice/a/f.bin"))
        XCTAssertEqual(after.st_ino, before.st_ino)
        XCTAssertEqual([after.st_mtim.tv_sec, after.st_mtim.tv_nsec], [before.st_mtim.tv_sec, before.st_mtim.tv_nsec],
                       "nothing written")
        let other = pattern(200_000, seed: 6)
        XCTAssertEqual(code(try storeWhole(store, "a/f.bin", other, expectedDigest: DigestContext.hash(.sha256, other))), .exists)
        XCTAssertEqual(contents("alice/a/f.bin"), content)
        assertClean(store, "a/f.bin")
    }

    /// A partial kept for the name (a streamed upload whose connection dropped) is dropped: a pipelined upload
    /// starts at 0 and is never resumed (§8.10), through either kind of file.
    func testAKeptPartialOfTheNameIsDropped() throws {
        let store = try makeStore()
        for overwrite in [false, true] {
            let name = "kept-\(overwrite).bin"
            let run = try upload(store, name, pattern(1 << 20, seed: 7))
            run.stopAt = 600_000
            drive([run], on: executor)
            _ = run.writer.suspend()
            executor.runAll()
            XCTAssertEqual(partialRecord(store, name)?.offset, 600_000, "kept")
            XCTAssertEqual(store.partials.kept.count, 1)
            let content = pattern(1 << 20, seed: 8)
            XCTAssertEqual(try storeWhole(store, name, content, overwrite: overwrite), receipt(name, content), "overwrite \(overwrite)")
            XCTAssertEqual(contents("alice/" + name), content)
            XCTAssertNil(partialRecord(store, name))
            XCTAssertEqual(store.partials.kept.count, 0)
            assertClean(store, name)
        }
    }

    func testASymbolicLinkAtTheNameIsRefusedAndNotFollowed() throws {
        let store = try makeStore()
        try makeDirectories("alice")
        try writeFile(outsidePath + "/secret.txt", Array("secret".utf8))
        for overwrite in [false, true] {
            for target in [outsidePath + "/secret.txt", outsidePath + "/nothing-yet.txt"] {
                try? FileManager.default.removeItem(atPath: path("alice/f.txt"))
                try symlink("alice/f.txt", to: target)
                let outsideBefore = tree(outsidePath)
                let outcome = try storeWhole(store, "f.txt", pattern(3000), overwrite: overwrite)
                guard case .failed(let failure)? = outcome else { return XCTFail("stored through a link: \(String(describing: outcome))") }
                XCTAssertEqual(failure.failure.code, .permissionDenied)
                XCTAssertTrue(failure.isSuspicious)
                XCTAssertEqual(tree(outsidePath), outsideBefore, "overwrite \(overwrite), \(target)")
                XCTAssertEqual(lstatKind(path("alice/f.txt")), .symbolicLink)
                assertClean(store, "f.txt")
            }
        }
    }

    /// A link (or a file) put at the name between the job's prepare and its commit: an unnamed file's link refuses
    /// any name there (exists), the named .part's commit refuses the link; neither follows nor replaces it.
    func testANameTakenAfterPrepareIsNeitherFollowedNorReplaced() throws {
        let store = try makeStore()
        try writeFile(outsidePath + "/secret.txt", Array("secret".utf8))
        for overwrite in [false, true] {
            let stored = try store.rules.storedPath(identity: "alice", relativePath: "late-\(overwrite).txt")
            let context = UploadJobs.Context(
                store: store, path: stored, partName: store.rules.partName(identity: "alice", relativePath: stored.relativePath),
                size: 3, expectedDigest: nil, overwrite: overwrite, durable: true, reserve: 0, resumable: false)
            guard case .success(.upload(let prepared, _)) = UploadJobs.prepare(context, directIO: false),
                  let part = prepared.part else { return XCTFail("not prepared") }
            XCTAssertEqual(prepared.anonymous, !overwrite, "an unnamed file unless overwriting")
            XCTAssertEqual(partFiles().count, overwrite ? 1 : 0)
            _ = [UInt8]([1, 2, 3]).withUnsafeBytes { BlockingFileIO.write(fd: part, $0, offset: 0) }
            try symlink("alice/" + stored.name, to: outsidePath + "/secret.txt")
            let outsideBefore = tree(outsidePath)
            let result = UploadJobs.commit(context, prepared, digest: DigestContext.hash(.sha256, [1, 2, 3]))
            guard case .failure(let failure) = result else { return XCTFail("committed over a link (overwrite \(overwrite))") }
            XCTAssertEqual(failure.failure.code, overwrite ? .permissionDenied : .exists)
            XCTAssertEqual(tree(outsidePath), outsideBefore)
            XCTAssertEqual(lstatKind(path("alice/" + stored.name)), .symbolicLink)
            assertClean(store, stored.relativePath)
        }
    }

    func testAnEmptyFileIsStored() throws {
        let store = try makeStore()
        XCTAssertEqual(try storeWhole(store, "empty", []), receipt("empty", []))
        XCTAssertEqual(status("alice/empty")?.st_size, 0)
        XCTAssertEqual(lstatKind(path("alice/empty")), .regular)
        assertClean(store, "empty")
    }

    /// A streamed upload of the name in progress: `busy`; once it committed: `exists`.
    func testAnUploadOfANameBeingWrittenIsBusy() throws {
        let store = try makeStore()
        let streamed = try upload(store, "f.bin", pattern(300_000, seed: 9))
        streamed.stopAt = 1000
        drive([streamed], on: executor)
        XCTAssertTrue(streamed.isReady)
        XCTAssertEqual(code(try storeWhole(store, "f.bin", [1, 2, 3])), .busy)
        streamed.stopAt = nil
        drive([streamed], on: executor)
        XCTAssertNotNil(streamed.receipt)
        XCTAssertEqual(code(try storeWhole(store, "f.bin", [1, 2, 3])), .exists)
        XCTAssertEqual(contents("alice/f.bin"), pattern(300_000, seed: 9))
        assertClean(store, "f.bin")
    }

    /// Two whole-file uploads of one name on two threads at once: one is stored, the other is `busy` or `exists`,
    /// and the file holds the bytes of the one stored.
    func testTwoUploadsOfOneNameAtOnceStoreOne() throws {
        let store = try makeStore()
        for round in 0..<20 {
            let name = "race-\(round).bin"
            let bodies = [pattern(100_000, seed: 2 * round), pattern(100_000, seed: 2 * round + 1)]
            let uploads = try bodies.map { content in
                let upload = WholeFileUpload(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: name),
                                             size: 100_000, expectedDigest: nil, overwrite: false, durable: false, reserve: 0)
                upload.append(content[...])
                return upload
            }
            let threads = ThreadExecutor()
            var ended: [Int: WholeFileUpload.Outcome] = [:]
            for (index, upload) in uploads.enumerated() {
                upload.store(clientDigest: DigestContext.hash(.sha256, bodies[index]), times: nil, executor: threads) { outcome in
                    threads.lock.withLock { ended[index] = outcome }
                }
            }
            threads.group.wait()
            let stored = ended.filter { if case .committed = $0.value { true } else { false } }.map(\.key)
            XCTAssertEqual(stored.count, 1, "round \(round): \(ended)")
            guard let winner = stored.first else { continue }
            XCTAssertTrue([.busy, .exists].contains(code(ended[1 - winner])), "round \(round): \(String(describing: ended[1 - winner]))")
            XCTAssertEqual(contents("alice/" + name), bodies[winner])
        }
        assertClean(store, "race-0.bin")
    }
}

/// Runs each job at once on a thread of its own, its completion there too (the test waits on `group`).
private final class ThreadExecutor: BlockingExecutor, @unchecked Sendable {
    let group = DispatchGroup()
    /// For what the completions record.
    let lock = NSLock()

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then completion: @escaping (T) -> Void) {
        nonisolated(unsafe) let completion = completion
        group.enter()
        Thread.detachNewThread { [group] in
            completion(work())
            group.leave()
        }
    }
}
