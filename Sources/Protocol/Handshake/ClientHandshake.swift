// The client's handshake state machine (docs/PROTOCOL.md §6).
//
//                 init: send ClientHello (one key share per offered group)
//                        │
//                        ▼
//               ┌─────────────────┐  ServerHello: check choices, derive handshake keys
//               │ sentClientHello │────────────────────────────┐
//               └─────────────────┘                            ▼
//                                                 ┌───────────────────────┐
//                                                 │ awaitServerParameters │  {ServerParameters}
//                                                 └───────────────────────┘
//                                                              │
//                                                              ▼
//                                                 ┌───────────────────────┐
//                                                 │ awaitCertificate      │  {Certificate}: verify chain, SAN
//                                                 └───────────────────────┘
//                                                              │
//                                                              ▼
//                                                 ┌───────────────────────┐
//                                                 │ awaitCertificateVerify│  {CertificateVerify}: signature
//                                                 └───────────────────────┘
//                                                              │
//                                                              ▼
//                                                 ┌───────────────────────┐  {Finished}: MAC; send {Certificate},
//                                                 │ awaitFinished         │  {CertificateVerify}, {Finished};
//                                                 └───────────────────────┘  install application keys → SecureChannel
//
// Any message other than the one a state expects is unexpected_message. A failed step throws before the state is
// changed (STYLE.md §10): the connection then sends an alert and closes.

struct ClientHandshake {
    private enum State {
        case sentClientHello(initiators: [KeyExchangeInitiator], transcript: Transcript)
        case awaitServerParameters(HandshakeKeys, clientScheme: SignatureScheme)
        case awaitCertificate(HandshakeKeys, clientScheme: SignatureScheme, server: ServerParameters)
        case awaitCertificateVerify(HandshakeKeys, clientScheme: SignatureScheme, server: ServerParameters, chain: [Certificate], anchor: [UInt8])
        case awaitFinished(HandshakeKeys, clientScheme: SignatureScheme, server: ServerParameters,
                           serverScheme: SignatureScheme, peer: VerifiedPeer)
        case done
    }

    private var state: State
    var records = RecordLayer()  // settable for TestingHooks.swift only
    private let configuration: ClientConfiguration

    init(configuration: ClientConfiguration) throws(ProtocolError) {
        self.configuration = configuration
        let preferences = configuration.preferences
        var initiators: [KeyExchangeInitiator] = []
        for group in preferences.groups {
            do { initiators.append(try KeyExchangeInitiator(group: group)) } catch {
                throw ProtocolError(.internalError, "generating a \(group.name) key share: \(error)")
            }
        }
        let hello = ClientHello(
            versions: configuration.versions.map(\.rawValue), random: randomBytes(Limits.randomLength),
            cipherSuites: preferences.cipherSuites.map(\.rawValue), groups: preferences.groups.map(\.rawValue),
            hashes: preferences.hashes.map(\.rawValue), signatureSchemes: preferences.signatureSchemes.map(\.rawValue),
            keyShares: initiators.map { KeyShareEntry(group: $0.group.rawValue, share: $0.share) },
            extensions: configuration.uploadFeatures.isEmpty ? [] : [configuration.uploadFeatures.extensionEntry])
        var encoder = WireEncoder(reservingCapacity: 256 + hello.keyShares.reduce(0) { $0 + 4 + $1.share.count })
        hello.encode(into: &encoder)
        var transcript = Transcript()
        transcript.append(.clientHello, body: encoder.bytes)
        records.writePlaintext(.clientHello, body: encoder.bytes)
        state = .sentClientHello(initiators: initiators, transcript: transcript)
    }

    mutating func handle(_ type: MessageType, _ body: ArraySlice<UInt8>, now: Now) throws(ProtocolError) -> SecureChannel? {
        switch (state, type) {
        case let (.sentClientHello(initiators, transcript), .serverHello):
            let (keys, scheme) = try handleServerHello(body, initiators: initiators, transcript: transcript, now: now)
            state = .awaitServerParameters(keys, clientScheme: scheme)

        case (.awaitServerParameters(var keys, let scheme), .serverParameters):
            let parameters = try ServerParameters.decode(body)
            // The server agrees to what we offered, never more (§8.9).
            let agreed = try UploadFeatures.from(parameters.extensions)
            guard agreed.isSubset(of: configuration.uploadFeatures) else {
                throw .illegal("the server agreed to upload features 0x\(String(agreed.rawValue, radix: 16)) that were not offered")
            }
            keys.record(type, body)
            state = .awaitCertificate(keys, clientScheme: scheme, server: parameters)

        case (.awaitCertificate(var keys, let scheme, let server), .certificate):
            let (chain, anchor) = try PeerAuthentication.verifyChain(body, trust: configuration.serverTrust, purpose: .serverAuth,
                                                                     expectedName: configuration.serverName, now: now)
            guard !chain.isEmpty else { throw ProtocolError(.badCertificate, "empty chain") }
            keys.record(type, body)
            state = .awaitCertificateVerify(keys, clientScheme: scheme, server: server, chain: chain, anchor: anchor)

        case (.awaitCertificateVerify(var keys, let scheme, let server, let chain, let anchor), .certificateVerify):
            let serverScheme = try PeerAuthentication.verifySignature(
                body, leaf: chain[0], accepted: configuration.preferences.signatureSchemes,
                context: SignedContent.serverContext, transcriptHash: keys.transcript.currentHash)
            let peer = VerifiedPeer(certificateIdentity: try PeerAuthentication.identity(of: chain[0]), chain: chain, anchor: anchor)
            keys.record(type, body)
            state = .awaitFinished(keys, clientScheme: scheme, server: server, serverScheme: serverScheme, peer: peer)

        case (.awaitFinished(var keys, let scheme, let server, let serverScheme, let peer), .finished):
            try PeerAuthentication.checkFinished(body, expected: keys.finishedMAC(trafficSecret: keys.secrets.server),
                                                 hash: keys.negotiated.hash)
            keys.record(type, body)
            // The server now sends under its application keys (only an alert can come before our Finished lands).
            records.receiveKeys = try keys.applicationKeys(client: false, now: now, encrypting: false)
            return try finish(keys: &keys, clientScheme: scheme, server: server, serverScheme: serverScheme,
                              peer: peer, now: now)

        case (.sentClientHello, _), (.awaitServerParameters, _), (.awaitCertificate, _), (.awaitCertificateVerify, _),
             (.awaitFinished, _):
            throw .unexpected("\(type) during the client handshake")
        case (.done, _):
            preconditionFailure("handshake used after it completed")
        }
        return nil
    }

    private mutating func handleServerHello(_ body: ArraySlice<UInt8>, initiators: [KeyExchangeInitiator],
                                            transcript: Transcript, now: Now) throws(ProtocolError) -> (HandshakeKeys, SignatureScheme) {
        let hello = try ServerHello.decode(body)
        let preferences = configuration.preferences
        guard let version = ProtocolVersion(rawValue: hello.version), configuration.versions.contains(version) else {
            throw .illegal("server chose version 0x\(String(hello.version, radix: 16)), which was not offered")
        }
        guard let suite = CipherSuite(rawValue: hello.cipherSuite), preferences.cipherSuites.contains(suite) else {
            throw .illegal("server chose a cipher suite that was not offered")
        }
        guard let hash = HashFunction(rawValue: hello.hash), preferences.hashes.contains(hash) else {
            throw .illegal("server chose a hash that was not offered")
        }
        guard let initiator = initiators.first(where: { $0.group.rawValue == hello.group }) else {
            throw .illegal("server chose a group that was not offered")
        }
        // Our signature: the server's most preferred scheme that our key can produce.
        let ourSchemes = configuration.identity.key.schemes
        guard let scheme = hello.clientSignatureSchemes.lazy.compactMap(SignatureScheme.init(rawValue:))
            .first(where: { ourSchemes.contains($0) })
        else {
            throw ProtocolError(.noCommonSignature, "the server accepts none of the schemes our key can sign with "
                + "(\(ourSchemes.map(\.name).joined(separator: ", ")))")
        }
        let shared: SecretBytes
        do { shared = try initiator.complete(responderShare: hello.keyShare) } catch {
            // A bad share is the server's fault; anything else (e.g. an ML-KEM library failure) is ours
            // (draft-ietf-tls-ecdhe-mlkem §3.1.2: internal_error).
            guard error.kind == .invalidPeerShare else { throw ProtocolError(.internalError, "key agreement: \(error)") }
            throw .illegal("server key share rejected: \(error)")
        }
        var transcript = transcript
        transcript.start(hash)
        transcript.append(.serverHello, body: body)
        let negotiated = Negotiated(version: version, cipherSuite: suite, group: initiator.group, hash: hash)
        let secrets: KeySchedule.HandshakeSecrets
        do { secrets = try KeySchedule.handshakeSecrets(hash, sharedSecret: shared, helloHash: transcript.currentHash) } catch {
            throw ProtocolError(.internalError, "handshake secrets: \(error)")
        }
        records.sendKeys = try HandshakeKeys.trafficKeys(negotiated, secret: secrets.client, now: now, encrypting: true)
        records.receiveKeys = try HandshakeKeys.trafficKeys(negotiated, secret: secrets.server, now: now, encrypting: false)
        return (HandshakeKeys(negotiated: negotiated, transcript: transcript, secrets: secrets), scheme)
    }

    /// Sends our Certificate, CertificateVerify and Finished, then switches to the application keys.
    private mutating func finish(keys: inout HandshakeKeys, clientScheme: SignatureScheme, server: ServerParameters,
                                 serverScheme: SignatureScheme, peer: VerifiedPeer, now: Now) throws(ProtocolError) -> SecureChannel {
        let identity = configuration.identity
        let certificate = PeerAuthentication.certificateBody(identity)
        try writeSealed(.certificate, certificate)
        keys.record(.certificate, certificate)
        let verify = try PeerAuthentication.certificateVerifyBody(identity, scheme: clientScheme, context: SignedContent.clientContext,
                                                                  transcriptHash: keys.transcript.currentHash)
        try writeSealed(.certificateVerify, verify)
        keys.record(.certificateVerify, verify)
        let finished = try keys.finishedMAC(trafficSecret: keys.secrets.client)
        try writeSealed(.finished, finished)
        keys.record(.finished, finished)
        records.sendKeys = try keys.applicationKeys(client: true, now: now, encrypting: true)
        state = .done

        let serverPolicy = RotationPolicy(afterBytes: server.rotateAfterBytes, afterSeconds: UInt64(server.rotateAfterSeconds))
        let policy = configuration.rotation.stricter(serverPolicy)
        let parameters = SessionParameters(
            version: keys.negotiated.version, cipherSuite: keys.negotiated.cipherSuite, group: keys.negotiated.group,
            hash: keys.negotiated.hash, serverSignature: serverScheme, clientSignature: clientScheme,
            peer: peer, rotation: policy,
            maxDataChunk: Int(server.maxDataChunk),
            uploadFeatures: (try? UploadFeatures.from(server.extensions)) ?? [])
        return SecureChannel(records: records, parameters: parameters, sendPolicy: policy, receivePolicy: configuration.rotation)
    }

    private mutating func writeSealed(_ type: MessageType, _ body: [UInt8]) throws(ProtocolError) {
        do { try records.writeSealed(type, body: body) } catch { throw ProtocolError(.internalError, "sealing \(type): \(error)") }
    }
}
