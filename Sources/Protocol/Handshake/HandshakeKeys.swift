// State shared by both handshake machines once the hellos are exchanged: the choices and the running transcript.

struct Negotiated {
    let version: ProtocolVersion
    let cipherSuite: CipherSuite
    let group: KeyExchangeGroup
    let hash: HashFunction
}

/// What exists from ServerHello on: handshake secrets and the transcript that every later message extends.
struct HandshakeKeys {
    let negotiated: Negotiated
    var transcript: Transcript
    let secrets: KeySchedule.HandshakeSecrets

    /// Records one handshake message in the transcript.
    mutating func record(_ type: MessageType, _ body: some Collection<UInt8>) { transcript.append(type, body: body) }

    /// Builds the traffic keys of one direction from a handshake traffic secret.
    static func trafficKeys(_ negotiated: Negotiated, secret: SecretBytes, now: Now,
                            encrypting: Bool) throws(ProtocolError) -> TrafficKeys {
        do {
            return try TrafficKeys(suite: negotiated.cipherSuite, hash: negotiated.hash, secret: secret, epoch: 0,
                                   installedAt: now.monotonicNanoseconds, encrypting: encrypting)
        } catch {
            throw ProtocolError(.internalError, "deriving traffic keys: \(error)")
        }
    }

    /// The epoch-0 application keys of one direction, from the transcript so far: the server's right after the
    /// server Finished, the client's right after the client Finished (KeySchedule).
    func applicationKeys(client: Bool, now: Now, encrypting: Bool) throws(ProtocolError) -> TrafficKeys {
        let secret: SecretBytes
        do {
            let master = try KeySchedule.masterSecret(negotiated.hash, handshakeSecret: secrets.handshakeSecret)
            secret = try KeySchedule.deriveSecret(negotiated.hash, secret: master, label: client ? "c ap traffic" : "s ap traffic",
                                                  transcriptHash: transcript.currentHash)
        } catch {
            throw ProtocolError(.internalError, "deriving application secrets: \(error)")
        }
        return try Self.trafficKeys(negotiated, secret: secret, now: now, encrypting: encrypting)
    }

    /// The Finished verify_data for `trafficSecret` over the transcript so far.
    func finishedMAC(trafficSecret: SecretBytes) throws(ProtocolError) -> [UInt8] {
        do {
            return try KeySchedule.finishedMAC(negotiated.hash, trafficSecret: trafficSecret, transcriptHash: transcript.currentHash)
        } catch {
            throw ProtocolError(.internalError, "finished key: \(error)")
        }
    }
}

/// Certificate and signature steps common to both sides.
enum PeerAuthentication {
    /// Parses and verifies a received Certificate message against `trust`.
    /// The peer's chain, verified, and the DER of the anchor its path ended at.
    static func verifyChain(_ body: ArraySlice<UInt8>, trust: TrustStore, purpose: CertificatePurpose,
                            expectedName: String?, now: Now) throws(ProtocolError) -> (chain: [Certificate], anchor: [UInt8]) {
        let message = try CertificateMessage.decode(body)
        var chain: [Certificate] = []
        for der in message.chain {
            do { chain.append(try trust.certificate(der: der)) } catch {
                throw ProtocolError(.badCertificate, "unparseable certificate: \(error)", certificateFailure: .malformed)
            }
        }
        do {
            let anchor = try trust.verify(chain: chain, purpose: purpose, expectedName: expectedName, unixTime: now.unixSeconds)
            return (chain, anchor)
        } catch {
            throw ProtocolError.certificate(CertificateExplanation.explain(error, chain: chain, trust: trust,
                                                                           purpose: purpose, expectedName: expectedName))
        }
    }

    /// Checks a CertificateVerify: the scheme is one we accept and fits the leaf's key, and the signature verifies
    /// over the role's context string and the transcript hash.
    static func verifySignature(_ body: ArraySlice<UInt8>, leaf: Certificate, accepted: [SignatureScheme],
                                context: String, transcriptHash: [UInt8]) throws(ProtocolError) -> SignatureScheme {
        let message = try CertificateVerify.decode(body)
        guard let scheme = SignatureScheme(rawValue: message.scheme), accepted.contains(scheme) else {
            throw .illegal("signature scheme 0x\(String(message.scheme, radix: 16)) was not offered")
        }
        let key = leaf.publicKey
        guard key.schemes.contains(scheme) else { throw .illegal("\(scheme.name) does not fit the certificate's key") }
        let content = SignedContent.build(context: context, transcriptHash: transcriptHash)
        guard key.verify(message.signature, message: content, scheme: scheme) else {
            throw ProtocolError(.decryptError, "CertificateVerify signature does not verify")
        }
        return scheme
    }

    /// Builds our Certificate and CertificateVerify bodies.
    static func certificateBody(_ identity: Identity) -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: 2048)
        CertificateMessage(chain: identity.chain.map(\.der)).encode(into: &encoder)
        return encoder.bytes
    }

    static func certificateVerifyBody(_ identity: Identity, scheme: SignatureScheme, context: String,
                                      transcriptHash: [UInt8]) throws(ProtocolError) -> [UInt8] {
        let signature: [UInt8]
        do {
            signature = try identity.key.sign(SignedContent.build(context: context, transcriptHash: transcriptHash), scheme: scheme)
        } catch {
            throw ProtocolError(.internalError, "signing: \(error)")
        }
        var encoder = WireEncoder()
        CertificateVerify(scheme: scheme.rawValue, signature: signature).encode(into: &encoder)
        return encoder.bytes
    }

    /// Compares a received Finished in constant time.
    static func checkFinished(_ body: ArraySlice<UInt8>, expected: [UInt8], hash: HashFunction) throws(ProtocolError) {
        let message = try Finished.decode(body, hash: hash)
        guard constantTimeEqual(message.verifyData, expected) else {
            throw ProtocolError(.decryptError, "Finished MAC does not verify")
        }
    }

    static func identity(of leaf: Certificate) throws(ProtocolError) -> String {
        // Several CNs would leave "who is this" to a rule (first? last?) that two implementations may answer apart.
        let commonNames = leaf.commonNameCount
        guard commonNames <= 1 else {
            throw ProtocolError(.badCertificate, "the certificate's subject holds \(commonNames) commonNames; an identity "
                + "needs exactly one", certificateFailure: .malformed)
        }
        guard let identity = leaf.identity, !identity.isEmpty else {
            throw ProtocolError(.badCertificate, "certificate has neither a CN nor a subjectAltName", certificateFailure: .malformed)
        }
        return identity
    }
}
