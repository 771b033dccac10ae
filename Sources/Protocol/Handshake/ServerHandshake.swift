// The server's handshake state machine (docs/PROTOCOL.md §6).
//
//   ┌──────────────────┐  ClientHello: negotiate by the server's preference; send ServerHello, then sealed under the
//   │ awaitClientHello │  server handshake keys {ServerParameters} {Certificate} {CertificateVerify} {Finished}
//   └──────────────────┘
//            │
//            ▼
//   ┌──────────────────┐  {Certificate}: verify the client chain (clientAuth)
//   │ awaitCertificate │
//   └──────────────────┘
//            │
//            ▼
//   ┌────────────────────────┐  {CertificateVerify}: signature with the client context string; then the
//   │ awaitCertificateVerify │  admission policy (deny list, identity rules): access_denied
//   └────────────────────────┘
//            │
//            ▼
//   ┌──────────────────┐  {Finished}: MAC; install application keys → SecureChannel
//   │ awaitFinished    │
//   └──────────────────┘
//
// The server switches its sending keys to its application keys right after its Finished (as in TLS 1.3) but sends
// nothing under them until the client's Finished has verified, except an alert (no 0.5-RTT data): everything it sends
// after the handshake goes to an authenticated client.

struct ServerHandshake {
    private enum State {
        case awaitClientHello
        case awaitCertificate(HandshakeKeys, serverScheme: SignatureScheme)
        case awaitCertificateVerify(HandshakeKeys, serverScheme: SignatureScheme, chain: [Certificate], anchor: [UInt8])
        case awaitFinished(HandshakeKeys, serverScheme: SignatureScheme, clientScheme: SignatureScheme, peer: VerifiedPeer)
        case done
    }

    private var state = State.awaitClientHello
    /// What the client offered of our upload features (§8.9), announced in ServerParameters.
    private var agreedFeatures: UploadFeatures = []
    var records = RecordLayer()  // settable for TestingHooks.swift only
    private let configuration: ServerConfiguration

    init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    mutating func handle(_ type: MessageType, _ body: ArraySlice<UInt8>, now: Now) throws(ProtocolError) -> SecureChannel? {
        switch (state, type) {
        case (.awaitClientHello, .clientHello):
            let (keys, scheme) = try handleClientHello(body, now: now)
            state = .awaitCertificate(keys, serverScheme: scheme)

        case (.awaitCertificate(var keys, let scheme), .certificate):
            let (chain, anchor) = try PeerAuthentication.verifyChain(body, trust: configuration.clientTrust,
                                                                     purpose: .clientAuth, expectedName: nil, now: now)
            guard !chain.isEmpty else { throw ProtocolError(.badCertificate, "empty chain") }
            keys.record(type, body)
            state = .awaitCertificateVerify(keys, serverScheme: scheme, chain: chain, anchor: anchor)

        case (.awaitCertificateVerify(var keys, let serverScheme, let chain, let anchor), .certificateVerify):
            let clientScheme = try PeerAuthentication.verifySignature(
                body, leaf: chain[0], accepted: configuration.preferences.signatureSchemes,
                context: SignedContent.clientContext, transcriptHash: keys.transcript.currentHash)
            // The client has proven its key: now the server's own policy (deny list, identity rules) may refuse it.
            let peer = configuration.admission.namespaced(
                VerifiedPeer(certificateIdentity: try PeerAuthentication.identity(of: chain[0]), chain: chain, anchor: anchor))
            if let refusal = configuration.admission.refusal(of: peer) { throw refusal }
            keys.record(type, body)
            state = .awaitFinished(keys, serverScheme: serverScheme, clientScheme: clientScheme, peer: peer)

        case (.awaitFinished(var keys, let serverScheme, let clientScheme, let peer), .finished):
            try PeerAuthentication.checkFinished(body, expected: keys.finishedMAC(trafficSecret: keys.secrets.client),
                                                 hash: keys.negotiated.hash)
            keys.record(type, body)
            records.receiveKeys = try keys.applicationKeys(client: true, now: now, encrypting: false)
            state = .done
            let parameters = SessionParameters(
                version: keys.negotiated.version, cipherSuite: keys.negotiated.cipherSuite, group: keys.negotiated.group,
                hash: keys.negotiated.hash, serverSignature: serverScheme, clientSignature: clientScheme,
                peer: peer, rotation: configuration.rotation,
                maxDataChunk: configuration.maxDataChunk, uploadFeatures: agreedFeatures)
            return SecureChannel(records: records, parameters: parameters, sendPolicy: configuration.rotation,
                                 receivePolicy: configuration.rotation)

        case (.awaitClientHello, _), (.awaitCertificate, _), (.awaitCertificateVerify, _), (.awaitFinished, _):
            throw .unexpected("\(type) during the server handshake")
        case (.done, _):
            preconditionFailure("handshake used after it completed")
        }
        return nil
    }

    /// Picks the first entry of the server's list that the client offered.
    private static func choose<T: RawRepresentable>(_ ours: [T], offered: [UInt16]) -> T? where T.RawValue == UInt16 {
        ours.first { offered.contains($0.rawValue) }
    }

    private static func names<T: RawRepresentable & NamedAlgorithm>(_ offered: [UInt16], as: T.Type) -> String
    where T.RawValue == UInt16 {
        offered.map { T(rawValue: $0)?.name ?? "0x" + String($0, radix: 16) }.joined(separator: ", ")
    }

    private mutating func handleClientHello(_ body: ArraySlice<UInt8>, now: Now) throws(ProtocolError) -> (HandshakeKeys, SignatureScheme) {
        let hello = try ClientHello.decode(body)
        // Decoded before anything is negotiated or computed: a malformed upload_features extension is a ClientHello
        // refused in plaintext (§6.2 step 4, §9.2), not one answered with a ServerHello first.
        let offeredFeatures = try UploadFeatures.from(hello.extensions)
        let preferences = configuration.preferences
        guard let version = Self.choose(configuration.versions, offered: hello.versions) else {
            throw ProtocolError(.protocolVersion, "client offers versions \(hello.versions.map { "0x" + String($0, radix: 16) }), "
                + "server speaks \(configuration.versions.map { "0x" + String($0.rawValue, radix: 16) })")
        }
        guard let suite = Self.choose(preferences.cipherSuites, offered: hello.cipherSuites) else {
            throw ProtocolError(.noCommonCipherSuite, "client offers [\(Self.names(hello.cipherSuites, as: CipherSuite.self))], "
                + "server accepts [\(preferences.cipherSuites.map(\.name).joined(separator: ", "))]")
        }
        guard let group = Self.choose(preferences.groups, offered: hello.groups) else {
            throw ProtocolError(.noCommonGroup, "client offers [\(Self.names(hello.groups, as: KeyExchangeGroup.self))], "
                + "server accepts [\(preferences.groups.map(\.name).joined(separator: ", "))]")
        }
        guard let hash = Self.choose(preferences.hashes, offered: hello.hashes) else {
            throw ProtocolError(.noCommonHash, "client offers [\(Self.names(hello.hashes, as: HashFunction.self))], "
                + "server accepts [\(preferences.hashes.map(\.name).joined(separator: ", "))]")
        }
        // The server's own signature follows from its key alone (§4 step 5): `preferences.signatureSchemes` is what
        // clients may sign with (sent in ServerHello), so an Ed25519 server can still require RSA-PSS from its clients.
        let keySchemes = configuration.identity.key.schemes
        guard let serverScheme = Self.choose(keySchemes, offered: hello.signatureSchemes) else {
            throw ProtocolError(.noCommonSignature, "client verifies [\(Self.names(hello.signatureSchemes, as: SignatureScheme.self))], "
                + "server key signs [\(keySchemes.map(\.name).joined(separator: ", "))]")
        }
        guard let clientShare = hello.keyShares.first(where: { $0.group == group.rawValue }) else {
            throw .illegal("no key share for \(group.name)")  // unreachable: decode enforces one share per group
        }
        let share: [UInt8], shared: SecretBytes
        do { (share, shared) = try KeyExchangeResponder.respond(group: group, initiatorShare: clientShare.share) } catch {
            guard error.kind == .invalidPeerShare else { throw ProtocolError(.internalError, "key agreement: \(error)") }
            throw .illegal("client \(group.name) key share rejected: \(error)")
        }

        let serverHello = ServerHello(version: version.rawValue, random: randomBytes(Limits.randomLength),
                                      cipherSuite: suite.rawValue, group: group.rawValue, hash: hash.rawValue,
                                      clientSignatureSchemes: preferences.signatureSchemes.map(\.rawValue), keyShare: share)
        var encoder = WireEncoder(reservingCapacity: 128 + share.count)
        serverHello.encode(into: &encoder)
        var transcript = Transcript()
        transcript.start(hash)
        transcript.append(.clientHello, body: body)
        transcript.append(.serverHello, body: encoder.bytes)
        records.writePlaintext(.serverHello, body: encoder.bytes)

        let negotiated = Negotiated(version: version, cipherSuite: suite, group: group, hash: hash)
        let secrets: KeySchedule.HandshakeSecrets
        do { secrets = try KeySchedule.handshakeSecrets(hash, sharedSecret: shared, helloHash: transcript.currentHash) } catch {
            throw ProtocolError(.internalError, "handshake secrets: \(error)")
        }
        records.sendKeys = try HandshakeKeys.trafficKeys(negotiated, secret: secrets.server, now: now, encrypting: true)
        records.receiveKeys = try HandshakeKeys.trafficKeys(negotiated, secret: secrets.client, now: now, encrypting: false)
        var keys = HandshakeKeys(negotiated: negotiated, transcript: transcript, secrets: secrets)

        agreedFeatures = offeredFeatures.intersection(configuration.uploadFeatures)
        var parameters = WireEncoder()
        ServerParameters(rotateAfterBytes: configuration.rotation.afterBytes ?? 0,
                         rotateAfterSeconds: UInt32(clamping: configuration.rotation.afterSeconds ?? 0),
                         maxDataChunk: UInt32(configuration.maxDataChunk),
                         extensions: agreedFeatures.isEmpty ? [] : [agreedFeatures.extensionEntry]).encode(into: &parameters)
        try writeSealed(.serverParameters, parameters.bytes)
        keys.record(.serverParameters, parameters.bytes)
        let certificate = PeerAuthentication.certificateBody(configuration.identity)
        try writeSealed(.certificate, certificate)
        keys.record(.certificate, certificate)
        let verify = try PeerAuthentication.certificateVerifyBody(configuration.identity, scheme: serverScheme,
                                                                  context: SignedContent.serverContext,
                                                                  transcriptHash: keys.transcript.currentHash)
        try writeSealed(.certificateVerify, verify)
        keys.record(.certificateVerify, verify)
        let finished = try keys.finishedMAC(trafficSecret: secrets.server)
        try writeSealed(.finished, finished)
        keys.record(.finished, finished)
        // From here on the server seals under its application keys; until the client's Finished verifies, the state
        // machine sends nothing but an alert (no 0.5-RTT data).
        records.sendKeys = try keys.applicationKeys(client: false, now: now, encrypting: true)
        return (keys, serverScheme)
    }

    private mutating func writeSealed(_ type: MessageType, _ body: [UInt8]) throws(ProtocolError) {
        do { try records.writeSealed(type, body: body) } catch { throw ProtocolError(.internalError, "sealing \(type): \(error)") }
    }
}
