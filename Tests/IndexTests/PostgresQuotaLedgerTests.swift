// The quota ledger of daemons sharing a root (QuotaLedger, PostgresIndex+Quota.swift) against a real server: checks of
// one namespace from two daemons' indexes at once admit exactly what fits; a file's row written removes its claim in
// the same transaction; a claim released, or a node's claims, go; a schema made by the previous version gains the
// ledger when a ferryd of this one opens it.
import Foundation
import TestSupport
import XCTest

@testable import Index

final class PostgresQuotaLedgerTests: IndexTestCase {
    override class var rowBackend: RowBackend { .postgres }

    private func ledger() throws -> PostgresIndex {
        guard let rows = try makeRows() as? PostgresIndex else { throw TestError("not the PostgreSQL back end") }
        return rows
    }

    private static func file(_ path: String, size: UInt64) -> IndexedFile {
        IndexedFile(namespace: "alice", path: path, size: size, sha256: [UInt8](repeating: 7, count: 32), modified: nil,
                    uploaded: 1, uploader: "alice")
    }

    /// `claimQuota` for `bytes` under a limit of `limit` bytes counting usage and the others' claims.
    private static func claim(_ ledger: PostgresIndex, _ path: String, bytes: UInt64, limit: UInt64, node: String = "a") throws -> Bool {
        try ledger.claimQuota(namespace: "alice", path: path, node: node, bytes: bytes) { usage, pending in
            usage.bytes + pending.bytes + bytes <= limit
        }
    }

    private func pendingRows() throws -> [String] {
        let url = try XCTUnwrap(postgres?.url)
        return try TestPostgres.psql(url, "SELECT path, node, bytes FROM ferry_pending ORDER BY path")
            .split(separator: "\n").map(String.init)
    }

    /// 16 uploads of 10 bytes checked at once from two daemons' pools against 55 bytes: five fit, and five are
    /// admitted — never four (checks refusing each other) nor six (two checks passing on one snapshot).
    func testChecksFromTwoDaemonsAtOnceAdmitExactlyWhatFits() throws {
        let daemons = [try ledger(), try ledger()]
        for round in 0..<5 {
            let admitted = Counter()
            DispatchQueue.concurrentPerform(iterations: 16) { upload in
                let fits = try? Self.claim(daemons[upload % 2], "r\(round)/\(upload)", bytes: 10, limit: 55, node: "n\(upload % 2)")
                if fits == true { admitted.add() }
            }
            XCTAssertEqual(admitted.value, 5, "round \(round)")
            XCTAssertEqual(try daemons[0].releaseQuotas(node: "n0") + daemons[1].releaseQuotas(node: "n1"), 5)
        }
        XCTAssertEqual(try pendingRows(), [])
    }

    func testAFilesRowTakesItsClaimsPlaceInOneStep() throws {
        let ledger = try ledger()
        XCTAssertTrue(try Self.claim(ledger, "a.bin", bytes: 40, limit: 100))
        XCTAssertTrue(try Self.claim(ledger, "b.bin", bytes: 40, limit: 100))
        XCTAssertFalse(try Self.claim(ledger, "c.bin", bytes: 40, limit: 100), "80 claimed: 40 more do not fit")
        XCTAssertEqual(try pendingRows(), ["a.bin|a|40", "b.bin|a|40"])
        // Stored: the claim becomes usage, counted once.
        try ledger.apply([.put(Self.file("a.bin", size: 40))], durable: true)
        XCTAssertEqual(try pendingRows(), ["b.bin|a|40"])
        XCTAssertEqual(try ledger.usage(namespace: "alice"), Usage(bytes: 40, files: 1))
        XCTAssertFalse(try Self.claim(ledger, "c.bin", bytes: 40, limit: 100))
        // An upsert over a stored name (an overwrite) removes its claim too.
        XCTAssertTrue(try Self.claim(ledger, "a.bin", bytes: 10, limit: 100), "its own claim and file counted once each")
        try ledger.apply([.put(Self.file("a.bin", size: 10))], durable: true)
        XCTAssertEqual(try pendingRows(), ["b.bin|a|40"])
        // An upload that failed gives its claim back.
        try ledger.releaseQuota(namespace: "alice", path: "b.bin", node: "other")
        XCTAssertEqual(try pendingRows(), ["b.bin|a|40"], "another node's release leaves this node's claim")
        try ledger.releaseQuota(namespace: "alice", path: "b.bin", node: "a")
        XCTAssertEqual(try pendingRows(), [])
        XCTAssertTrue(try Self.claim(ledger, "c.bin", bytes: 40, limit: 100))
        // The daemon's claims go when it is gone; another node's stay.
        XCTAssertTrue(try Self.claim(ledger, "d.bin", bytes: 1, limit: 100, node: "b"))
        XCTAssertEqual(try ledger.releaseQuotas(node: "a"), 1)
        XCTAssertEqual(try pendingRows(), ["d.bin|b|1"])
    }

    /// A schema the previous ferryd made (version 1, no ledger) gains it when this one opens it, its rows kept.
    func testASchemaOfVersionOneGainsTheLedger() throws {
        let ledger = try ledger()
        try ledger.apply([.put(Self.file("kept.bin", size: 5))], durable: true)
        let url = try XCTUnwrap(postgres?.url)
        try TestPostgres.psql(url, "DROP TABLE ferry_pending; DROP FUNCTION ferry_pending_stored() CASCADE; "
                                 + "DELETE FROM ferry_schema; INSERT INTO ferry_schema (version) VALUES (1)")
        let reopened = try self.ledger()
        XCTAssertEqual(try TestPostgres.psql(url, "SELECT max(version) FROM ferry_schema"), "2\n")
        XCTAssertEqual(try reopened.usage(namespace: "alice"), Usage(bytes: 5, files: 1))
        XCTAssertTrue(try Self.claim(reopened, "new.bin", bytes: 5, limit: 10))
        try reopened.apply([.put(Self.file("new.bin", size: 5))], durable: true)
        XCTAssertEqual(try pendingRows(), [], "the trigger is back")
    }
}

/// A count several threads add to.
private final class Counter: @unchecked Sendable {
    // @unchecked: `count` is only reached under `lock`.
    private let lock = NSLock()
    private var count = 0

    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
