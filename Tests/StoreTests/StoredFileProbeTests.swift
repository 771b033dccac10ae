// StoredFileProbe (a probe, PROTOCOL.md §8.10) against a real directory: absent when the directory chain or the name is
// missing (and nothing is created looking), stored for the very file (name, size, digest recorded when it was stored),
// exists for other content or another size, and the refusals an upload would get — a link on the way or at the name,
// a file where a directory should be, a directory at the name — both through openat2 and through the walk.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class StoredFileProbeTests: StoreTestCase {
    private func probe(_ store: Store, _ relativePath: String, size: UInt64, digest: [UInt8],
                       file: StaticString = #filePath, line: UInt = #line) throws -> StoredFileProbe.Outcome? {
        let probe = StoredFileProbe(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: relativePath),
                                    size: size, digest: digest)
        var outcome: StoredFileProbe.Outcome?
        probe.run(executor: executor) { outcome = $0 }
        XCTAssertNil(outcome, "not before its job ran", file: file, line: line)
        XCTAssertTrue(executor.runNext(), file: file, line: line)
        return outcome
    }

    /// Stores `content` as alice's `relativePath` the way a pipelined upload does (its digest recorded).
    private func store(_ store: Store, _ relativePath: String, _ content: [UInt8]) throws {
        let upload = WholeFileUpload(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: relativePath),
                                     size: UInt64(content.count), expectedDigest: nil, overwrite: false, durable: false, reserve: 0)
        upload.append(content[...])
        var outcome: WholeFileUpload.Outcome?
        upload.store(clientDigest: DigestContext.hash(.sha256, content), times: nil, executor: executor) { outcome = $0 }
        XCTAssertTrue(executor.runNext())
        guard case .committed? = outcome else { return XCTFail("not stored: \(String(describing: outcome))") }
    }

    private func code(_ outcome: StoredFileProbe.Outcome?) -> UploadErrorCode? {
        if case .refused(let failure)? = outcome { failure.failure.code } else { nil }
    }

    func testAbsentWhenTheChainOrTheNameIsMissingAndNothingIsCreated() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            let digest = DigestContext.hash(.sha256, [1, 2, 3])
            XCTAssertEqual(try probe(store, "new/deep/f", size: 3, digest: digest), .absent)
            XCTAssertNil(lstatKind(path("alice")), "a probe makes no directory")
            try makeDirectories("alice/new")
            XCTAssertEqual(try probe(store, "new/f", size: 3, digest: digest), .absent)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("alice/new")), [])
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }

    func testStoredForTheVeryFileAndExistsForOtherContentOrSize() throws {
        let store = try makeStore()
        let content = pattern(5_000, seed: 3)
        try self.store(store, "d/f.bin", content)
        let digest = DigestContext.hash(.sha256, content)
        XCTAssertEqual(try probe(store, "d/f.bin", size: 5_000, digest: digest),
                       .stored(UploadReceipt(storedName: "d/f.bin", size: 5_000, digest: digest)))
        XCTAssertEqual(code(try probe(store, "d/f.bin", size: 5_000, digest: DigestContext.hash(.sha256, pattern(5_000, seed: 4)))),
                       .exists)
        XCTAssertEqual(code(try probe(store, "d/f.bin", size: 4_999, digest: digest)), .exists)
        XCTAssertEqual(contents("alice/d/f.bin"), content, "a probe changes nothing")
    }

    func testTheRefusalsAnUploadWouldGetWithNoLinkFollowed() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            let digest = DigestContext.hash(.sha256, [9])
            try makeDirectories("alice/real")
            try symlink("alice/linked", to: outsidePath)
            try symlink("alice/real/name", to: outsidePath + "/victim")
            try writeFile(path("alice/file"), [1])
            try makeDirectories("alice/real/adir")
            let outcomes = [
                try probe(store, "linked/f", size: 1, digest: digest),       // a link on the way
                try probe(store, "real/name", size: 1, digest: digest),      // a link at the name
                try probe(store, "file/f", size: 1, digest: digest),         // a file where a directory should be
                try probe(store, "real/adir", size: 1, digest: digest),      // a directory at the name
            ]
            XCTAssertEqual(outcomes.map(code), [.permissionDenied, .permissionDenied, .badPath, .badPath], "openat2 \(useOpenat2)")
            if case .refused(let failure)? = outcomes[0] { XCTAssertTrue(failure.isSuspicious) }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outsidePath), [], "nothing made outside")
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }
}
