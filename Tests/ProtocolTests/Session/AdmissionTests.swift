// The server's admission policy (deny list, identity rule) and revocation in a whole handshake: refused with the
// alert that says why, after the client proved its key; and `recheck`, what a server applies to live sessions when
// its trust or policy changes.
import XCTest
@testable import Protocol

final class AdmissionTests: XCTestCase {
    private var pki: TestPKI { Fixtures.pki }

    private func handshake(_ configure: (inout ServerConfiguration) throws -> Void) throws -> SessionPair {
        var server = try Fixtures.serverConfiguration()
        try configure(&server)
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: server)
        pair.pump()
        return pair
    }

    private func aliceChain() throws -> [Certificate] { try Certificate.chain(fromPEM: pki.client(.ecdsaP256).chainPEM) }

    func testDeniedIdentityIsRefusedWithAccessDenied() throws {
        let pair = try handshake { $0.admission.deniedIdentities = ["alice"] }
        XCTAssertFalse(pair.server.isEstablished)
        XCTAssertFalse(pair.client.isEstablished)
        XCTAssertEqual(pair.serverError?.alert, .accessDenied)
        XCTAssertEqual(pair.clientError?.alert, .accessDenied)
        XCTAssertEqual(pair.clientError?.origin, .peer)
        XCTAssertTrue(pair.serverError?.detail.contains("\"alice\"") ?? false)
    }

    func testDeniedFingerprintOfTheLeafIsRefused() throws {
        let fingerprint = try aliceChain()[0].fingerprint
        XCTAssertEqual(fingerprint.count, 32)
        let pair = try handshake { $0.admission.deniedFingerprints = [fingerprint] }
        XCTAssertEqual(pair.serverError?.alert, .accessDenied)
        // Another certificate's fingerprint denies nothing here.
        let other = try Certificate.chain(fromPEM: pki.server(.ecdsaP256).chainPEM)[0].fingerprint
        XCTAssertTrue(try handshake { $0.admission.deniedFingerprints = [other] }.server.isEstablished)
    }

    func testIdentityRuleRefusesInTheHandshake() throws {
        let pair = try handshake { $0.admission.identityRule = { $0 == "alice" ? "reserved name" : nil } }
        XCTAssertEqual(pair.serverError?.alert, .accessDenied)
        XCTAssertTrue(pair.serverError?.detail.contains("reserved name") ?? false)
        XCTAssertTrue(try handshake { $0.admission.identityRule = { _ in nil } }.server.isEstablished)
    }

    func testEstablishedSessionReportsThePeerChain() throws {
        let pair = try handshake { _ in }
        XCTAssertTrue(pair.server.isEstablished)
        let established = pair.serverEvents.compactMap { event -> SessionParameters? in
            if case .handshakeCompleted(let parameters) = event { return parameters }
            return nil
        }
        XCTAssertEqual(established.first?.peerChain, try aliceChain())
        XCTAssertEqual(established.first?.peerIdentity, "alice")
    }

    func testRecheckAppliesNewTrustAndPolicy() throws {
        var server = try Fixtures.serverConfiguration()
        let peer = VerifiedPeer(identity: "alice", chain: try aliceChain())
        let now = pki.validUnixTime
        XCTAssertNil(server.recheck(peer, unixTime: now))
        server.admission.deniedIdentities = ["alice"]
        XCTAssertEqual(server.recheck(peer, unixTime: now)?.alert, .accessDenied)
        server.admission = ClientAdmission()
        server.clientTrust = try TrustStore(pemBundle: pki.otherCAPEM)
        XCTAssertEqual(server.recheck(peer, unixTime: now)?.alert, .unknownCA, "the CA was replaced")
        server.clientTrust = try TrustStore(pemBundle: pki.caPEM)
        XCTAssertEqual(server.recheck(peer, unixTime: pki.expiredUnixTime)?.alert, .certificateExpired)
    }
}
