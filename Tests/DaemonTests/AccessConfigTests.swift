import Foundation
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// `[identity] crl`, `crl_stale` and `[access]`: what the loader accepts, how it normalises, what it refuses.
final class AccessConfigTests: XCTestCase {
    func testCRLPathsResolveAgainstTheFileAndTakeOneString() throws {
        let one = try ConfigFixture.parse(section: "identity", "crl = \"ca.crl\"")
        XCTAssertEqual(one.identity.crl.map(\.path), ["/etc/ferry/ca.crl"])
        let two = try ConfigFixture.parse(section: "identity", "crl = [\"ca.crl\", \"/srv/other.crl\"]\ncrl_stale = \"refuse\"")
        XCTAssertEqual(two.identity.crl.map(\.path), ["/etc/ferry/ca.crl", "/srv/other.crl"])
        XCTAssertEqual(two.identity.crlStale, .refuse)
        assertConfigError("crl = [\"a.crl\", \"a.crl\"]\n", kind: .invalidValue,
                          contains: ["'identity.crl'", "twice"])
        assertConfigError("crl_stale = \"warn\"\n", kind: .invalidValue, contains: ["'identity.crl_stale'", "accept, refuse"])
    }

    func testFingerprintsAreNormalised() throws {
        let hex = String(repeating: "ab", count: 32)
        let colons = stride(from: 0, to: 64, by: 2).map { i in
            String(hex.uppercased()[hex.index(hex.startIndex, offsetBy: i)...].prefix(2))
        }.joined(separator: ":")
        for written in [hex, hex.uppercased(), colons, "sha256 Fingerprint=\(colons)", "SHA256:\(hex)"] {
            let config = try ConfigFixture.parse(section: "access", "deny_fingerprints = [\"\(written)\"]")
            XCTAssertEqual(config.access.denyFingerprints, [hex], written)
            XCTAssertEqual(AccessRules.admission(config.access, staging: ".staging").deniedFingerprints, [[UInt8](repeating: 0xAB, count: 32)])
        }
        for bad in ["", String(hex.dropLast()), hex + "00", String(repeating: "zz", count: 32)] {
            assertConfigError("[access]\ndeny_fingerprints = [\"\(bad)\"]\n", kind: .invalidValue,
                              contains: ["'access.deny_fingerprints'", "64 hex digits"])
        }
        assertConfigError("[access]\ndeny_fingerprints = [\"\(hex)\", \"\(hex.uppercased())\"]\n", kind: .invalidValue,
                          contains: ["twice"])
    }

    func testDeniedIdentities() throws {
        let config = try ConfigFixture.parse(section: "access", "deny_identities = [\"mallory\", \"eve@example.com\"]")
        XCTAssertEqual(AccessRules.admission(config.access, staging: ".staging").deniedIdentities, ["mallory", "eve@example.com"])
        assertConfigError("[access]\ndeny_identities = [\"\"]\n", kind: .invalidValue, contains: ["1–1024 bytes"])
        assertConfigError("[access]\ndeny_identities = [\"a\\u0007b\"]\n", kind: .invalidValue, contains: ["control characters"])
        assertConfigError("[access]\ndeny_identities = [1]\n", kind: .wrongType, contains: ["entry 1 must be a string"])
    }
}
