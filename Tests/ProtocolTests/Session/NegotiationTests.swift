// No overlap → an alert naming the list; a man in the middle who strips offers is detected.
import XCTest
@testable import Protocol

final class NegotiationTests: XCTestCase {
    private func failedPair(_ adjust: (inout ClientConfiguration, inout ServerConfiguration) -> Void) throws -> SessionPair {
        var client = try Fixtures.clientConfiguration()
        var server = try Fixtures.serverConfiguration()
        adjust(&client, &server)
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertFalse(pair.handshakeCompleted)
        XCTAssertTrue(pair.client.isClosed)
        XCTAssertTrue(pair.server.isClosed)
        return pair
    }

    func testNoCommonCipherSuite() throws {
        let pair = try failedPair { client, server in
            client.preferences.cipherSuites = [.aes128GCM]
            server.preferences.cipherSuites = [.aes256GCM, .chacha20Poly1305]
        }
        XCTAssertEqual(pair.serverError?.alert, .noCommonCipherSuite)
        XCTAssertEqual(pair.clientError?.alert, .noCommonCipherSuite)
        XCTAssertEqual(pair.clientError?.origin, .peer)
        // The alert's text names the list and both sides' entries, so the operator can fix the configuration.
        XCTAssertTrue(pair.clientError?.detail.contains("aes-128-gcm") ?? false, pair.clientError?.detail ?? "")
        XCTAssertTrue(pair.clientError?.detail.contains("cipher suite") ?? false)
    }

    func testNoCommonGroup() throws {
        let pair = try failedPair { client, server in
            client.preferences.groups = [.ffdhe2048]
            server.preferences.groups = [.x25519]
        }
        XCTAssertEqual(pair.clientError?.alert, .noCommonGroup)
        XCTAssertTrue(pair.clientError?.detail.contains("ffdhe2048") ?? false)
    }

    func testNoCommonHash() throws {
        let pair = try failedPair { client, server in
            client.preferences.hashes = [.sha512]
            server.preferences.hashes = [.sha256, .sha384]
        }
        XCTAssertEqual(pair.clientError?.alert, .noCommonHash)
    }

    func testNoCommonSignatureForTheServerKey() throws {
        let pair = try failedPair { client, _ in
            client.preferences.signatureSchemes = [.ed25519]  // the server's key is ECDSA P-256
        }
        XCTAssertEqual(pair.serverError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.clientError?.alert, .noCommonSignature)
    }

    func testNoCommonSignatureForTheClientKey() throws {
        var client = try Fixtures.clientConfiguration(key: .ed25519)
        client.preferences.signatureSchemes = SignatureScheme.allCases
        var server = try Fixtures.serverConfiguration()
        server.preferences.signatureSchemes = [.ecdsaSecp256r1SHA256]  // accepts no Ed25519 client signature
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertFalse(pair.handshakeCompleted)
        XCTAssertEqual(pair.clientError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.clientError?.origin, .local)
        XCTAssertEqual(pair.serverError?.alert, .noCommonSignature)
        XCTAssertEqual(pair.serverError?.origin, .peer)
    }

    func testNoCommonVersion() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        // A future client that speaks only version 2: rewrite its hello's version list.
        pair.pump(clientToServer: { bytes in
            guard bytes[5] == MessageType.clientHello.rawValue else { return bytes }
            var copy = bytes
            copy[7] = 0x00
            copy[8] = 0x02
            return copy
        })
        XCTAssertEqual(pair.serverError?.alert, .protocolVersion)
        XCTAssertEqual(pair.clientError?.alert, .protocolVersion)
        XCTAssertFalse(pair.handshakeCompleted)
    }

    /// A man in the middle removes the strong options from the ClientHello so that the server picks a weak one. The
    /// offered lists are in the transcript, which both sides' keys, signatures and Finished MACs cover: the client's
    /// view differs from the server's, so the handshake fails and no session is established.
    func testStrippingOffersIsDetected() throws {
        var server = try Fixtures.serverConfiguration()
        server.preferences.cipherSuites = [.aes256GCM, .aes256CBCHMACSHA256]
        var client = try Fixtures.clientConfiguration()
        client.preferences.cipherSuites = [.aes256GCM, .aes256CBCHMACSHA256]
        var pair = try SessionPair(client: client, server: server)
        var stripped = false
        pair.pump(clientToServer: { bytes in
            guard !stripped, bytes.count > 5, bytes[5] == MessageType.clientHello.rawValue,
                  var hello = try? ClientHello.decode(bytes[6...]) else { return bytes }
            hello.cipherSuites = [CipherSuite.aes256CBCHMACSHA256.rawValue]
            var encoder = WireEncoder()
            hello.encode(into: &encoder)
            var record = RecordLayer()
            record.writePlaintext(.clientHello, body: encoder.bytes)
            stripped = true
            return record.takeOutbound()
        })
        XCTAssertTrue(stripped)
        XCTAssertFalse(pair.client.isEstablished)
        XCTAssertFalse(pair.server.isEstablished)
        XCTAssertNotNil(pair.clientError, "the client must detect the downgrade")
        // The server's handshake keys came from a transcript the client never saw: its first sealed record fails.
        XCTAssertEqual(pair.clientError?.alert, .badRecordMAC)
    }

    /// Even a man in the middle who also rewrites the ServerHello back cannot finish: the signature and Finished MAC
    /// cover the transcript.
    func testStrippingOffersAndRewritingTheServerHelloIsDetected() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump(clientToServer: { bytes in
            guard bytes.count > 5, bytes[5] == MessageType.clientHello.rawValue,
                  var hello = try? ClientHello.decode(bytes[6...]) else { return bytes }
            hello.random = [UInt8](repeating: 0, count: 32)  // any change at all
            var encoder = WireEncoder()
            hello.encode(into: &encoder)
            var record = RecordLayer()
            record.writePlaintext(.clientHello, body: encoder.bytes)
            return record.takeOutbound()
        })
        XCTAssertFalse(pair.client.isEstablished)
        XCTAssertNotNil(pair.clientError)
    }
}
