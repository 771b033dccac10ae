// Peers whose certificates must not be accepted, each rejected with its own reason, and the session never established.
import XCTest
@testable import Protocol

final class CertificateRejectionTests: XCTestCase {
    private var pki: TestPKI { Fixtures.pki }

    private func run(client: ClientConfiguration, server: ServerConfiguration, now: Now = Fixtures.now()) throws -> SessionPair {
        var pair = try SessionPair(client: client, server: server, now: now)
        pair.pump()
        XCTAssertFalse(pair.client.isEstablished)
        XCTAssertFalse(pair.server.isEstablished)
        return pair
    }

    func testClientFromAnotherCA() throws {
        let pair = try run(client: Fixtures.clientConfiguration(pki.otherCAClient), server: Fixtures.serverConfiguration())
        XCTAssertEqual(pair.serverError?.alert, .unknownCA)
        XCTAssertEqual(pair.serverError?.certificateFailure, .untrustedIssuer)
        XCTAssertEqual(pair.clientError?.origin, .peer)
    }

    func testServerFromAnotherCA() throws {
        let pair = try run(client: Fixtures.clientConfiguration(serverCA: pki.otherCAPEM), server: Fixtures.serverConfiguration())
        XCTAssertEqual(pair.clientError?.certificateFailure, .untrustedIssuer)
        XCTAssertEqual(pair.serverError?.alert, .unknownCA)
        XCTAssertEqual(pair.serverError?.origin, .peer)
    }

    func testSelfSignedPeers() throws {
        let client = try run(client: Fixtures.clientConfiguration(pki.selfSignedClient), server: Fixtures.serverConfiguration())
        XCTAssertEqual(client.serverError?.certificateFailure, .selfSigned)
        let server = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(pki.selfSignedServer))
        XCTAssertEqual(server.clientError?.certificateFailure, .selfSigned)
    }

    func testExpiredAndNotYetValid() throws {
        var later = Fixtures.now()
        later.unixSeconds = pki.expiredUnixTime
        let expired = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(), now: later)
        XCTAssertEqual(expired.clientError?.certificateFailure, .expired)
        XCTAssertEqual(expired.clientError?.alert, .certificateExpired)

        var earlier = Fixtures.now()
        earlier.unixSeconds = pki.notYetValidUnixTime
        let early = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(), now: earlier)
        XCTAssertEqual(early.clientError?.certificateFailure, .notYetValid)

        // A client certificate that really expired (checked at the real current time by the server).
        let real = try run(client: Fixtures.clientConfiguration(pki.expiredClient), server: Fixtures.serverConfiguration())
        XCTAssertEqual(real.serverError?.certificateFailure, .expired)
    }

    func testWrongExtendedKeyUsage() throws {
        let server = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(pki.serverWithClientEKU))
        XCTAssertEqual(server.clientError?.certificateFailure, .wrongPurpose)
        let client = try run(client: Fixtures.clientConfiguration(pki.clientWithServerEKU), server: Fixtures.serverConfiguration())
        XCTAssertEqual(client.serverError?.certificateFailure, .wrongPurpose)
    }

    func testKeyUsageWithoutDigitalSignature() throws {
        let pair = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(pki.keyEnciphermentOnlyServer))
        XCTAssertEqual(pair.clientError?.certificateFailure, .wrongPurpose)
    }

    func testWrongSubjectAltName() throws {
        let dns = try run(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration(pki.serverForOtherName))
        XCTAssertEqual(dns.clientError?.certificateFailure, .nameMismatch)
        let ip = try run(client: Fixtures.clientConfiguration(serverName: "127.0.0.2"), server: Fixtures.serverConfiguration())
        XCTAssertEqual(ip.clientError?.certificateFailure, .nameMismatch)
        let name = try run(client: Fixtures.clientConfiguration(serverName: "ferry.example"), server: Fixtures.serverConfiguration())
        XCTAssertEqual(name.clientError?.certificateFailure, .nameMismatch)
    }

    /// A peer that presents a valid certificate but cannot sign with its key fails CertificateVerify.
    func testCertificateWithoutItsKeyFailsTheSignature() throws {
        let real = try Fixtures.identity(pki.server(.ecdsaP256))
        let otherKey = try Fixtures.identity(pki.client(.ecdsaP256)).key
        XCTAssertFalse(real.chain[0].matches(otherKey))
        var server = try Fixtures.serverConfiguration()
        server.identity = Identity(uncheckedChain: real.chain, key: otherKey)
        let pair = try run(client: Fixtures.clientConfiguration(), server: server)
        XCTAssertEqual(pair.clientError?.alert, .decryptError)
        XCTAssertEqual(pair.serverError?.origin, .peer)

        var client = try Fixtures.clientConfiguration()
        let alice = try Fixtures.identity(pki.client(.ecdsaP256))
        client.identity = Identity(uncheckedChain: alice.chain, key: real.key)
        let second = try run(client: client, server: Fixtures.serverConfiguration())
        XCTAssertEqual(second.serverError?.alert, .decryptError)
    }
}
