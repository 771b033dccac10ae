// ServerCertificateCheck (issue #16 point 7): the server's chain checked as clients will check it, at a chosen time.
// Refusals name the file, what is wrong (with the date) and what to do; warnings come 30 days ahead; every
// certificate's expiry is reported for the metric. Real processes run the same checks in EndToEndTests.
import Foundation
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Daemon

final class ServerCertificateCheckTests: XCTestCase {
    private let pki = CheckPKI.shared
    private let now = SystemClock.unixSeconds()

    private func bundle(_ key: String, _ names: String...) throws -> ServerCertificateCheck.Bundle {
        let pem = try names.flatMap { try pki.pem("\($0).crt") }
        return ServerCertificateCheck.Bundle(key: key, path: "/etc/ferry/\(key).pem", trust: try TrustStore(pemBundle: pem),
                                             certificates: try Certificate.chain(fromPEM: pem))
    }

    private func check(_ identity: Identity, serverCA: ServerCertificateCheck.Bundle? = nil,
                       at time: Int64? = nil) throws -> CertificateReport {
        try ServerCertificateCheck.check(identity: identity, certificatePath: "/etc/ferry/server.crt",
                                         clientCA: try bundle("identity.client_ca", "root"), serverCA: serverCA,
                                         now: time ?? now)
    }

    /// The refusal's text, or a failure when the check passed.
    private func refusal(_ identity: Identity, serverCA: ServerCertificateCheck.Bundle? = nil, at time: Int64? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let report = try check(identity, serverCA: serverCA, at: time)
            XCTFail("the check passed: \(report)", file: file, line: line)
            return ""
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("identity.certificate (/etc/ferry/server.crt)"), text, file: file, line: line)
            return text
        }
    }

    func testAGoodChainPassesAndReportsEveryCertificatesExpiry() throws {
        let report = try check(pki.identity("server", chain: ["intermediate"]))
        XCTAssertEqual(report.warnings, [])
        let leaf = try pki.certificate("server"), intermediate = try pki.certificate("intermediate")
        let root = try pki.certificate("root")
        XCTAssertEqual(report.expiries, [
            CertificateExpiry(role: .server, subject: "CN=files.test", serial: "65", notAfter: try XCTUnwrap(leaf.notAfter)),
            CertificateExpiry(role: .serverChain, subject: "CN=Test Intermediate CA", serial: "64",
                              notAfter: try XCTUnwrap(intermediate.notAfter)),
            CertificateExpiry(role: .clientCA, subject: "CN=Test Root CA", serial: root.serialNumber.map { String(format: "%02x", $0) }.joined(),
                              notAfter: try XCTUnwrap(root.notAfter)),
        ])
    }

    func testAnExpiredOrNotYetValidCertificateIsRefusedWithItsDate() throws {
        let identity = try pki.identity("server", chain: ["intermediate"])
        let leaf = try pki.certificate("server")
        let notAfter = try XCTUnwrap(leaf.notAfter), notBefore = try XCTUnwrap(leaf.notBefore)
        let expired = refusal(identity, at: notAfter + 1)
        XCTAssertTrue(expired.contains("the server certificate CN=files.test expired on \(SystemClock.utcText(notAfter))"), expired)
        XCTAssertTrue(expired.contains("certificate_expired") && expired.contains("renewed certificate"), expired)
        let early = refusal(identity, at: notBefore - 3600)
        XCTAssertTrue(early.contains("is not valid before \(SystemClock.utcText(notBefore))"), early)
        XCTAssertTrue(early.contains("clock"), early)
    }

    func testWithinThirtyDaysOfExpiryItStartsWithAWarning() throws {
        let notAfter = try XCTUnwrap(pki.certificate("server").notAfter)
        let report = try check(pki.identity("server", chain: ["intermediate"]), at: notAfter - 10 * 86_400)
        XCTAssertEqual(report.warnings.count, 1, "\(report.warnings)")
        let warning = report.warnings.first ?? ""
        XCTAssertTrue(warning.hasPrefix("identity.certificate (/etc/ferry/server.crt): the server certificate CN=files.test "
            + "expires on \(SystemClock.utcText(notAfter)), in 10 days"), warning)
        // One day more than the margin: nothing to say.
        XCTAssertEqual(try check(pki.identity("server", chain: ["intermediate"]), at: notAfter - 31 * 86_400).warnings, [])
    }

    /// A bundle may keep a CA beside its successor: one that expires soon, or has expired, is a warning naming the
    /// bundle and the CA, not a refusal (the server's own chain does not depend on it).
    func testAClientCAThatExpiresSoonOrHasExpiredIsAWarningNotARefusal() throws {
        let shortEnd = try XCTUnwrap(pki.certificate("short").notAfter)
        func report(at time: Int64) throws -> CertificateReport {
            try ServerCertificateCheck.check(identity: pki.identity("server", chain: ["intermediate"]),
                                             certificatePath: "/etc/ferry/server.crt",
                                             clientCA: try bundle("identity.client_ca", "root", "short"), serverCA: nil, now: time)
        }
        let soon = try report(at: shortEnd - 20 * 86_400 + 3600)  // when it was made, give or take an hour
        XCTAssertEqual(soon.warnings.count, 1, "\(soon.warnings)")
        let head = "identity.client_ca (/etc/ferry/identity.client_ca.pem): the CA CN=Short-lived CA"
        XCTAssertTrue(soon.warnings.first?.hasPrefix(head + " expires on \(SystemClock.utcText(shortEnd)), in 19 days") ?? false,
                      "\(soon.warnings)")
        XCTAssertEqual(soon.expiries.filter { $0.role == .clientCA }.map(\.subject), ["CN=Test Root CA", "CN=Short-lived CA"])
        let after = try report(at: shortEnd + 1)
        XCTAssertTrue(after.warnings.first?.hasPrefix(head + " expired on \(SystemClock.utcText(shortEnd)): client "
            + "certificates issued by it are refused") ?? false, "\(after.warnings)")
    }

    func testALeafNotForServersIsRefused() throws {
        let client = refusal(try pki.identity("client-only", chain: ["intermediate"]))
        XCTAssertTrue(client.contains("extendedKeyUsage allows clientAuth but not serverAuth"), client)
        XCTAssertTrue(client.contains("ferry ca issue --server"), client)
        let noSignature = refusal(try pki.identity("no-signature", chain: ["intermediate"]))
        XCTAssertTrue(noSignature.contains("keyUsage without digitalSignature"), noSignature)
    }

    func testAMissingIntermediateIsNamed() throws {
        let text = refusal(try pki.identity("server"))
        XCTAssertTrue(text.contains("the server certificate, CN=files.test, was issued by CN=Test Intermediate CA, which is "
            + "neither in that file nor in identity.client_ca (/etc/ferry/identity.client_ca.pem)"), text)
        XCTAssertTrue(text.contains("the chain is missing that intermediate: append its certificate"), text)
        XCTAssertTrue(text.contains("unknown_ca"), text)
    }

    /// A server certificate from another CA than the clients': refused against client_ca (and the message points at
    /// server_ca), accepted once server_ca names the bundle the clients use, whose CAs are then reported too.
    func testAServerCertificateFromAnotherCANeedsServerCA() throws {
        let identity = try pki.identity("other-server")
        let text = refusal(identity)
        XCTAssertTrue(text.contains("set identity.server_ca to the bundle clients verify the server with"), text)
        let report = try check(identity, serverCA: try bundle("identity.server_ca", "other"))
        XCTAssertEqual(report.expiries.map(\.role), [.server, .clientCA, .serverCA])
        XCTAssertEqual(report.expiries.last?.subject, "CN=Other Server CA")
        // And the other way round: with server_ca set, the clients' CA no longer vouches for the server.
        let refused = refusal(try pki.identity("server", chain: ["intermediate"]), serverCA: try bundle("identity.server_ca", "other"))
        XCTAssertTrue(refused.contains("identity.server_ca (/etc/ferry/identity.server_ca.pem)"), refused)
    }
}
