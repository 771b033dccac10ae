// [index]: the backend and where its file may be — never where a client stores files or where staging's entries are
// removed, and by default in a directory of the daemon's own under the root.
import Foundation
import TestSupport
import XCTest

@testable import FerrydConfig

final class IndexConfigTests: XCTestCase {
    func testTheDefaultIsSQLiteUnderTheRoot() throws {
        let config = try ConfigFixture.parse("")
        XCTAssertEqual(config.index.backend, .sqlite)
        XCTAssertNil(config.index.path)
        XCTAssertEqual(try ConfigFixture.parse(section: "index", "backend = \"off\"").index.backend, .off)
        assertConfigError("[index]\nbackend = \"mysql\"\n", kind: .invalidValue, contains: ["must be one of sqlite, off, postgresql"])
    }

    func testAPathOutsideTheRootOrInADotDirectoryDirectlyBelowItIsTaken() throws {
        let outside = try ConfigFixture.parse("[storage]\nroot = \"/srv/ferry\"\n[index]\npath = \"/var/lib/ferry-index/m.sqlite\"\n")
        XCTAssertEqual(outside.index.path?.path, "/var/lib/ferry-index/m.sqlite")
        let own = try ConfigFixture.parse("[storage]\nroot = \"/srv/ferry\"\n[index]\npath = \"/srv/ferry/.meta/m.sqlite\"\n")
        XCTAssertEqual(own.index.path?.path, "/srv/ferry/.meta/m.sqlite")
    }

    func testAPathWhereClientsStoreOrWhereStagingIsIsRefused() {
        for path in ["/srv/ferry/alice/m.sqlite", "/srv/ferry/m.sqlite", "/srv/ferry/.staging/m.sqlite",
                     "/srv/ferry/.meta/deeper/m.sqlite", "/srv/ferry/./alice/../bob/m.sqlite"] {
            assertConfigError("[storage]\nroot = \"/srv/ferry\"\n[index]\npath = \"\(path)\"\n", kind: .invalidValue,
                              contains: ["'index.path'", "below storage.root"])
        }
        // With the index off its path is not used, so not checked.
        XCTAssertNoThrow(try ConfigFixture.parse(
            "[storage]\nroot = \"/srv/ferry\"\n[index]\nbackend = \"off\"\npath = \"/srv/ferry/alice/m.sqlite\"\n"))
    }

    func testStagingCannotTakeTheIndexsDefaultDirectory() throws {
        assertConfigError("[storage]\nstaging = \".index\"\n", kind: .invalidValue,
                          contains: ["'storage.staging'", "where the index keeps its intent journal"])
        // The journal stays under the root wherever the rows are.
        assertConfigError("[storage]\nstaging = \".index\"\n[index]\npath = \"/var/lib/ferry-index/m.sqlite\"\n",
                          kind: .invalidValue, contains: ["'storage.staging'"])
        XCTAssertNoThrow(try ConfigFixture.parse("[storage]\nstaging = \".index\"\n[index]\nbackend = \"off\"\n"))
        XCTAssertNoThrow(try ConfigFixture.parse("[storage]\nstaging = \".index\"\n[index]\nbackend = \"off\"\n"))
    }

    func testPostgreSQLNeedsAURLAndAURLNeedsPostgreSQL() throws {
        let config = try ConfigFixture.parse(section: "index", """
            backend = "postgresql"
            url = "host=db.example port=5433 user=ferry dbname=ferry"
            pool_size = 8
            query_timeout = 5
            """)
        XCTAssertEqual(config.index.backend, .postgresql)
        XCTAssertEqual(config.index.url, "host=db.example port=5433 user=ferry dbname=ferry")
        XCTAssertEqual(config.index.poolSize, 8)
        XCTAssertEqual(config.index.connectTimeout, 10)
        XCTAssertEqual(config.index.queryTimeout, 5)
        assertConfigError("[index]\nbackend = \"postgresql\"\n", kind: .invalidValue,
                          contains: ["'index.backend'", "needs 'index.url'"])
        assertConfigError("[index]\nbackend = \"postgresql\"\nurl = \"db.example\"\n", kind: .invalidValue,
                          contains: ["'index.url'", "libpq URI"])
        assertConfigError("[index]\nurl = \"postgresql://db.example/ferry\"\n", kind: .invalidValue,
                          contains: ["'index.url'", "set backend = \"postgresql\""])
        assertConfigError("[index]\npool_size = 0\n", kind: .outOfBounds, contains: ["'index.pool_size'"])
    }

    /// check-config prints the effective configuration: never a connection string's password.
    func testAURLsPasswordIsNeverShown() throws {
        XCTAssertEqual(ConnectionString.redacted("postgresql://ferry:s3cret@db.example:5432/ferry?sslmode=require"),
                       "postgresql://ferry:***@db.example:5432/ferry?sslmode=require")
        XCTAssertEqual(ConnectionString.redacted("postgresql://db.example/ferry?user=ferry&password=s3cret&sslmode=require"),
                       "postgresql://db.example/ferry?user=ferry&password=***&sslmode=require")
        XCTAssertEqual(ConnectionString.redacted("host=db user=ferry password='s3 cret' dbname=ferry"),
                       "host=db user=ferry password=*** dbname=ferry")
        XCTAssertEqual(ConnectionString.redacted("postgresql://ferry@db/ferry?passfile=/etc/ferry/pgpass"),
                       "postgresql://ferry@db/ferry?passfile=/etc/ferry/pgpass")
        let config = try ConfigFixture.parse(section: "index", """
            backend = "postgresql"
            url = "host=db user=ferry password=s3cret dbname=ferry"
            """)
        XCTAssertEqual(config.index.url, "host=db user=ferry password=s3cret dbname=ferry", "used as written")
        let rendered = config.renderEffective()
        XCTAssertTrue(rendered.contains("url = \"host=db user=ferry password=*** dbname=ferry\""), rendered)
        XCTAssertFalse(rendered.contains("s3cret"), rendered)
    }

    func testSharingNeedsPostgreSQLAndANodeNeedsSharing() throws {
        let postgres = "[index]\nbackend = \"postgresql\"\nurl = \"host=db.example dbname=ferry\"\n"
        let shared = try ConfigFixture.parse("[storage]\nshared = true\n" + postgres + "node = \"ferry-2.example\"\n")
        XCTAssertTrue(shared.storage.shared)
        XCTAssertEqual(shared.index.node, "ferry-2.example")
        XCTAssertEqual(try ConfigFixture.parse("[storage]\nshared = true\n" + postgres).index.node, "",
                       "the host name when not given")
        XCTAssertFalse(try ConfigFixture.parse("").storage.shared)
        for backend in ["sqlite", "off"] {
            assertConfigError("[storage]\nshared = true\n[index]\nbackend = \"\(backend)\"\n", kind: .invalidValue,
                              contains: ["'storage.shared'", "through one PostgreSQL index", "\"\(backend)\" is one daemon's"])
        }
        assertConfigError(postgres + "node = \"a\"\n", kind: .invalidValue,
                          contains: ["'index.node'", "set storage.shared = true, or remove it"])
        for node in [".hidden", "a/b", "node 1", "café", String(repeating: "n", count: 65)] {
            assertConfigError("[storage]\nshared = true\n" + postgres + "node = \"\(node)\"\n", kind: .invalidValue,
                              contains: ["'index.node'"])
        }
    }

    func testAHostNameBecomesANodeName() {
        XCTAssertEqual(NodeName.fromHostName("ferry-1.example.net"), "ferry-1.example.net")
        XCTAssertEqual(NodeName.fromHostName("odd host/name"), "odd-host-name")
        XCTAssertEqual(NodeName.fromHostName(""), "ferryd")
        XCTAssertEqual(NodeName.fromHostName(".local"), "ferryd")
        XCTAssertEqual(NodeName.fromHostName(String(repeating: "h", count: 100)), String(repeating: "h", count: 64))
    }
}
