// `ferry ca list / revoke / crl` below the command line: what is recorded at issue, how revocations and CRL numbers
// accumulate, and what is refused.
import Foundation
import Protocol
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

final class CARevocationTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    private func makeCA() throws -> CertificateAuthority {
        try CertificateAuthority.initialize(directory: directory.appending("ca"))
    }

    private func issue(_ ca: CertificateAuthority, _ name: String, days: Int = 30, now: Date = Date()) throws -> IssuedCertificate {
        try ca.issue(name: name, role: .client, days: days, outputDirectory: directory.appending("out-\(UUID().uuidString)"),
                     now: now)
    }

    func testIssueRecordsAndListShowsStatus() throws {
        let ca = try makeCA()
        let alice = try issue(ca, "alice")
        let old = try issue(ca, "bob", days: 1, now: Date().addingTimeInterval(-3 * 86_400))
        let entries = try ca.issuedEntries()
        XCTAssertEqual(entries.map(\.name), ["alice", "bob"])
        XCTAssertEqual(entries[0].serial, alice.serialHex.replacingOccurrences(of: ":", with: "").lowercased()
            .drop { $0 == "0" }.description)
        XCTAssertEqual(entries[0].status, .valid)
        XCTAssertEqual(entries[1].status, .expired, "issued \(old.notAfter)")
    }

    func testRevokeByNameTakesEveryValidCertificateOfThatName() throws {
        let ca = try makeCA()
        _ = try issue(ca, "alice")
        _ = try issue(ca, "alice")
        _ = try issue(ca, "bob")
        XCTAssertEqual(try ca.revoke(name: "alice").count, 2)
        XCTAssertThrowsError(try ca.revoke(name: "alice")) { XCTAssertEqual(($0 as? CAError)?.kind, .invalidArgument) }
        XCTAssertThrowsError(try ca.revoke(name: "carol")) {
            XCTAssertTrue(($0 as? CAError)?.message.contains("no certificate named \"carol\"") ?? false)
        }
        let statuses = try ca.issuedEntries().map { ($0.name, $0.status == .valid) }
        XCTAssertEqual(statuses.filter { $0.1 }.map(\.0), ["bob"])
    }

    func testRevokeBySerialAcceptsTheUsualSpellings() throws {
        let ca = try makeCA()
        let bob = try issue(ca, "bob")
        let revoked = try ca.revoke(serial: bob.serialHex.uppercased())  // "AB:CD:…", as `openssl x509 -serial` prints
        XCTAssertEqual(revoked.name, "bob")
        XCTAssertEqual(try ca.revoke(serial: "0x00ff").serial, "ff")
        XCTAssertNil(try ca.revoke(serial: "1234").name, "not on record, still revoked")
        XCTAssertThrowsError(try ca.revoke(serial: "1234"), "twice")
        XCTAssertThrowsError(try ca.revoke(serial: "xyz"))
        XCTAssertThrowsError(try ca.revoke(serial: ca.certificate.serialNumber.map { String(format: "%02x", $0) }.joined()),
                             "the CA's own certificate")
    }

    func testCRLListsEveryRevocationAndNumbersIncrease() throws {
        let ca = try makeCA()
        let bob = try issue(ca, "bob")
        _ = try issue(ca, "alice")
        let first = try ca.revocationList(days: 7)
        XCTAssertEqual(first.number, 1)
        XCTAssertEqual(first.revokedCount, 0)
        try ca.revoke(name: "bob")
        let second = try ca.revocationList(days: 7)
        XCTAssertEqual(second.number, 2)
        XCTAssertEqual(second.revokedCount, 1)
        XCTAssertTrue(second.isIssued(by: ca.certificate))
        let serial = try Certificate.chain(fromPEM: [UInt8](Data(contentsOf: URL(fileURLWithPath: bob.certificatePath))))[0]
            .serialNumber
        XCTAssertTrue(second.lists(serial: serial))
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(Double(second.nextUpdate ?? 0), Double(now + 7 * 86_400), accuracy: 5)
        XCTAssertThrowsError(try ca.revocationList(days: 0))
        // A damaged registry is reported, not read as empty.
        try Data("not a line\n".utf8).write(to: directory.appending("ca/revoked"))
        XCTAssertThrowsError(try ca.revocationList(days: 7)) {
            XCTAssertTrue(($0 as? CAError)?.message.contains("line 1") ?? false)
        }
    }
}
