// A temporary directory per test holding the index as ferryd keeps it: the rows in SQLite, the intents in a journal.
import Foundation
import TestSupport
import XCTest

@testable import Index

class IndexTestCase: XCTestCase {
    private(set) var directory: TemporaryDirectory!
    var databasePath: String { directory.path + "/index.sqlite" }
    var journalPath: String { directory.path + "/journal" }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(label: "index")
        try FileManager.default.createDirectory(atPath: journalPath, withIntermediateDirectories: true)
    }

    override func tearDown() { directory.remove() }

    /// The index as the store uses it: intents in a journal, rows in SQLite (the same files at every call).
    func makeIndex() throws -> JournaledIndex {
        try JournaledIndex(rows: try SQLiteIndex(path: databasePath), journalDirectory: journalPath)
    }
}
