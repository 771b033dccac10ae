// A test against the PostgreSQL test server (TestPostgres: scripts/test starts one) in a schema of its own, dropped
// after it, so that tests never see each other's tables.
import TestSupport
import XCTest

class PostgresSchemaTestCase: XCTestCase {
    /// The test's schema and the URL that reaches it.
    private(set) var schema: (name: String, url: String)?

    override func setUpWithError() throws { schema = try TestPostgres.makeSchema() }
    override func tearDown() { if let schema { TestPostgres.dropSchema(schema.name) } }
}
