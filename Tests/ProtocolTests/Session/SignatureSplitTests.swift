// What the server accepts from clients is separate from what it signs with (docs/PROTOCOL.md §4 step 5, issue #16
// point 6): ServerHello.client_signature_schemes is the server's configured list and nothing else, and the server's own
// CertificateVerify uses a scheme its key can make, the first (in the key's order) that the client said it verifies.
import XCTest
@testable import Protocol

final class SignatureSplitTests: XCTestCase {
    /// An Ed25519 server that wants RSA-PSS (SHA-256) signatures from its clients.
    private func ed25519ServerRequiringRSAPSS() throws -> ServerConfiguration {
        var server = try Fixtures.serverConfiguration(key: .ed25519)
        server.preferences.signatureSchemes = [.rsaPSSSHA256]
        return server
    }

    /// The ServerHello's client_signature_schemes as the client receives it.
    private static func announcedClientSchemes(in bytes: [UInt8]) -> [UInt16]? {
        guard bytes.count > 6, bytes[5] == MessageType.serverHello.rawValue, let first = Fixtures.records(in: bytes).first,
              let hello = try? ServerHello.decode(bytes[6..<first.count]) else { return nil }
        return hello.clientSignatureSchemes
    }

    func testAnEd25519ServerThatAcceptsOnlyRSAPSSSignsWithEd25519AndTakesAnRSAClient() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(key: .rsa2048), server: ed25519ServerRequiringRSAPSS())
        var announced: [UInt16]?
        pair.pumpBothWays(serverToClient: { bytes in
            if announced == nil { announced = Self.announcedClientSchemes(in: bytes) }
            return bytes
        })
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.handshakeCompleted)
        // On the wire: only what clients may sign with, not the server's own scheme.
        XCTAssertEqual(announced, [SignatureScheme.rsaPSSSHA256.rawValue])
        XCTAssertEqual(pair.client.parameters?.serverSignature, .ed25519)
        XCTAssertEqual(pair.server.parameters?.serverSignature, .ed25519)
        XCTAssertEqual(pair.client.parameters?.clientSignature, .rsaPSSSHA256)
        XCTAssertEqual(pair.server.parameters?.clientSignature, .rsaPSSSHA256)
    }

    /// The same server and a client whose key is Ed25519: the client finds nothing in the server's list that its key
    /// makes and ends the handshake with no_common_signature (§4, the client's checks), as before the split.
    func testSuchAServerRefusesAnEd25519ClientWithNoCommonSignature() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(key: .ed25519), server: ed25519ServerRequiringRSAPSS())
        pair.pump()
        XCTAssertFalse(pair.handshakeCompleted)
        XCTAssertFalse(pair.server.isEstablished)
        XCTAssertEqual(pair.clientError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.clientError?.origin, .local)
        XCTAssertEqual(pair.serverError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.serverError?.origin, .peer)
        XCTAssertTrue(pair.clientError?.detail.contains("ed25519") ?? false, pair.clientError?.detail ?? "")
    }

    /// An RSA server picks, in its key's order (PSS with SHA-256, -384, -512), the first scheme the client verifies;
    /// the list of what it accepts from clients (here ECDSA P-256 only) has no say in it.
    func testTheServerSignsWithTheFirstSchemeOfItsKeyThatTheClientVerifies() throws {
        var server = try Fixtures.serverConfiguration(key: .rsa2048)
        server.preferences.signatureSchemes = [.ecdsaSecp256r1SHA256]
        var client = try Fixtures.clientConfiguration(key: .ecdsaP256)
        client.preferences.signatureSchemes = [.rsaPSSSHA512, .rsaPSSSHA384, .ed25519]
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.client.parameters?.serverSignature, .rsaPSSSHA384)
        XCTAssertEqual(pair.server.parameters?.clientSignature, .ecdsaSecp256r1SHA256)
    }

    /// A client that verifies nothing the server's key makes: the server refuses with no_common_signature, whatever
    /// it accepts from clients (the client's own key would have been fine).
    func testAServerWhoseKeyMakesNothingTheClientVerifiesRefuses() throws {
        var server = try Fixtures.serverConfiguration(key: .ed25519)
        server.preferences.signatureSchemes = SignatureScheme.allCases
        var client = try Fixtures.clientConfiguration(key: .ecdsaP256)
        client.preferences.signatureSchemes = [.ecdsaSecp256r1SHA256, .rsaPSSSHA256]
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertFalse(pair.handshakeCompleted)
        XCTAssertEqual(pair.serverError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.serverError?.origin, .local)
        XCTAssertEqual(pair.clientError?.alert, .noCommonSignature)
        XCTAssertTrue(pair.serverError?.detail.contains("server key signs [ed25519]") ?? false, pair.serverError?.detail ?? "")
    }
}
