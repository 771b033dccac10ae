// The index's PostgreSQL back end against a real server (TestPostgres: scripts/test starts one). The row, listing and
// reindex tests run again on it, unchanged (the subclasses below), and then what only a server shared over a network
// has: several daemons writing at once, a batch applied twice (a COMMIT whose answer was lost), a connection that
// dies, a statement that runs past the timeout, a schema made by a newer ferryd, a password never in a message.
import Foundation
import TestSupport
import XCTest

@testable import Index

final class PostgresIndexRowTests: IndexRowTests {
    override class var rowBackend: RowBackend { .postgres }

    override func testAnIndexThatCannotBeOpenedSaysWhere() throws {
        // A port nothing listens on (bound and closed at once), with a password that no message may show.
        let port = try TestPorts.free()
        XCTAssertThrowsError(try PostgresIndex(url: "postgresql://ferry:hunter2secret@127.0.0.1:\(port)/ferry", owner: Self.owner,
                                               poolSize: 1, connectTimeout: 2, statementTimeoutMilliseconds: 2_000)) { error in
            XCTAssertEqual((error as? IndexError)?.kind, .unavailable)
            XCTAssertTrue("\(error)".contains("ferry@127.0.0.1:\(port)/ferry"), "\(error)")
            XCTAssertFalse("\(error)".contains("hunter2secret"), "\(error)")
        }
        // A URL libpq cannot read, whose own message would quote it whole.
        XCTAssertThrowsError(try PostgresIndex(url: "postgresql://ferry:hunter2secret@[::1/ferry", owner: Self.owner, poolSize: 1,
                                               connectTimeout: 2, statementTimeoutMilliseconds: 2_000)) { error in
            XCTAssertTrue("\(error)".contains("cannot be read as a libpq URI"), "\(error)")
            XCTAssertFalse("\(error)".contains("hunter2secret"), "\(error)")
        }
    }
}

// Each subclass declares a test of its own besides those it inherits: XCTest's discovery on Linux finds a class by
// the tests it declares, and a class that declares none would silently not run at all.
final class PostgresIndexChildrenTests: IndexChildrenTests {
    override class var rowBackend: RowBackend { .postgres }

    /// Byte order whatever the database's collation: a column of its own collation would sort "a-b" after "a.txt"
    /// and "B" after "a" under most linguistic ones (en_US), and a listing's cursor would skip or repeat entries.
    func testChildrenAreInByteOrderWhateverTheDatabasesCollation() throws {
        let url = try XCTUnwrap(postgres?.url)
        let index = try makeIndex()
        for path in ["a.txt", "a-b", "B", "a", "_x", "a b"] {
            try index.finishCommit(try index.beginCommit(IndexedFile(
                namespace: "alice", path: path, size: 1, sha256: [UInt8](repeating: 1, count: 32), modified: nil, uploaded: 1,
                uploader: "alice")))
        }
        let listed = try index.children(namespace: "alice", directory: "", after: nil, limit: 10).map(\.cursor)
        XCTAssertEqual(listed, ["B", "_x", "a", "a b", "a-b", "a.txt"])
        let collation = try TestPostgres.psql(url, "SELECT collation_name FROM information_schema.columns WHERE "
            + "table_schema = current_schema() AND table_name = 'ferry_files' AND column_name = 'path'")
        XCTAssertEqual(collation.trimmingCharacters(in: .whitespacesAndNewlines), "C")
    }
}

final class PostgresIndexReindexTests: IndexReindexTests {
    override class var rowBackend: RowBackend { .postgres }

    /// A namespace larger than one statement's rows is replaced whole, in one transaction.
    func testANamespaceOfThousandsOfFilesIsReplacedWhole() throws {
        let index = try makeIndex()
        let files = (0..<2_345).map {
            IndexedFile(namespace: "alice", path: String(format: "r/%05d", $0), size: 3, sha256: [UInt8](repeating: 2, count: 32),
                        modified: Int64($0), uploaded: 1, uploader: "alice")
        }
        try index.replaceNamespace("alice", with: files)
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 3 * 2_345, files: 2_345))
        XCTAssertEqual(try index.files(namespace: "alice", prefix: "r/", after: "r/02339", limit: 100).map(\.modified),
                       [2_340, 2_341, 2_342, 2_343, 2_344])
        try index.replaceNamespace("alice", with: Array(files.prefix(10)))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 30, files: 10))
    }
}

final class PostgresIndexTests: IndexTestCase {
    override class var rowBackend: RowBackend { .postgres }

    private static func file(_ path: String, size: UInt64, in namespace: String = "alice") -> IndexedFile {
        IndexedFile(namespace: namespace, path: path, size: size, sha256: [UInt8](repeating: UInt8(size & 0xff), count: 32),
                    modified: nil, uploaded: 1, uploader: namespace)
    }

    private func rows() throws -> PostgresIndex {
        guard let rows = try makeRows() as? PostgresIndex else { throw TestError("not the PostgreSQL back end") }
        return rows
    }

    /// Usage as the files say it is, summed by PostgreSQL from the rows themselves.
    private func summed(_ namespace: String) throws -> Usage {
        let url = try XCTUnwrap(postgres?.url)
        let line = try TestPostgres.psql(url, "SELECT coalesce(sum(size), 0), count(*) FROM ferry_files WHERE namespace = '\(namespace)'")
        let fields = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap { UInt64($0) }
        guard fields.count == 2 else { throw TestError("psql said \(line)") }
        return Usage(bytes: fields[0], files: fields[1])
    }

    /// A batch keeps the last change of each name, as applying them in order does; applied again it changes nothing.
    func testABatchIsItsChangesInOrderAndApplyingItTwiceChangesNothing() throws {
        let rows = try rows()
        let batch: [RowChange] = [
            .put(Self.file("a", size: 10)), .put(Self.file("b", size: 20)), .remove(namespace: "alice", path: "a"),
            .put(Self.file("c", size: 30, in: "bob")), .put(Self.file("b", size: 25)), .remove(namespace: "alice", path: "never"),
            .put(Self.file("a", size: 7)),
        ]
        try rows.apply(batch, durable: true)
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage(bytes: 32, files: 2))
        XCTAssertEqual(try rows.usage(namespace: "bob"), Usage(bytes: 30, files: 1))
        XCTAssertEqual(try rows.file(namespace: "alice", path: "b")?.size, 25)
        try rows.apply(batch, durable: false)
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage(bytes: 32, files: 2))
        XCTAssertEqual(try rows.usage(namespace: "bob"), Usage(bytes: 30, files: 1))
        XCTAssertEqual(try rows.totalUsage(), Usage(bytes: 62, files: 3))
        XCTAssertEqual(try rows.usage(namespace: "alice"), try summed("alice"))
    }

    /// A batch larger than one statement's rows (the journal's backlog after an outage) goes in whole.
    func testABacklogOfThousandsOfChangesIsAppliedInOneTransaction() throws {
        let rows = try rows()
        let puts = (0..<2_500).map { RowChange.put(Self.file(String(format: "d/%05d", $0), size: UInt64($0))) }
        try rows.apply(puts, durable: true)
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage(bytes: UInt64((0..<2_500).reduce(0, +)), files: 2_500))
        try rows.apply((0..<2_500).filter { $0 % 2 == 0 }.map { .remove(namespace: "alice", path: String(format: "d/%05d", $0)) },
                       durable: true)
        XCTAssertEqual(try rows.usage(namespace: "alice"), try summed("alice"))
        XCTAssertEqual(try rows.usage(namespace: "alice").files, 1_250)
    }

    /// Two daemons' indexes (each its own pool) writing the same names at once from several threads: usage stays
    /// exactly the sum of the rows, which reading the old row and adding in the client would not keep.
    func testSeveralDaemonsWritingAtOnceKeepUsageExact() throws {
        let daemons = [try rows(), try rows()]
        let errors = ErrorLog()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let rows = daemons[worker % 2]
            for round in 0..<60 {
                var batch: [RowChange] = []
                for n in 0..<8 {
                    let path = "shared/\((round + n * 7 + worker) % 24)"
                    batch.append((round + n + worker) % 3 == 0 ? .remove(namespace: "alice", path: path)
                                 : .put(Self.file(path, size: UInt64(worker * 1_000 + round))))
                }
                do { try rows.apply(batch, durable: false) } catch { errors.add("\(error)") }
            }
        }
        XCTAssertEqual(errors.all, [])
        XCTAssertEqual(try daemons[0].usage(namespace: "alice"), try summed("alice"))
    }

    /// Connections the server ends (a restart, a failover, an administrator): the call that finds one dead is tried
    /// again on a new one, and succeeds.
    func testALostConnectionIsReplaced() throws {
        let rows = try rows()
        try rows.apply([.put(Self.file("a", size: 1))], durable: true)
        let url = try XCTUnwrap(postgres?.url)
        let name = try XCTUnwrap(postgres?.name)
        let ended = try TestPostgres.psql(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                                 + "WHERE application_name = '\(name)' AND pid <> pg_backend_pid()")
        XCTAssertNotEqual(ended, "0\n", "the index held connections")
        XCTAssertEqual(try rows.file(namespace: "alice", path: "a")?.size, 1)
        try rows.apply([.put(Self.file("b", size: 2))], durable: true)
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage(bytes: 3, files: 2))
    }

    /// A statement that waits past the timeout (here on a lock another session holds) fails with an error that says
    /// so, and the index works again once the lock is gone.
    func testAStatementPastTheTimeoutFailsAndSaysWhy() throws {
        let url = try XCTUnwrap(postgres?.url)
        let rows = try PostgresIndex(url: url, owner: Self.owner, poolSize: 1, connectTimeout: 5, statementTimeoutMilliseconds: 300)
        let output = try TemporaryDirectory(label: "locker")
        defer { output.remove() }
        let locker = try ChildProcess(URL(fileURLWithPath: "/usr/bin/psql"),
                                      [url, "-X", "-q", "-c", "BEGIN; LOCK TABLE ferry_files; SELECT pg_sleep(3); COMMIT"],
                                      outputDirectory: output.url, name: "locker")
        defer { locker.kill() }
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? TestPostgres.psql(url, "SELECT count(*) FROM pg_locks WHERE relation = 'ferry_files'::regclass AND mode = 'AccessExclusiveLock'"))?
                .hasPrefix("1") == true
        })
        let started = Date()
        XCTAssertThrowsError(try rows.apply([.put(Self.file("a", size: 1))], durable: true)) { error in
            XCTAssertTrue("\(error)".contains("statement timeout") && "\(error)".contains("57014"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "failed at the timeout, not when the lock went")
        XCTAssertTrue(locker.wait(timeout: 10))
        try rows.apply([.put(Self.file("a", size: 1))], durable: true)
        XCTAssertEqual(try rows.usage(namespace: "alice"), Usage(bytes: 1, files: 1))
    }

    /// A server that keeps the connection but never answers (its backend stopped): the call gives that connection
    /// up at its deadline (the statement timeout and a margin) and, idempotent, goes through on a new one.
    func testAServerThatStopsAnsweringCostsTheDeadlineNotAThread() throws {
        let url = try XCTUnwrap(postgres?.url), name = try XCTUnwrap(postgres?.name)
        let rows = try PostgresIndex(url: url, owner: Self.owner, poolSize: 1, connectTimeout: 5, statementTimeoutMilliseconds: 300)
        try rows.apply([.put(Self.file("a", size: 5))], durable: true)
        let pid = try XCTUnwrap(Int32(try TestPostgres.psql(url, "SELECT pid FROM pg_stat_activity WHERE application_name = '\(name)' AND pid <> pg_backend_pid()")
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, SIGSTOP), 0)
        defer { kill(pid, SIGCONT) }
        let started = Date()
        XCTAssertEqual(try rows.file(namespace: "alice", path: "a")?.size, 5)
        let took = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(took, Double(PostgresConnection.answerMargin) / 1000, "waited for the stopped backend")
        XCTAssertLessThan(took, Double(PostgresConnection.answerMargin) / 1000 + 5, "then gave it up")
    }

    /// Another storage root's daemon given this root's schema is refused: its identities' rows would mix with these.
    func testASchemaTakenByAnotherRootIsRefused() throws {
        _ = try rows()
        let url = try XCTUnwrap(postgres?.url)
        XCTAssertThrowsError(try PostgresIndex(url: url, owner: "9999ffff-another-root", poolSize: 1, connectTimeout: 5,
                                               statementTimeoutMilliseconds: 5_000)) { error in
            XCTAssertTrue("\(error)".contains("belongs to another storage root (id \(Self.owner); this root's is 9999ffff-another-root)"),
                          "\(error)")
        }
        XCTAssertNoThrow(try rows(), "its own root still opens it")
    }

    func testASchemaMadeByANewerFerrydIsRefused() throws {
        _ = try rows()
        let url = try XCTUnwrap(postgres?.url)
        try TestPostgres.psql(url, "UPDATE ferry_schema SET version = 99")
        XCTAssertThrowsError(try rows()) { error in
            XCTAssertTrue("\(error)".contains("schema version 99, made by a newer ferryd"), "\(error)")
        }
    }
}

/// Errors gathered from several threads.
private final class ErrorLog: @unchecked Sendable {
    // @unchecked: `messages` is only reached under `lock`.
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}
