import Foundation
import Protocol
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// `[access] grants` (AccessGrant): what the loader accepts and how it writes it back, what a grant covers, and the
/// refusal that names the grant a request would need (AccessPolicy).
final class AccessGrantConfigTests: XCTestCase {
    func testGrantsAreReadAndKeptInTheirCanonicalText() throws {
        let config = try ConfigFixture.parse(section: "access", """
            grants = ["backup: list,read on *", "publisher:write , list on shared", "*: all on public/docs", \
            "alice: read on bob/a on b", "partner:carol: list on x"]
            """)
        XCTAssertEqual(config.access.grants, ["backup: read, list on *", "publisher: list, write on shared",
                                              "*: read, list, write, delete on public/docs", "alice: read on bob/a on b",
                                              "partner:carol: list on x"])
        XCTAssertEqual(config.access.parsedGrants, [
            AccessGrant(identity: "backup", operations: [.read, .list], namespace: nil),
            AccessGrant(identity: "publisher", operations: [.write, .list], namespace: "shared"),
            AccessGrant(identity: nil, operations: Set(AccessOperation.allCases), namespace: "public", path: "docs"),
            AccessGrant(identity: "alice", operations: [.read], namespace: "bob", path: "a on b"),
            AccessGrant(identity: "partner:carol", operations: [.list], namespace: "x"),
        ])
    }

    func testMalformedGrantsAreRefusedSayingWhy() {
        let cases: [(String, String)] = [
            ("backup read on *", "is not of the form"),
            ("backup: read", "names no target"),
            ("backup: on *", "grants no operation"),
            ("backup: read, copy on *", "\"copy\""),
            (": read on *", "1–1024 bytes"),
            ("backup: read on ", "has the target"),
            ("backup: read on alice/../bob", "has the target"),
            ("backup: read on alice//x", "has the target"),
            ("backup: read on .index", "has the target"),
            ("backup: read on alice/", "has the target"),
        ]
        for (entry, words) in cases {
            assertConfigError("[access]\ngrants = [\"\(entry)\"]\n", kind: .invalidValue, contains: ["'access.grants'", words])
        }
    }

    func testAGrantCoversItsPathAndWhatIsBelowIt() {
        let grant = AccessGrant(identity: "bob", operations: [.read, .list], namespace: "alice", path: "pub/docs")
        XCTAssertTrue(grant.allows("bob", .read, namespace: "alice", path: "pub/docs"))
        XCTAssertTrue(grant.allows("bob", .list, namespace: "alice", path: "pub/docs/a/b.txt"))
        for (identity, operation, namespace, path) in [("bob", AccessOperation.read, "alice", "pub/docs2"),
                                                       ("bob", .read, "alice", "pub"), ("bob", .read, "alice", ""),
                                                       ("bob", .write, "alice", "pub/docs/x"), ("eve", .read, "alice", "pub/docs"),
                                                       ("bob", .read, "carol", "pub/docs")] {
            XCTAssertFalse(grant.allows(identity, operation, namespace: namespace, path: path), "\(identity) \(operation) \(namespace)/\(path)")
        }
        // Bytes: a component that begins with a combining mark is below the grant's path (Swift's hasPrefix on
        // Characters saw "/"+U+0301 as one Character, no "/"), and an NFD twin of the namespace is not it.
        XCTAssertTrue(grant.allows("bob", .read, namespace: "alice", path: "pub/docs/\u{301}x"))
        let accented = AccessGrant(identity: "bob", operations: [.read], namespace: "\u{E9}quipe", path: "")
        XCTAssertFalse(accented.allows("bob", .read, namespace: "e\u{301}quipe", path: "x"))
        let everywhere = AccessGrant(identity: nil, operations: [.list], namespace: nil)
        XCTAssertTrue(everywhere.allows("anyone", .list, namespace: "x", path: ""))
        XCTAssertFalse(everywhere.allows("anyone", .read, namespace: "x", path: ""))
    }

    func testTheOwnNamespaceIsAlwaysAllowedAndARefusalNamesTheGrantNeeded() {
        let policy = AccessPolicy(grants: [AccessGrant(identity: "bob", operations: [.read], namespace: "alice", path: "pub")])
        for operation in AccessOperation.allCases {
            XCTAssertNil(policy.refusal("alice", operation, namespace: "alice", path: "anything"))
        }
        XCTAssertNil(policy.refusal("bob", .read, namespace: "alice", path: "pub/a.txt"))
        let refusal = policy.refusal("bob", .delete, namespace: "alice", path: "pub/a.txt")
        XCTAssertEqual(refusal?.code, .permissionDenied)
        XCTAssertTrue(refusal?.message.contains("\"bob: delete on alice/pub/a.txt\"") == true, refusal?.message ?? "")
        XCTAssertTrue(policy.refusal("bob", .list, namespace: "alice", path: "")?.message.contains("\"bob: list on alice\"") == true)
    }
}
