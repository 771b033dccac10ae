import Foundation
import Protocol
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// `[identity] client_ca_namespaces`: explicit lists, the automatic assignment, and what is refused.
final class ClientNamespacesTests: XCTestCase {
    private func certificate(_ commonName: String) throws -> Certificate {
        let key = try SigningKey.generate(.ed25519)
        return try CertificateBuilder.build(
            CertificateTemplate(commonName: commonName, notBefore: 0, notAfter: 4_000_000_000,
                                extensions: [.basicConstraints(isCA: true)]), subjectKey: key, issuer: nil)
    }

    func testDerivedNames() {
        XCTAssertEqual(ClientNamespaces.derivedName("Partner CA (EU)"), "partner-ca-eu")
        XCTAssertEqual(ClientNamespaces.derivedName("  Ferry CA  "), "ferry-ca")
        XCTAssertEqual(ClientNamespaces.derivedName("日本"), "")
    }

    func testAutomaticAssignmentKeepsTheFirstCAHome() throws {
        let home = try certificate("Ferry CA"), partner = try certificate("Partner CA"), twin = try certificate("Partner CA")
        let (namespaces, notes) = try ClientNamespaces.assign(anchors: [home, partner, twin], configured: [])
        XCTAssertEqual(namespaces[home.der], "")
        XCTAssertEqual(namespaces[partner.der], "partner-ca")
        XCTAssertEqual(namespaces[twin.der], "ca-" + String(hex(twin.fingerprint).prefix(8)), "a name already taken")
        XCTAssertEqual(notes.count, 2)
        XCTAssertEqual(try ClientNamespaces.assign(anchors: [home], configured: []).notes, [], "one CA: nothing to say")
    }

    func testExplicitListsMustMatchTheBundle() throws {
        let home = try certificate("Ferry CA"), partner = try certificate("Partner CA")
        let mapped = try ClientNamespaces.assign(anchors: [home, partner], configured: ["", ""])
        XCTAssertEqual(mapped.namespaces[partner.der], "", "mapped together")
        XCTAssertThrowsError(try ClientNamespaces.assign(anchors: [home, partner], configured: [""])) {
            XCTAssertTrue("\($0)".contains("has 1 entries, but identity.client_ca holds 2 certificates"), "\($0)")
        }
        for bad in [".hidden", "a:b", "a/b", String(repeating: "x", count: 65)] {
            assertConfigError("client_ca_namespaces = [\"\", \"\(bad)\"]\n", kind: .invalidValue, contains: ["not a namespace name"])
        }
        XCTAssertEqual(try ConfigFixture.parse(section: "identity", "client_ca_namespaces = [\"\", \"p-1\", \"p-1\"]")
            .identity.clientCANamespaces, ["", "p-1", "p-1"])
    }
}
