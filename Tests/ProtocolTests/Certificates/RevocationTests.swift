// CRLs in TrustStore: what `openssl ca` publishes revokes what it lists, every certificate of a chain needs its
// issuer's CRL once CRLs are configured, a stale CRL follows the configured policy, and the lists `ferry ca crl`
// signs (RevocationListBuilder) are ones `openssl` verifies and applies the same way.
import Foundation
import XCTest
@testable import Protocol
import TestSupport

final class RevocationTests: XCTestCase {
    private var pki: RevocationTestPKI { RevocationTestPKI.shared }

    private func chain(_ identity: TestIdentity) throws -> [Certificate] { try Certificate.chain(fromPEM: identity.chainPEM) }

    private func verify(_ identity: TestIdentity, _ trust: TrustStore, at time: Int64? = nil) -> CertificateVerificationError.Kind? {
        do {
            try trust.verify(chain: try chain(identity), purpose: .clientAuth, expectedName: nil,
                             unixTime: time ?? pki.validUnixTime)
            return nil
        } catch let error as CertificateVerificationError {
            return error.kind
        } catch {
            XCTFail("\(error)")
            return .other
        }
    }

    func testOpenSSLCRLRevokesWhatItListsAndNothingElse() throws {
        let trust = try pki.trust([pki.aliceRevokedCRL])
        XCTAssertEqual(verify(pki.alice, trust), .revoked)
        XCTAssertNil(verify(pki.bob, trust))
        // The list before the revocation revokes nothing; without CRLs nothing is checked.
        XCTAssertNil(verify(pki.alice, try pki.trust([pki.emptyCRL])))
        XCTAssertNil(verify(pki.alice, try pki.trust([])))
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testRevokedAlertIsCertificateRevoked() throws {
        let error = CertificateVerificationError(.revoked, "certificate revoked")
        XCTAssertEqual(ProtocolError.certificate(error).alert, .certificateRevoked)
        XCTAssertEqual(AlertCode.certificateRevoked.rawValue, 0x002C)
        XCTAssertEqual(AlertCode.accessDenied.rawValue, 0x0031)
    }

    func testDERAndSeveralListsInOneFile() throws {
        let der = try RevocationList.load(pki.aliceRevokedCRLDER)
        XCTAssertEqual(der.count, 1)
        XCTAssertEqual(der[0].revokedCount, 1)
        XCTAssertTrue(der[0].lists(serial: [0x20, 0x01]))
        XCTAssertFalse(der[0].lists(serial: [0x20, 0x02]))
        XCTAssertEqual(der[0].issuerName, "CN=Revocation Test Root")
        XCTAssertEqual(verify(pki.alice, try pki.trust([pki.aliceRevokedCRLDER])), .revoked)

        let both = try RevocationList.load(pki.emptyCRL + Array("\nsome text between blocks\n".utf8) + pki.aliceRevokedCRL)
        XCTAssertEqual(both.map(\.revokedCount), [0, 1])
        // Two lists from one issuer: OpenSSL applies the newest (highest cRLNumber, then latest thisUpdate).
        XCTAssertEqual(verify(pki.alice, try pki.trust([pki.emptyCRL, pki.aliceRevokedCRL])), .revoked)
        XCTAssertEqual(verify(pki.alice, try pki.trust([pki.aliceRevokedCRL, pki.aliceRevokedCRL])), .revoked)
    }

    func testMalformedFilesAreRefused() {
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("a certificate, not a CRL", pki.rootPEM),
            ("a private key", pki.rootKeyPEM),
            ("text without blocks", Array("nothing here\n".utf8)),
            ("truncated DER", Array(pki.aliceRevokedCRLDER.dropLast(7))),
            ("DER with trailing bytes", pki.aliceRevokedCRLDER + [0]),
        ]
        for (label, bytes) in cases {
            XCTAssertThrowsError(try RevocationList.load(bytes), label)
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testAnIssuerWithoutACRLIsRefusedOnceCRLsAreConfigured() throws {
        // Only the intermediate's CRL: the root's certificates have no list to be checked against.
        let intermediateCRL = try RevocationTestPKI.built(issuer: pki.intermediatePEM, key: pki.intermediateKeyPEM,
                                                         serials: [], from: pki.validUnixTime - 86_400)
        XCTAssertEqual(verify(pki.bob, try pki.trust([intermediateCRL])), .revocationUnknown)
    }

    func testEveryCertificateOfTheChainIsChecked() throws {
        let from = pki.validUnixTime - 86_400
        let intermediateEmpty = try RevocationTestPKI.built(issuer: pki.intermediatePEM, key: pki.intermediateKeyPEM,
                                                           serials: [], from: from)
        XCTAssertNil(verify(pki.carol, try pki.trust([pki.emptyCRL, intermediateEmpty])))
        // The root's list alone does not cover carol, whom the intermediate issued.
        XCTAssertEqual(verify(pki.carol, try pki.trust([pki.emptyCRL])), .revocationUnknown)
        // The intermediate revoked by the root: carol goes with it, though her own issuer lists nothing.
        let rootRevokesIntermediate = try RevocationTestPKI.built(issuer: pki.rootPEM, key: pki.rootKeyPEM,
                                                                 serials: [[0x20, 0x03]], from: from)
        XCTAssertEqual(verify(pki.carol, try pki.trust([rootRevokesIntermediate, intermediateEmpty])), .revoked)
        // carol revoked by the intermediate.
        let intermediateRevokesCarol = try RevocationTestPKI.built(issuer: pki.intermediatePEM, key: pki.intermediateKeyPEM,
                                                                  serials: [[0x20, 0x04]], from: from)
        XCTAssertEqual(verify(pki.carol, try pki.trust([pki.emptyCRL, intermediateRevokesCarol])), .revoked)
    }

    func testStaleListFollowsThePolicy() throws {
        let accepting = try pki.trust([pki.aliceRevokedCRL], stale: .accept)
        XCTAssertNil(verify(pki.bob, accepting, at: pki.staleUnixTime))
        XCTAssertEqual(verify(pki.alice, accepting, at: pki.staleUnixTime), .revoked, "a stale list still revokes")
        let refusing = try pki.trust([pki.aliceRevokedCRL], stale: .refuse)
        XCTAssertEqual(verify(pki.bob, refusing, at: pki.staleUnixTime), .revocationUnknown)
        XCTAssertNil(verify(pki.bob, refusing), "current: accepted under either policy")
    }

    func testBuilderRefusesAKeyThatIsNotTheIssuers() throws {
        // The builder checks its own signature under the issuer's key before anyone writes the list.
        let impostor = try SigningKey.generate(.ecdsaP256)
        XCTAssertThrowsError(try RevocationListBuilder.build(
            issuer: try Certificate.chain(fromPEM: pki.rootPEM)[0], key: impostor, revoked: [], number: 1,
            thisUpdate: pki.validUnixTime - 86_400, nextUpdate: pki.validUnixTime + 86_400))
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testBuiltListInteroperatesWithOpenSSL() throws {
        let from = pki.validUnixTime - 86_400
        let pem = try RevocationTestPKI.built(issuer: pki.rootPEM, key: pki.rootKeyPEM, serials: [[0x20, 0x02]], from: from)
        let list = try XCTUnwrap(RevocationList.load(pem).first)
        XCTAssertEqual(list.revokedCount, 1)
        XCTAssertTrue(list.lists(serial: [0x20, 0x02]))
        XCTAssertEqual(list.thisUpdate, from - 300)
        XCTAssertEqual(list.nextUpdate, from + 30 * 86_400)
        XCTAssertTrue(list.isIssued(by: try Certificate.chain(fromPEM: pki.rootPEM)[0]))
        XCTAssertFalse(list.isIssued(by: try Certificate.chain(fromPEM: pki.intermediatePEM)[0]))
        XCTAssertEqual(verify(pki.bob, try pki.trust([pem])), .revoked)
        XCTAssertNil(verify(pki.alice, try pki.trust([pem])))

        let directory = try TemporaryDirectory(label: "crl-interop")
        defer { directory.remove() }
        try Data(pem).write(to: directory.appending("built.crl"))
        try Data(pki.rootPEM).write(to: directory.appending("root.crt"))
        try Data(pki.bob.chainPEM).write(to: directory.appending("bob.crt"))
        try Data(pki.alice.chainPEM).write(to: directory.appending("alice.crt"))
        let text = try runOpenSSL(["crl", "-in", "built.crl", "-CAfile", "root.crt", "-noout", "-text"], in: directory.url)
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("verify OK"), text.output)
        XCTAssertTrue(text.output.contains("X509v3 CRL Number"), text.output)
        XCTAssertTrue(text.output.contains("X509v3 Authority Key Identifier"), text.output)
        let bob = try runOpenSSL(["verify", "-crl_check", "-CRLfile", "built.crl", "-CAfile", "root.crt", "bob.crt"],
                                 in: directory.url)
        XCTAssertNotEqual(bob.status, 0)
        XCTAssertTrue(bob.output.contains("certificate revoked"), bob.output)
        let alice = try runOpenSSL(["verify", "-crl_check", "-CRLfile", "built.crl", "-CAfile", "root.crt", "alice.crt"],
                                   in: directory.url)
        XCTAssertEqual(alice.status, 0, alice.output)
    }
}
