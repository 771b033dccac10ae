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
        let now = pki.validUnixTime
        let anchor = try server.clientTrust.verify(chain: try aliceChain(), purpose: .clientAuth, expectedName: nil,
                                                   unixTime: now)
        XCTAssertEqual(anchor, try Certificate.chain(fromPEM: pki.caPEM)[0].der, "the path ends at the CA")
        let peer = VerifiedPeer(certificateIdentity: "alice", chain: try aliceChain(), anchor: anchor)
        XCTAssertNil(server.recheck(peer, unixTime: now))
        server.admission.deniedIdentities = ["alice"]
        XCTAssertEqual(server.recheck(peer, unixTime: now)?.alert, .accessDenied)
        server.admission = ClientAdmission()
        server.clientTrust = try TrustStore(pemBundle: pki.otherCAPEM)
        XCTAssertEqual(server.recheck(peer, unixTime: now)?.alert, .unknownCA, "the CA was replaced")
        server.clientTrust = try TrustStore(pemBundle: pki.caPEM)
        XCTAssertEqual(server.recheck(peer, unixTime: pki.expiredUnixTime)?.alert, .certificateExpired)
    }

    // MARK: Namespaces

    /// A server trusting the test CA and the other CA; `partner` is the other CA's namespace ("" maps it home).
    private func twoCAs(partner: String) throws -> ServerConfiguration {
        var server = try Fixtures.serverConfiguration(clientCA: pki.caPEM + pki.otherCAPEM)
        server.admission.namespaces = [try Certificate.chain(fromPEM: pki.otherCAPEM)[0].der: partner]
        return server
    }

    private func identity(of client: TestIdentity, on server: ServerConfiguration) throws -> String? {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(client), server: server)
        pair.pump()
        return pair.serverEvents.compactMap { event -> String? in
            if case .handshakeCompleted(let parameters) = event { return parameters.peerIdentity }
            return nil
        }.first
    }

    func testEachCAsClientsLiveInTheirOwnNamespaceUnlessMappedTogether() throws {
        let separate = try twoCAs(partner: "partner")
        XCTAssertEqual(try identity(of: pki.client(.ecdsaP256), on: separate), "alice")
        XCTAssertEqual(try identity(of: pki.otherCAClient, on: separate), "partner:alice", "the other CA's alice")
        let together = try twoCAs(partner: "")
        XCTAssertEqual(try identity(of: pki.otherCAClient, on: together), "alice", "mapped together explicitly")
    }

    func testAHomeIdentityThatReadsLikeANamespacedOneIsRefused() throws {
        let server = try twoCAs(partner: "partner")
        let chain = try aliceChain()
        let home = server.admission.namespaced(VerifiedPeer(certificateIdentity: "partner:alice", chain: chain,
                                                            anchor: try Certificate.chain(fromPEM: pki.caPEM)[0].der))
        XCTAssertEqual(server.admission.refusal(of: home)?.alert, .accessDenied)
        let ipv6 = server.admission.namespaced(VerifiedPeer(certificateIdentity: "2001:db8::1", chain: chain,
                                                            anchor: try Certificate.chain(fromPEM: pki.caPEM)[0].der))
        XCTAssertNil(server.admission.refusal(of: ipv6), "a colon alone is fine")
        // ":" followed by a combining mark is one Swift Character; its bytes still read as "partner" + ":" + the rest,
        // which is what the partner CA's client "\u{301}alice" is called.
        let hidden = server.admission.namespaced(VerifiedPeer(certificateIdentity: "partner:\u{301}alice", chain: chain,
                                                              anchor: try Certificate.chain(fromPEM: pki.caPEM)[0].der))
        XCTAssertEqual(server.admission.refusal(of: hidden)?.alert, .accessDenied)
    }

    /// The CA a client's path ends at is denied by its fingerprint too, though the client never sends it (§6.9: a
    /// fingerprint anywhere in the chain) — a root in the bundle, or an intermediate the operator trusts in client_ca.
    func testDeniedFingerprintOfTheAnchorIsRefused() throws {
        let anchor = try Certificate.chain(fromPEM: pki.caPEM)[0]
        let pair = try handshake { $0.admission.deniedFingerprints = [anchor.fingerprint] }
        XCTAssertFalse(pair.server.isEstablished)
        XCTAssertEqual(pair.serverError?.alert, .accessDenied)
        XCTAssertTrue(pair.serverError?.detail.contains("the CA certificate it verifies against") ?? false,
                      pair.serverError?.detail ?? "")
    }

    func testRecheckEndsASessionWhoseIdentityWouldChange() throws {
        var server = try twoCAs(partner: "partner")
        let otherChain = try Certificate.chain(fromPEM: pki.otherCAClient.chainPEM)
        let anchor = try server.clientTrust.verify(chain: otherChain, purpose: .clientAuth, expectedName: nil,
                                                   unixTime: pki.validUnixTime)
        let peer = server.admission.namespaced(VerifiedPeer(certificateIdentity: "alice", chain: otherChain, anchor: anchor))
        XCTAssertNil(server.recheck(peer, unixTime: pki.validUnixTime))
        server.admission.namespaces = [:]  // the reload maps the partner CA home: its alice would become ours
        XCTAssertEqual(server.recheck(peer, unixTime: pki.validUnixTime)?.alert, .accessDenied)
    }
}
