// A temporary directory per test holding the index as ferryd keeps it: the rows in SQLite — or in PostgreSQL, in a
// schema of the test's own, for the subclasses that run the same tests on that back end (PostgresIndexTests.swift) —
// the intents in a journal.
import Foundation
import TestSupport
import XCTest

@testable import Index

class IndexTestCase: XCTestCase {
    enum RowBackend { case sqlite, postgres }
    /// Where the rows are: SQLite unless a subclass says PostgreSQL.
    class var rowBackend: RowBackend { .sqlite }

    private(set) var directory: TemporaryDirectory!
    /// The PostgreSQL schema of this test and the connection string that works in it.
    private(set) var postgres: (name: String, url: String)?
    var databasePath: String { directory.path + "/index.sqlite" }
    var journalPath: String { directory.path + "/journal" }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(label: "index")
        try FileManager.default.createDirectory(atPath: journalPath, withIntermediateDirectories: true)
        if Self.rowBackend == .postgres { postgres = try TestPostgres.makeSchema() }
    }

    override func tearDown() {
        directory.remove()
        if let postgres { TestPostgres.dropSchema(postgres.name) }
    }

    /// The storage root the PostgreSQL schema is taken by.
    static let owner = "0123abcd-test-root"

    /// The rows of this test's back end (the same database at every call).
    func makeRows() throws -> any RowStore {
        guard let postgres else { return try SQLiteIndex(path: databasePath) }
        return try PostgresIndex(url: postgres.url, owner: Self.owner, poolSize: 4, connectTimeout: 5,
                                 statementTimeoutMilliseconds: 30_000)
    }

    /// The index as the store uses it: intents in a journal, rows from `makeRows`.
    func makeIndex() throws -> JournaledIndex {
        try JournaledIndex(rows: try makeRows(), journalDirectory: journalPath)
    }
}
