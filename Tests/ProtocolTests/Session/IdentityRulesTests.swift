// #16 point 2 in whole handshakes, with certificates made by `openssl`: a client's certificate must be end-entity (a
// CA:TRUE "client" cannot mint alice), its chain may pass only through permitted intermediates, a subject with two
// CNs has no identity, and the server's identity rule refuses in the handshake, saying why.
import Foundation
import XCTest
@testable import Protocol

final class IdentityRulesTests: XCTestCase {
    /// root ── alice; root ── minter (clientAuth, but CA:TRUE) ── "alice"; root ── intermediate ── carol;
    /// root ── "a/b"; root ── two CNs.
    private struct Fixture {
        let rootPEM: [UInt8]
        let intermediatePEM: [UInt8]
        let alice, mintedAlice, minter, carol, slashed, twoNames: TestIdentity
    }

    private static let fixture: Fixture = {
        do {
            let bench = try OpenSSLWorkbench(label: "identity-pki")
            try bench.rootCA("root", subject: "/CN=Identity Test Root")
            let client = OpenSSLWorkbench.clientExtensions
            try bench.leaf("alice", subject: "/CN=alice", serial: 0x3001, issuer: "root", extensions: client)
            try bench.leaf("minter", subject: "/CN=bob", serial: 0x3002, issuer: "root", extensions: """
                basicConstraints = critical,CA:true
                keyUsage = critical,digitalSignature,keyCertSign
                extendedKeyUsage = clientAuth

                """)
            try bench.leaf("minted", subject: "/CN=alice", serial: 0x3003, issuer: "minter", extensions: client)
            try bench.leaf("intermediate", subject: "/CN=Identity Test Intermediate", serial: 0x3004, issuer: "root",
                           extensions: OpenSSLWorkbench.intermediateExtensions)
            try bench.leaf("carol", subject: "/CN=carol", serial: 0x3005, issuer: "intermediate", extensions: client)
            try bench.leaf("slashed", subject: "/CN=a\\/b", serial: 0x3006, issuer: "root", extensions: client)
            try bench.leaf("two", subject: "/CN=alice/CN=admin", serial: 0x3007, issuer: "root", extensions: client)
            return Fixture(rootPEM: try bench.read("root.crt"), intermediatePEM: try bench.read("intermediate.crt"),
                           alice: try bench.identity("alice"), mintedAlice: try bench.identity("minted", chainedWith: ["minter"]),
                           minter: try bench.identity("minter"), carol: try bench.identity("carol", chainedWith: ["intermediate"]),
                           slashed: try bench.identity("slashed"), twoNames: try bench.identity("two"))
        } catch {
            fatalError("IdentityRulesTests fixture: \(error)")
        }
    }()

    private var fixture: Fixture { Self.fixture }

    /// A handshake of `client` against a server trusting the test root, permitting `intermediates`.
    private func handshake(_ client: TestIdentity, intermediates: [UInt8]? = nil,
                           configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> SessionPair {
        let permitted = try intermediates.map { try Certificate.chain(fromPEM: $0) } ?? []
        var server = ServerConfiguration(
            identity: try Fixtures.identity(Fixtures.pki.server(.ecdsaP256)),
            clientTrust: try TrustStore(pemBundle: fixture.rootPEM, permittedIntermediates: permitted))
        configure(&server)
        let clientConfiguration = ClientConfiguration(identity: try Fixtures.identity(client),
                                                      serverTrust: try TrustStore(pemBundle: Fixtures.pki.caPEM),
                                                      serverName: "localhost")
        var pair = try SessionPair(client: clientConfiguration, server: server,
                                   now: Now(monotonicNanoseconds: 1_000_000_000, unixSeconds: Int64(Date().timeIntervalSince1970)))
        pair.pump()
        return pair
    }

    func testAnEndEntityClientIsAdmitted() throws {
        XCTAssertTrue(try handshake(fixture.alice).server.isEstablished)
    }

    func testACAClientCertificateIsRefusedAndCannotMintIdentities() throws {
        let minter = try handshake(fixture.minter)
        XCTAssertEqual(minter.serverError?.certificateFailure, .notEndEntity)
        XCTAssertEqual(minter.serverError?.alert, .unsupportedCertificate)
        let minted = try handshake(fixture.mintedAlice)
        XCTAssertFalse(minted.server.isEstablished, "an alice issued by a client certificate")
        XCTAssertEqual(minted.serverError?.certificateFailure, .untrustedIntermediate)
        XCTAssertEqual(minted.serverError?.alert, .unknownCA)
    }

    func testIntermediatesOnlyWhenPermitted() throws {
        let refused = try handshake(fixture.carol)
        XCTAssertEqual(refused.serverError?.certificateFailure, .untrustedIntermediate)
        XCTAssertTrue(refused.serverError?.detail.contains("Identity Test Intermediate") ?? false)
        XCTAssertTrue(try handshake(fixture.carol, intermediates: fixture.intermediatePEM).server.isEstablished)
    }

    func testSeveralCommonNamesAreRefused() throws {
        let pair = try handshake(fixture.twoNames)
        XCTAssertFalse(pair.server.isEstablished)
        XCTAssertEqual(pair.serverError?.alert, .badCertificate)
        XCTAssertTrue(pair.serverError?.detail.contains("2 commonNames") ?? false, "\(pair.serverError?.detail ?? "")")
    }

    func testTheIdentityRuleRefusesInTheHandshakeAndSaysWhyOnTheWire() throws {
        let pair = try handshake(fixture.slashed) { server in
            server.admission.identityRule = { $0.contains("/") ? "it contains '/'" : nil }
        }
        XCTAssertEqual(pair.serverError?.alert, .accessDenied)
        XCTAssertEqual(pair.clientError?.alert, .accessDenied)
        XCTAssertEqual(pair.clientError?.origin, .peer)
        // The reason reaches the client: the holder of the key learns why it is refused.
        XCTAssertTrue(pair.clientError?.detail.contains("it contains '/'") ?? false, "\(pair.clientError?.detail ?? "")")
    }
}
