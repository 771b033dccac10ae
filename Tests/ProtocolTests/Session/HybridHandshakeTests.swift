// Sessions over x25519-mlkem768 (docs/PROTOCOL.md §6.2, §7.2, §12.10): handshakes and rotations for every suite and
// signature type, the share sizes on the wire in every epoch, tampering with either half of either share, fallback to a
// classical group when one side lacks the hybrid, and the size of the default ClientHello.
import XCTest
@testable import Protocol

extension SessionPair {
    /// `pump`, with a hook on each direction that may observe or rewrite the bytes in flight (a man in the middle).
    mutating func pumpBothWays(clientToServer: ([UInt8]) -> [UInt8] = { $0 }, serverToClient: ([UInt8]) -> [UInt8] = { $0 }) {
        for _ in 0..<100_000 {
            var moved = false
            let toServer = client.takeOutput()
            if !toServer.isEmpty {
                moved = true
                server.receive(clientToServer(toServer))
            }
            drainServer()
            let toClient = server.takeOutput()
            if !toClient.isEmpty {
                moved = true
                client.receive(serverToClient(toClient))
            }
            drainClient()
            if !moved { return }
        }
        XCTFail("pump did not settle")
    }
}

final class HybridHandshakeTests: XCTestCase {
    private let keyTypes: [(TestKeyType, [SignatureScheme])] = [
        (.ed25519, [.ed25519]),
        (.ecdsaP256, [.ecdsaSecp256r1SHA256]),
        (.ecdsaP384, [.ecdsaSecp384r1SHA384]),
        (.rsa2048, [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512]),
    ]

    /// Plaintext length of RotateInit / RotateReply: type (1) ‖ epoch (4) ‖ share length (2) ‖ share.
    private static let rotateInitPlaintext = 1 + 4 + 2 + 1216
    private static let rotateReplyPlaintext = 1 + 4 + 2 + 1120

    /// Record length (header included) of a sealed message of `n` plaintext bytes (§5.2).
    private static func sealedRecordLength(_ suite: CipherSuite, plaintext n: Int) -> Int {
        switch suite {
        case .aes256GCM, .aes128GCM, .chacha20Poly1305: 5 + n + 16
        case .aes256CBCHMACSHA256: 5 + 16 + (n / 16 + 1) * 16 + 32
        }
    }

    /// Counts records of each length in a byte stream.
    private static func recordLengths(_ bytes: [UInt8]) -> [Int] { Fixtures.records(in: bytes).map(\.count) }

    /// The defaults of both sides negotiate the hybrid; every suite × every server and client signature type then
    /// completes the handshake, moves data, and rotates both directions twice, each rotation with hybrid shares.
    func testEverySuiteAndSignatureTypeHandshakesAndRotatesOverTheHybridGroup() throws {
        var combinations = 0
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
        for suite in CipherSuite.allCases {
            for (index, (keyType, schemes)) in keyTypes.enumerated() {
                for scheme in schemes {
                    let clientKey = keyTypes[(index + combinations) % keyTypes.count].0
                    let server = try Fixtures.serverConfiguration(key: keyType)
                    var client = try Fixtures.clientConfiguration(key: clientKey)
                    client.preferences.cipherSuites = [suite]
                    client.preferences.signatureSchemes = [scheme]  // the server signs with the first its key makes
                    var pair = try SessionPair(client: client, server: server)
                    let label = "\(suite.name) \(scheme.name) client \(clientKey)"
                    var clientRecords: [Int] = [], serverRecords: [Int] = []
                    var helloShares: [KeyShareEntry] = [], serverShare: [UInt8] = []
                    pair.pumpBothWays(clientToServer: { bytes in
                        if helloShares.isEmpty, bytes.count > 6, bytes[5] == MessageType.clientHello.rawValue,
                           let hello = try? ClientHello.decode(bytes[6..<Fixtures.records(in: bytes)[0].count]) {
                            helloShares = hello.keyShares
                        }
                        clientRecords += Self.recordLengths(bytes)
                        return bytes
                    }, serverToClient: { bytes in
                        if serverShare.isEmpty, bytes.count > 6, bytes[5] == MessageType.serverHello.rawValue,
                           let hello = try? ServerHello.decode(bytes[6..<Fixtures.records(in: bytes)[0].count]) {
                            serverShare = hello.keyShare
                        }
                        serverRecords += Self.recordLengths(bytes)
                        return bytes
                    })
                    XCTAssertNil(pair.clientError, label)
                    XCTAssertNil(pair.serverError, label)
                    XCTAssertEqual(pair.client.parameters?.group, .x25519MLKEM768, label)
                    XCTAssertEqual(pair.server.parameters?.group, .x25519MLKEM768, label)
                    XCTAssertEqual(pair.client.parameters?.serverSignature, scheme, label)
                    XCTAssertEqual(helloShares.map(\.group), [0x11EC, 0x001D, 0x0017], label)
                    XCTAssertEqual(helloShares.map(\.share.count), [1216, 32, 65], label)
                    XCTAssertEqual(serverShare.count, 1120, label)

                    for _ in 0..<2 {
                        try pair.client.rotateNow()
                        try pair.server.rotateNow()
                        pair.pumpBothWays(clientToServer: { clientRecords += Self.recordLengths($0); return $0 },
                                          serverToClient: { serverRecords += Self.recordLengths($0); return $0 })
                    }
                    pair.upload(payload)
                    XCTAssertNil(pair.clientError, label)
                    XCTAssertNil(pair.serverError, label)
                    XCTAssertEqual(pair.received, payload, label)
                    XCTAssertEqual(pair.client.rotations.sent, 2, label)
                    XCTAssertEqual(pair.client.rotations.received, 2, label)
                    // Each side sent two RotateInit (1216-byte share) and two RotateReply (1120-byte share).
                    let initLength = Self.sealedRecordLength(suite, plaintext: Self.rotateInitPlaintext)
                    let replyLength = Self.sealedRecordLength(suite, plaintext: Self.rotateReplyPlaintext)
                    XCTAssertEqual(clientRecords.filter { $0 == initLength }.count, 2, "\(label): client RotateInit")
                    XCTAssertEqual(clientRecords.filter { $0 == replyLength }.count, 2, "\(label): client RotateReply")
                    XCTAssertEqual(serverRecords.filter { $0 == initLength }.count, 2, "\(label): server RotateInit")
                    XCTAssertEqual(serverRecords.filter { $0 == replyLength }.count, 2, "\(label): server RotateReply")
                    combinations += 1
                }
            }
        }
        XCTAssertEqual(combinations, CipherSuite.allCases.count * 6)
    }

    /// Every epoch of a hybrid session, rotated on the caller's request and by volume, uses the hybrid exchange: each
    /// RotateInit carries a 1216-byte share and each RotateReply a 1120-byte one (seen as their sealed record sizes
    /// under AES-256-GCM, one of each per rotation and direction); an x25519 session's rotations have none of them.
    func testEveryEpochOfAHybridSessionUsesTheHybridExchange() throws {
        for group in [KeyExchangeGroup.x25519MLKEM768, .x25519] {
            var client = try Fixtures.clientConfiguration()
            client.preferences.cipherSuites = [.aes256GCM]
            client.preferences.groups = [group]
            client.rotation = RotationPolicy(afterBytes: 64 * 1024)
            var pair = try SessionPair(client: client, server: Fixtures.serverConfiguration())
            var clientRecords: [Int] = [], serverRecords: [Int] = []
            let observe = { (bytes: [UInt8], into: inout [Int]) in into += Self.recordLengths(bytes) }
            pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                              serverToClient: { observe($0, &serverRecords); return $0 })
            XCTAssertEqual(pair.client.parameters?.group, group)
            for _ in 0..<4 {
                try pair.client.rotateNow()
                try pair.server.rotateNow()
                pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                                  serverToClient: { observe($0, &serverRecords); return $0 })
            }
            // Volume rotations of the client's direction during a 1 MiB upload (64 KiB per key).
            let data = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 3) }
            pair.onServerEvent = { pair, event in
                switch event {
                case .uploadRequested: pair.server.accept(now: pair.now)
                case .uploadFinished(let digest, _):
                    pair.server.commit(UploadReceipt(storedName: "f", size: UInt64(data.count), digest: digest), now: pair.now)
                default: break
                }
            }
            pair.client.startUpload(UploadRequest(path: "f", size: UInt64(data.count)), now: pair.now)
            pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                              serverToClient: { observe($0, &serverRecords); return $0 })
            var offset = 0
            while offset < data.count {
                for _ in 0..<100 where !pair.client.canSendData {
                    pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                                      serverToClient: { observe($0, &serverRecords); return $0 })
                }
                let end = min(offset + 16 * 1024, data.count)
                pair.now.monotonicNanoseconds += 100_000_000  // slower than the rotation pacing (PROTOCOL.md §7.5)
                data[offset..<end].withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
                offset = end
                pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                                  serverToClient: { observe($0, &serverRecords); return $0 })
            }
            pair.client.finishUpload(digest: DigestContext.hash(.sha256, data), now: pair.now)
            pair.pumpBothWays(clientToServer: { observe($0, &clientRecords); return $0 },
                              serverToClient: { observe($0, &serverRecords); return $0 })
            XCTAssertNil(pair.clientError, group.name)
            XCTAssertNil(pair.serverError, group.name)
            XCTAssertTrue(pair.received == data, group.name)

            let clientSent = pair.client.rotations.sent, serverSent = pair.server.rotations.sent
            XCTAssertGreaterThanOrEqual(clientSent, 4 + 12, "\(group.name): requested and volume rotations")
            XCTAssertEqual(serverSent, 4, group.name)
            let sends = pair.clientEvents.compactMap { if case .rotated(let e) = $0, e.direction == .send { e } else { nil } }
            XCTAssertEqual(sends.map(\.epoch), Array(1...UInt32(clientSent)), "\(group.name): every epoch, in order")

            // RotateInit / RotateReply records of the hybrid: 5 + 1 + 4 + 2 + share + 16 bytes under AES-256-GCM.
            let initLength = 5 + 1 + 4 + 2 + 1216 + 16, replyLength = 5 + 1 + 4 + 2 + 1120 + 16
            XCTAssertEqual([initLength, replyLength], [1244, 1148])
            let expected = group == .x25519MLKEM768 ? (clientSent, serverSent) : (0, 0)
            XCTAssertEqual(clientRecords.filter { $0 == initLength }.count, expected.0, "\(group.name): client RotateInit")
            XCTAssertEqual(serverRecords.filter { $0 == replyLength }.count, expected.0, "\(group.name): server RotateReply")
            XCTAssertEqual(serverRecords.filter { $0 == initLength }.count, expected.1, "\(group.name): server RotateInit")
            XCTAssertEqual(clientRecords.filter { $0 == replyLength }.count, expected.1, "\(group.name): client RotateReply")
        }
    }

    // MARK: Tampering (man in the middle on the plaintext hellos)

    /// Rewrites the key share of the ServerHello (the first record of the server's first flight).
    private static func rewritingServerShare(_ change: @escaping ([UInt8]) -> [UInt8]) -> ([UInt8]) -> [UInt8] {
        var done = false
        return { bytes in
            guard !done, bytes.count > 6, bytes[5] == MessageType.serverHello.rawValue else { return bytes }
            let records = Fixtures.records(in: bytes)
            guard var hello = try? ServerHello.decode(records[0][6...]) else { return bytes }
            hello.keyShare = change(hello.keyShare)
            var encoder = WireEncoder()
            hello.encode(into: &encoder)
            var layer = RecordLayer()
            layer.writePlaintext(.serverHello, body: encoder.bytes)
            done = true
            return layer.takeOutbound() + records.dropFirst().joined()
        }
    }

    /// Rewrites the client's x25519-mlkem768 key share in the ClientHello.
    private static func rewritingClientHybridShare(_ change: @escaping ([UInt8]) -> [UInt8]) -> ([UInt8]) -> [UInt8] {
        var done = false
        return { bytes in
            guard !done, bytes.count > 6, bytes[5] == MessageType.clientHello.rawValue,
                  var hello = try? ClientHello.decode(bytes[6...]),
                  let index = hello.keyShares.firstIndex(where: { $0.group == KeyExchangeGroup.x25519MLKEM768.rawValue })
            else { return bytes }
            hello.keyShares[index].share = change(hello.keyShares[index].share)
            var encoder = WireEncoder()
            hello.encode(into: &encoder)
            var layer = RecordLayer()
            layer.writePlaintext(.clientHello, body: encoder.bytes)
            done = true
            return layer.takeOutbound()
        }
    }

    private func hybridPair() throws -> SessionPair {
        try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
    }

    /// A changed ML-KEM ciphertext is not detected by the key agreement (FIPS 203 implicit rejection: it decapsulates
    /// to an unrelated secret), so the client derives other handshake keys than the server and its first sealed record,
    /// ServerParameters, fails: bad_record_mac, not illegal_parameter. (The ServerHello bytes, hence the transcript,
    /// differ too; HybridKeyAgreementTests shows the key agreement alone yields a different ML-KEM half.)
    func testTamperedMLKEMCiphertextFailsTheHandshakeAtTheFirstSealedRecord() throws {
        for index in [0, 543, 1087] {
            var pair = try hybridPair()
            pair.pumpBothWays(serverToClient: Self.rewritingServerShare { share in
                XCTAssertEqual(share.count, 1120)
                var share = share
                share[index] ^= 0x80
                return share
            })
            XCTAssertFalse(pair.client.isEstablished, "ciphertext byte \(index)")
            XCTAssertFalse(pair.server.isEstablished, "ciphertext byte \(index)")
            XCTAssertEqual(pair.clientError?.alert, .badRecordMAC, "ciphertext byte \(index): \(String(describing: pair.clientError))")
        }
    }

    /// The X25519 half of the server share: a low-order point (u = 0 or 1, all-zero X25519 secret) is refused when the
    /// ServerHello is processed (illegal_parameter, draft-ietf-tls-ecdhe-mlkem §3.1.3); any other change gives another
    /// secret and fails at the first sealed record, like the ciphertext.
    func testTamperedX25519PartOfTheServerShareFailsTheHandshake() throws {
        let cases: [(String, [UInt8]?, AlertCode)] = [("u = 0", [UInt8](repeating: 0, count: 32), .illegalParameter),
                                                      ("u = 1", [1] + [UInt8](repeating: 0, count: 31), .illegalParameter),
                                                      ("one bit flipped", nil, .badRecordMAC)]
        for (what, replacement, alert) in cases {
            var pair = try hybridPair()
            pair.pumpBothWays(serverToClient: Self.rewritingServerShare { share in
                guard let replacement else {
                    var share = share
                    share[1088 + 7] ^= 0x04
                    return share
                }
                return Array(share[..<1088]) + replacement
            })
            XCTAssertFalse(pair.client.isEstablished, what)
            XCTAssertEqual(pair.clientError?.alert, alert, "\(what): \(String(describing: pair.clientError))")
        }
    }

    /// A server share of the wrong length (a truncated or extended ciphertext, or a classical-size share) is refused
    /// on the ServerHello: illegal_parameter (draft-ietf-tls-ecdhe-mlkem §3.1.2).
    func testServerShareOfTheWrongLengthIsIllegalParameter() throws {
        let changes: [([UInt8]) -> [UInt8]] = [{ Array($0.dropFirst()) }, { $0 + [0] }, { Array($0.suffix(32)) }, { Array($0.prefix(1088)) }]
        for change in changes {
            var pair = try hybridPair()
            pair.pumpBothWays(serverToClient: Self.rewritingServerShare(change))
            XCTAssertFalse(pair.client.isEstablished)
            XCTAssertEqual(pair.clientError?.alert, .illegalParameter, String(describing: pair.clientError))
        }
    }

    /// The client's encapsulation key changed in transit:
    /// - wrong length (1215 or 1217 bytes for the share): the server refuses it, illegal_parameter;
    /// - right length but a coefficient ≥ q (garbage such as 0xFF bytes fails this with near certainty): refused by
    ///   the FIPS 203 §7.2 modulus check in the server, illegal_parameter;
    /// - right length and well formed (another key, or all zero bytes): the server cannot tell; it encapsulates to it
    ///   and the client, which decapsulates with its own key, fails the first sealed record (bad_record_mac).
    func testTamperedClientEncapsulationKey() throws {
        let foreign = try KeyExchangeInitiator(group: .x25519MLKEM768).share
        let cases: [(String, ([UInt8]) -> [UInt8], server: AlertCode?, client: AlertCode)] = [
            ("one byte short", { Array($0[..<1183]) + $0[1184...] }, .illegalParameter, .illegalParameter),
            ("one byte long", { Array($0[..<1184]) + [0] + $0[1184...] }, .illegalParameter, .illegalParameter),
            ("0xFF garbage", { [UInt8](repeating: 0xFF, count: 1184) + $0[1184...] }, .illegalParameter, .illegalParameter),
            ("first coefficient = 4095", { var s = $0; s[0] = 0xFF; s[1] |= 0x0F; return s }, .illegalParameter, .illegalParameter),
            ("another well-formed key", { Array(foreign[..<1184]) + $0[1184...] }, nil, .badRecordMAC),
            ("all-zero key", { [UInt8](repeating: 0, count: 1184) + $0[1184...] }, nil, .badRecordMAC),
        ]
        for (what, change, serverAlert, clientAlert) in cases {
            var pair = try hybridPair()
            pair.pumpBothWays(clientToServer: Self.rewritingClientHybridShare(change))
            XCTAssertFalse(pair.client.isEstablished, what)
            XCTAssertFalse(pair.server.isEstablished, what)
            if let serverAlert {
                XCTAssertEqual(pair.serverError?.alert, serverAlert, "\(what): \(String(describing: pair.serverError))")
            }
            XCTAssertEqual(pair.clientError?.alert, clientAlert, "\(what): \(String(describing: pair.clientError))")
        }
    }

    // MARK: Fallback

    /// Peers without the hybrid still meet on a classical group, in both directions; the server's order decides.
    func testNegotiationFallsBackToAClassicalGroupWithoutTheHybrid() throws {
        let oldGroups: [KeyExchangeGroup] = [.x25519, .secp256r1, .ffdhe3072, .ffdhe2048]  // the defaults before it
        // Old client (x25519, p256) → new server (hybrid first).
        var oldClient = try Fixtures.clientConfiguration()
        oldClient.preferences.groups = [.x25519, .secp256r1]
        var pair = try SessionPair(client: oldClient, server: Fixtures.serverConfiguration())
        var serverShare: [UInt8] = []
        pair.pumpBothWays(serverToClient: { bytes in
            if serverShare.isEmpty, bytes.count > 6, bytes[5] == MessageType.serverHello.rawValue,
               let hello = try? ServerHello.decode(Fixtures.records(in: bytes)[0][6...]) { serverShare = hello.keyShare }
            return bytes
        })
        XCTAssertTrue(pair.handshakeCompleted)
        XCTAssertEqual(pair.server.parameters?.group, .x25519, "old client")
        XCTAssertEqual(serverShare.count, 32)

        // New client (hybrid, x25519, p256) → old server: the hybrid share goes unused.
        var oldServer = try Fixtures.serverConfiguration()
        oldServer.preferences.groups = oldGroups
        pair = try SessionPair(client: Fixtures.clientConfiguration(), server: oldServer)
        pair.pump()
        XCTAssertTrue(pair.handshakeCompleted)
        XCTAssertEqual(pair.client.parameters?.group, .x25519, "old server")

        // A server that lists the hybrid after X25519 picks X25519: the server's order decides (§4).
        var classicalFirst = try Fixtures.serverConfiguration()
        classicalFirst.preferences.groups = [.x25519, .x25519MLKEM768]
        pair = try SessionPair(client: Fixtures.clientConfiguration(), server: classicalFirst)
        pair.pump()
        XCTAssertEqual(pair.client.parameters?.group, .x25519)

        // An old P-256-only server still works with the new default client.
        var p256Only = try Fixtures.serverConfiguration()
        p256Only.preferences.groups = [.secp256r1]
        pair = try SessionPair(client: Fixtures.clientConfiguration(), server: p256Only)
        pair.pump()
        XCTAssertEqual(pair.client.parameters?.group, .secp256r1)

        // Hybrid only against classical only: no_common_group on both sides.
        var hybridOnly = try Fixtures.clientConfiguration()
        hybridOnly.preferences.groups = [.x25519MLKEM768]
        var x25519Only = try Fixtures.serverConfiguration()
        x25519Only.preferences.groups = [.x25519]
        pair = try SessionPair(client: hybridOnly, server: x25519Only)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .noCommonGroup)
        XCTAssertEqual(pair.clientError?.alert, .noCommonGroup)
    }

    /// The server skips a group it does not know even when its share is large: the hybrid entry renamed in transit to
    /// an unassigned code point (as an implementation without x25519-mlkem768 would see an unknown one, §4) is
    /// ignored, and the server negotiates x25519 with no error before negotiation. The client then detects the rewrite
    /// (the transcripts differ): this checks only the server's handling of the unknown entry.
    func testUnknownGroupWithALargeShareIsSkippedByTheServer() throws {
        var pair = try hybridPair()
        var chosen: UInt16?
        pair.pumpBothWays(clientToServer: { bytes in
            guard bytes.count > 6, bytes[5] == MessageType.clientHello.rawValue, var hello = try? ClientHello.decode(bytes[6...])
            else { return bytes }
            hello.groups[0] = 0xFAFA
            hello.keyShares[0].group = 0xFAFA
            var encoder = WireEncoder()
            hello.encode(into: &encoder)
            var layer = RecordLayer()
            layer.writePlaintext(.clientHello, body: encoder.bytes)
            return layer.takeOutbound()
        }, serverToClient: { bytes in
            if chosen == nil, bytes.count > 6, bytes[5] == MessageType.serverHello.rawValue,
               let hello = try? ServerHello.decode(Fixtures.records(in: bytes)[0][6...]) { chosen = hello.group }
            return bytes
        })
        XCTAssertEqual(chosen, KeyExchangeGroup.x25519.rawValue, "the server negotiated past the unknown group")
        XCTAssertFalse(pair.client.isEstablished, "the rewritten ClientHello is detected")
        XCTAssertEqual(pair.clientError?.alert, .badRecordMAC)
    }

    // MARK: Sizes

    /// The default ClientHello (shares for x25519-mlkem768, x25519 and p256, and the upload_features extension) is 1,413
    /// bytes on the wire, 1,408 of record body: far under the 8,192-byte pre-authentication limit; offering every group
    /// is 2,060 bytes of body.
    /// The ServerHello for the hybrid is 1,183 bytes (1,088 more than for x25519).
    func testHelloSizesWithTheHybridGroupFitThePreAuthenticationLimit() throws {
        let client = try ClientConnection(configuration: Fixtures.clientConfiguration())
        var defaultClient = client
        let hello = defaultClient.takeOutput()
        let records = Fixtures.records(in: hello)
        XCTAssertEqual(records.count, 1)
        let body = hello.count - Limits.recordHeaderLength
        XCTAssertEqual(body, 1400 + 8, "1,400 bytes of hello and shares, 8 of the upload_features extension (§8.9)")
        XCTAssertLessThanOrEqual(body, Limits.maxRecordBodyBeforeAuthentication)

        var everyGroup = try Fixtures.clientConfiguration()
        everyGroup.preferences.groups = KeyExchangeGroup.allCases
        var all = try ClientConnection(configuration: everyGroup)
        let allBody = all.takeOutput().count - Limits.recordHeaderLength
        XCTAssertEqual(allBody, 1408 + 2 * 2 + (4 + 256) + (4 + 384))  // two more code points, two more shares
        XCTAssertLessThanOrEqual(allBody, Limits.maxRecordBodyBeforeAuthentication)
        // And the server takes both.
        for configuration in [try Fixtures.clientConfiguration(), everyGroup] {
            var pair = try SessionPair(client: configuration, server: Fixtures.serverConfiguration())
            var serverHelloLength = 0
            pair.pumpBothWays(serverToClient: { bytes in
                if serverHelloLength == 0 { serverHelloLength = Fixtures.records(in: bytes)[0].count }
                return bytes
            })
            XCTAssertTrue(pair.handshakeCompleted)
            XCTAssertEqual(pair.client.parameters?.group, .x25519MLKEM768)
            XCTAssertEqual(serverHelloLength, 1183)
        }
    }
}
