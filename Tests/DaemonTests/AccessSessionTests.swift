// [access] grants in a session (AccessPolicy, PROTOCOL.md §8.1 and §14.1): an upload into another namespace is refused
// at Open unless a grant allows writing there, and then records the client as the file's uploader; store requests in
// another namespace follow the grants operation by operation (any grant on a path lets it be stated, read and delete
// let it be listed); a reload changes what the next request may do.
import Foundation
import FerrydConfig
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class AccessSessionTests: XCTestCase {
    private func lastAnswer(_ rig: SessionRig) -> StoreAnswer? {
        guard case .storeAnswered(let answer)? = rig.events.last else { return nil }
        return answer
    }

    private func failure(_ rig: SessionRig) -> UploadFailure? {
        switch rig.events.last {
        case .storeAnswered(.failed(let failure))?, .uploadFailed(let failure)?: failure
        default: nil
        }
    }

    func testWritingIntoAnotherNamespaceNeedsAGrantAndRecordsTheUploader() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("access-write"), indexed: true)
        try rig.handshake()
        rig.open("a.bin", size: 3, namespace: "shared")
        try rig.pump()
        XCTAssertEqual(rig.executor.queuedResultTypes.count, 0, "refused at Open, before the store")
        XCTAssertEqual(failure(rig)?.code, .permissionDenied, "\(rig.events.suffix(2))")
        XCTAssertTrue(failure(rig)?.message.contains("\"alice: write on shared/a.bin\"") == true, "\(rig.events.suffix(1))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.root.appending(path: "shared").path), "nothing made")

        rig.perform(rig.session.apply(withGrants(rig, ["alice: write, list on shared"]), now: rig.now))
        try rig.upload("a.bin", [1, 2, 3], namespace: "shared")
        XCTAssertEqual(rig.events.last, .uploadCommitted(UploadReceipt(storedName: "a.bin", size: 3,
                                                                       digest: DigestContext.hash(.sha256, [1, 2, 3]))))
        XCTAssertEqual(try Data(contentsOf: rig.root.appending(path: "shared/a.bin")), Data([1, 2, 3]))
        try rig.ask(.stat(StatRequest(namespace: "shared", path: "a.bin")))
        try rig.runJobs()
        guard case .stat(.file(let entry))? = lastAnswer(rig) else { return XCTFail("\(rig.events.suffix(1))") }
        XCTAssertEqual(entry.uploader, "alice", "the client that stored it, in another's namespace")

        // Reading it is another operation: no grant, no Get.
        try rig.ask(.get(GetRequest(namespace: "shared", path: "a.bin")))
        XCTAssertEqual(failure(rig)?.code, .permissionDenied)
    }

    func testStoreRequestsFollowTheGrantsOperationByOperation() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("access-ops"), indexed: true)
        try rig.handshake()
        rig.perform(rig.session.apply(withGrants(rig, ["alice: all on team"]), now: rig.now))
        try rig.upload("pub/a.bin", [1], namespace: "team")
        try rig.upload("pub/b.bin", [2], namespace: "team")
        rig.perform(rig.session.apply(withGrants(rig, ["alice: list, delete on team/pub/a.bin", "alice: read on team"]),
                                      now: rig.now))
        let cases: [(StoreRequest, UploadErrorCode?)] = [
            (.stat(StatRequest(namespace: "team", path: "pub/a.bin")), nil),
            (.stat(StatRequest(namespace: "team", path: "pub/b.bin")), nil),  // read lets it stat what it may get
            (.list(ListRequest(namespace: "team", directory: "pub/")), nil),  // and list a directory it may get
            (.stat(StatRequest(namespace: "other", path: "pub/b.bin")), .permissionDenied),
            (.verify(VerifyRequest(namespace: "team", path: "pub/b.bin")), nil),
            (.rename(RenameRequest(namespace: "team", from: "pub/a.bin", to: "pub/c.bin")), .permissionDenied),
            (.delete(DeleteRequest(namespace: "team", path: "pub/b.bin")), .permissionDenied),
            (.delete(DeleteRequest(namespace: "team", path: "pub/a.bin")), nil),
            (.list(ListRequest(namespace: "..", directory: "")), .badPath),
        ]
        for (request, code) in cases {
            try rig.ask(request)
            try rig.runJobs()
            XCTAssertEqual(failure(rig)?.code, code, "\(request.summary): \(rig.events.suffix(1))")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.root.appending(path: "team/pub/a.bin").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: rig.root.appending(path: "team/pub/b.bin").path))
    }

    private func withGrants(_ rig: SessionRig, _ grants: [String]) -> RuntimeSettings {
        var settings = rig.session.settings
        settings.access = AccessPolicy(grants: grants.compactMap { try? AccessGrant.parse($0).get() })
        return settings
    }
}
