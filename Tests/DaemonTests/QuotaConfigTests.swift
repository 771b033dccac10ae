import Foundation
import Store
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// `[quotas]`: the defaults and each namespace's override, what the loader refuses (a malformed override; quotas with
/// the index off, which they are counted from), and the limits a namespace gets (QuotaPolicy).
final class QuotaConfigTests: XCTestCase {
    func testOverridesAreReadInTheirCanonicalTextAndGiveEachNamespaceItsLimits() throws {
        let config = try ConfigFixture.parse(section: "quotas", """
            bytes = "10GiB"
            files = 1000
            overrides = ["alice: files=5  bytes=1MiB", "backup: bytes=0", "partner:carol: files=0"]
            """)
        XCTAssertEqual(config.quotas.overrides, ["alice: bytes=1MiB files=5", "backup: bytes=0", "partner:carol: files=0"])
        let policy = QuotaPolicy(config.quotas)
        XCTAssertEqual(policy.quota(for: "alice"), StoreQuota(bytes: 1 << 20, files: 5))
        XCTAssertEqual(policy.quota(for: "backup"), StoreQuota(bytes: nil, files: 1000), "bytes=0: no byte limit")
        XCTAssertEqual(policy.quota(for: "partner:carol"), StoreQuota(bytes: 10 << 30, files: nil))
        XCTAssertEqual(policy.quota(for: "anyone"), StoreQuota(bytes: 10 << 30, files: 1000))
        XCTAssertNil(QuotaPolicy().quota(for: "anyone"), "no [quotas]: no limit")
        let unlimited = QuotaPolicy(try ConfigFixture.parse(section: "quotas", "overrides = [\"x: bytes=0 files=0\"]").quotas)
        XCTAssertNil(unlimited.quota(for: "x"))
    }

    func testMalformedOverridesAreRefusedSayingWhy() {
        for (entry, words) in [("alice bytes=1", "is not of the form"), ("alice:", "sets no limit"),
                               ("alice: bytes=lots", "\"bytes=lots\""), ("alice: files=-1", "\"files=-1\""),
                               ("alice: size=1", "\"size=1\""), (".index: files=1", "no identity's directory name"),
                               ("a/b: files=1", "no identity's directory name"), ("alice: files=1 files=2", "\"files=2\"")] {
            assertConfigError("[quotas]\noverrides = [\"\(entry)\"]\n", kind: .invalidValue, contains: ["'quotas.overrides'", words])
        }
    }

    func testQuotasNeedTheIndex() throws {
        assertConfigError("[index]\nbackend = \"off\"\n[quotas]\nfiles = 10\n", kind: .invalidValue,
                          contains: ["'quotas.files'", "index.backend", "off"])
        // The index off without quotas renders and parses back.
        let off = try ConfigFixture.parse(section: "index", "backend = \"off\"")
        XCTAssertEqual(try DaemonConfig.parse(toml: off.renderEffective(), baseDirectory: ConfigFixture.base, environment: [:]).index.backend,
                       .off)
    }
}
