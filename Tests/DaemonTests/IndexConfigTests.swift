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
        assertConfigError("[index]\nbackend = \"mysql\"\n", kind: .invalidValue, contains: ["must be one of sqlite, off"])
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
                          contains: ["'storage.staging'", "where the index is kept by default"])
        XCTAssertNoThrow(try ConfigFixture.parse(
            "[storage]\nstaging = \".index\"\n[index]\npath = \"/var/lib/ferry-index/m.sqlite\"\n"))
        XCTAssertNoThrow(try ConfigFixture.parse("[storage]\nstaging = \".index\"\n[index]\nbackend = \"off\"\n"))
    }
}
