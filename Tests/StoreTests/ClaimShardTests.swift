// The claim locks are per identity: one client's long walk (a deep path) never holds another client's uploads.
// Shown without timing: while one identity's lock is held, another identity's directory is reached and released.
import Foundation
import TestSupport
import XCTest

@testable import Store

final class ClaimShardTests: StoreTestCase {
    func testAnotherIdentitysLockDoesNotHoldAWalk() throws {
        let store = try makeStore()
        let (busy, free) = ("mallory", "alice")
        let busyShard = DirectoryClaims.shard(of: busy)
        XCTAssertNotEqual(busyShard, DirectoryClaims.shard(of: free), "pick two identities in different shards")
        XCTAssertEqual(DirectoryClaims.shard(of: busy), busyShard, "the shard of an identity is stable")
        try store.claims.withLock(busyShard) { (_: inout DirectoryClaims.Table) throws(TreeRefusal) in
            // A Mutex is not recursive: were alice's chains under mallory's lock, this would never return.
            let held = try HeldDirectory.reach([free, "a", "b"], below: store.root, claims: store.claims, useOpenat2: false)
            held.release(claims: store.claims, committed: false)
        }
        XCTAssertFalse(exists("alice"), "the directories the walk made are removed again")
        XCTAssertEqual(store.heldDirectories, 0)
    }

    /// A path whose directories and identity together pass PATH_MAX (a 250-byte identity and a 4,095-byte path):
    /// openat2 refuses the joined path (ENAMETOOLONG), the component walk takes it, and the upload commits either way.
    func testAPathLongerThanOpenat2TakesIsWalked() throws {
        let directories = Array(repeating: String(repeating: "d", count: 254), count: 16).joined(separator: "/")
        let relative = directories + "/" + String(repeating: "f", count: 15)
        XCTAssertEqual(relative.utf8.count, 4095)
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            let identity = String(repeating: "i", count: 250)
            let run = try upload(store, relative, Array("long".utf8), identity: identity)
            drive([run], on: executor)
            XCTAssertNotNil(run.receipt, "openat2 \(useOpenat2): \(run.events)")
            // Foundation cannot remove a path past PATH_MAX; rm walks it with descriptors.
            let rm = Process()
            rm.executableURL = URL(fileURLWithPath: "/bin/rm")
            rm.arguments = ["-rf", path(identity)]
            try rm.run()
            rm.waitUntilExit()
            XCTAssertFalse(exists(identity))
            withExtendedLifetime(store) {}
        }
    }

    /// The fast path opens a path's last directory before it takes the claim lock. A directory that was provisional
    /// at that open and that a failed upload's clean-up removed before the claim must not be held: the file would be
    /// linked where no name leads. The count of removals sends the fast path back to the walk, which makes it again.
    func testTheFastPathNeverHoldsADirectoryACleanUpRemovedAfterItsOpen() throws {
        let store = try makeStore()
        let components = ["alice", "new", "dir"]
        let shard = DirectoryClaims.shard(of: "alice")
        let failing = try HeldDirectory.reach(components, below: store.root, claims: store.claims, useOpenat2: false)
        XCTAssertEqual(failing.provisional.count, 3, "the walk made the whole chain")
        let raced = try HeldDirectory.reachExisting(components, below: store.root, claims: store.claims, shard: shard,
                                                    beforeClaim: { failing.release(claims: store.claims, committed: false) })
        XCTAssertFalse(exists("alice"), "the failed upload's clean-up removed its chain in the window")
        XCTAssertNil(raced, "the fast path gave the removed directory up")

        let held = try HeldDirectory.reach(components, below: store.root, claims: store.claims, useOpenat2: true)
        var status = stat()
        XCTAssertEqual(fstat(held.descriptor, &status), 0)
        XCTAssertGreaterThan(status.st_nlink, 0, "the held directory is linked")
        XCTAssertTrue(exists("alice/new/dir"), "and reached by its name")
        held.release(claims: store.claims, committed: false)
        XCTAssertEqual(store.heldDirectories, 0)
    }

    /// Without a clean-up in the window, the fast path holds the existing directory at once (one openat2).
    func testTheFastPathHoldsAPermanentDirectory() throws {
        let store = try makeStore()
        let components = ["alice", "kept"]
        let made = try HeldDirectory.reach(components, below: store.root, claims: store.claims, useOpenat2: false)
        made.release(claims: store.claims, committed: true)
        let held = try XCTUnwrap(try HeldDirectory.reachExisting(components, below: store.root, claims: store.claims,
                                                                 shard: DirectoryClaims.shard(of: "alice")))
        XCTAssertEqual(held.provisional.count, 0)
        XCTAssertEqual(store.heldDirectories, 1)
        held.release(claims: store.claims, committed: false)
        XCTAssertTrue(exists("alice/kept"), "a permanent directory is never removed")
        XCTAssertEqual(store.heldDirectories, 0)
    }
}
