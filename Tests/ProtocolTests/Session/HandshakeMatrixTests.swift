// Every cipher suite × group × signature type: a full handshake in memory, then an upload, and rotation traffic in
// both directions.
import XCTest
@testable import Protocol

final class HandshakeMatrixTests: XCTestCase {
    /// Server key types and the schemes each one can sign with.
    private let keyTypes: [(TestKeyType, [SignatureScheme])] = [
        (.ed25519, [.ed25519]),
        (.ecdsaP256, [.ecdsaSecp256r1SHA256]),
        (.ecdsaP384, [.ecdsaSecp384r1SHA384]),
        (.rsa2048, [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512]),
    ]

    func testEverySuiteGroupAndSignatureSchemeHandshakesAndTransfers() throws {
        var combinations = 0
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for suite in CipherSuite.allCases {
            for group in KeyExchangeGroup.allCases {
                for (index, (keyType, schemes)) in keyTypes.enumerated() {
                    for scheme in schemes {
                        // The client's key type walks the list too, so every client signature type is covered.
                        let clientKey = keyTypes[(index + combinations) % keyTypes.count].0
                        let hash = HashFunction.allCases[combinations % HashFunction.allCases.count]
                        let server = try Fixtures.serverConfiguration(key: keyType)
                        var client = try Fixtures.clientConfiguration(key: clientKey)
                        // The server signs with a scheme its key makes, the first the client verifies: a client that
                        // verifies only `scheme` gets it (an RSA server would otherwise always pick rsa_pss_sha256).
                        client.preferences = AlgorithmPreferences(cipherSuites: [suite], groups: [group], hashes: [hash],
                                                                  signatureSchemes: [scheme])
                        var pair = try SessionPair(client: client, server: server)
                        pair.pump()
                        let label = "\(suite.name) \(group.name) \(hash.name) \(scheme.name) client \(clientKey)"
                        XCTAssertNil(pair.clientError, label)
                        XCTAssertNil(pair.serverError, label)
                        guard let parameters = pair.client.parameters else {
                            XCTFail("no handshake: \(label)")
                            continue
                        }
                        XCTAssertEqual(parameters.cipherSuite, suite, label)
                        XCTAssertEqual(parameters.group, group, label)
                        XCTAssertEqual(parameters.hash, hash, label)
                        XCTAssertEqual(parameters.serverSignature, scheme, label)
                        XCTAssertEqual(pair.server.parameters?.peerIdentity, "alice", label)
                        XCTAssertEqual(parameters.peerIdentity, "ferry-server", label)

                        // Data both ways: an upload client→server, a rotation of each direction (RotateInit/Reply
                        // travel both ways under the application keys), then another upload under the new keys.
                        pair.upload(payload)
                        try pair.client.rotateNow()
                        try pair.server.rotateNow()
                        pair.pump()
                        pair.upload(Array(payload.prefix(70_001)), path: "second.bin")
                        XCTAssertNil(pair.clientError, label)
                        XCTAssertNil(pair.serverError, label)
                        XCTAssertEqual(pair.received, payload + payload.prefix(70_001), label)
                        XCTAssertEqual(pair.client.rotations.sent, 1, label)
                        XCTAssertEqual(pair.client.rotations.received, 1, label)
                        XCTAssertEqual(pair.clientEvents.filter { if case .uploadCommitted = $0 { true } else { false } }.count, 2, label)
                        combinations += 1
                    }
                }
            }
        }
        XCTAssertEqual(combinations, CipherSuite.allCases.count * KeyExchangeGroup.allCases.count * 6)
    }

    func testCertificatesMadeWithThePlainOpenSSLCommandLineAreAccepted() throws {
        let pki = Fixtures.pki
        var pair = try SessionPair(client: Fixtures.clientConfiguration(pki.plainClient),
                                   server: Fixtures.serverConfiguration(pki.plainServer))
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.handshakeCompleted)
    }

    func testIntermediateChainIsAccepted() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(),
                                   server: Fixtures.serverConfiguration(Fixtures.pki.intermediateServer))
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertTrue(pair.handshakeCompleted)
    }

    func testServerNameMayBeAnIPAddress() throws {
        for name in ["127.0.0.1", "::1", "localhost"] {
            var pair = try SessionPair(client: Fixtures.clientConfiguration(serverName: name),
                                       server: Fixtures.serverConfiguration())
            pair.pump()
            XCTAssertNil(pair.clientError, name)
            XCTAssertTrue(pair.handshakeCompleted, name)
        }
    }

    func testServerPreferenceDecides() throws {
        var server = try Fixtures.serverConfiguration()
        server.preferences.cipherSuites = [.chacha20Poly1305, .aes256GCM]
        server.preferences.groups = [.secp256r1, .x25519]
        server.preferences.hashes = [.sha512, .sha256]
        var client = try Fixtures.clientConfiguration()
        client.preferences.cipherSuites = [.aes256GCM, .chacha20Poly1305]
        client.preferences.groups = [.x25519, .secp256r1]
        client.preferences.hashes = [.sha256, .sha512]
        var pair = try SessionPair(client: client, server: server)
        pair.pump()
        XCTAssertEqual(pair.client.parameters?.cipherSuite, .chacha20Poly1305)
        XCTAssertEqual(pair.client.parameters?.group, .secp256r1)
        XCTAssertEqual(pair.client.parameters?.hash, .sha512)
    }

    func testFlightsDeliveredOneByteAtATimeGiveTheSameResult() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        for _ in 0..<10 {
            let toServer = pair.client.takeOutput()
            for byte in toServer {
                pair.server.receive([byte])
                pair.drainServer()
            }
            let toClient = pair.server.takeOutput()
            for byte in toClient {
                pair.client.receive([byte])
                pair.drainClient()
            }
            if toServer.isEmpty && toClient.isEmpty { break }
        }
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.handshakeCompleted)
    }
}
