// Entry points for the fuzz targets (Sources/Fuzz, docs/FUZZING.md): every message decoder and the certificate and
// signature checks of the handshake, reachable from outside the module without `@testable` (which a release build,
// where the fuzz executables are compiled too, does not allow). `@_spi(Fuzzing)`: not part of the public API; only
// the fuzz harness (FuzzSupport) imports it. Nothing here changes what the decoders do: each entry decodes exactly as
// the state machines do, then encodes the result again so the harness can check that decoding is exact (§2 "Exact
// decoding": a body that decodes has one encoding, the one it came in).

/// One decoder of docs/PROTOCOL.md §6–§9, as the fuzz targets name them.
@_spi(Fuzzing) public enum FuzzedMessage: UInt8, CaseIterable, Sendable {
    // Handshake (§6)
    case clientHello, serverHello, serverParameters, certificate, certificateVerify
    case finishedSHA256, finishedSHA384, finishedSHA512
    // Connection scope (§7, §9)
    case alert, rotateRequest, rotationShare, emptyBody
    // Upload scope (§8)
    case open, accepted, close, committed, uploadError
    // Store scope (§14)
    case stat, statResult, list, listPage, get, getHeader, delete, deleted, rename, verify, verified

    public static let handshake: [FuzzedMessage] = [
        .clientHello, .serverHello, .serverParameters, .certificate, .certificateVerify,
        .finishedSHA256, .finishedSHA384, .finishedSHA512,
    ]
    public static let session: [FuzzedMessage] = [.alert, .rotateRequest, .rotationShare, .emptyBody]
    /// The upload scope's messages, then the store's (OperationError has UploadError's body).
    public static let upload: [FuzzedMessage] = [.open, .accepted, .close, .committed, .uploadError, .emptyBody,
                                                 .stat, .statResult, .list, .listPage, .get, .getHeader,
                                                 .delete, .deleted, .rename, .verify, .verified]
}

@_spi(Fuzzing) public enum WireFuzzing {
    /// Decodes `body` as `message` and returns its encoding again. Throws exactly what the state machines would.
    public static func decodeAndEncode(_ message: FuzzedMessage, _ body: ArraySlice<UInt8>) throws(ProtocolError) -> [UInt8] {
        var encoder = WireEncoder()
        switch message {
        case .clientHello: try ClientHello.decode(body).encode(into: &encoder)
        case .serverHello: try ServerHello.decode(body).encode(into: &encoder)
        case .serverParameters: try ServerParameters.decode(body).encode(into: &encoder)
        case .certificate: try CertificateMessage.decode(body).encode(into: &encoder)
        case .certificateVerify: try CertificateVerify.decode(body).encode(into: &encoder)
        case .finishedSHA256: try Finished.decode(body, hash: .sha256).encode(into: &encoder)
        case .finishedSHA384: try Finished.decode(body, hash: .sha384).encode(into: &encoder)
        case .finishedSHA512: try Finished.decode(body, hash: .sha512).encode(into: &encoder)
        case .alert: try AlertMessage.decode(body).encode(into: &encoder)
        case .rotateRequest: try RotateRequestMessage.decode(body).encode(into: &encoder)
        case .rotationShare: try RotationShare.decode(body).encode(into: &encoder)
        case .emptyBody: try EmptyBody.decode(body)
        case .open: try UploadRequest.decode(body).encode(into: &encoder)
        case .accepted: try AcceptedMessage.decode(body).encode(into: &encoder)
        case .close: try CloseMessage.decode(body).encode(into: &encoder)
        case .committed: try UploadReceipt.decode(body).encode(into: &encoder)
        case .uploadError: try UploadFailure.decode(body).encode(into: &encoder)
        case .stat: try StatRequest.decode(body).encode(into: &encoder)
        case .statResult: try StatResult.decode(body).encode(into: &encoder)
        case .list: try ListRequest.decode(body).encode(into: &encoder)
        case .listPage: try ListPage.decode(body).encode(into: &encoder)
        case .get: try GetRequest.decode(body).encode(into: &encoder)
        case .getHeader: try GetHeader.decode(body).encode(into: &encoder)
        case .delete: try DeleteRequest.decode(body).encode(into: &encoder)
        case .deleted: try DeleteOutcome.decode(body).encode(into: &encoder)
        case .rename: try RenameRequest.decode(body).encode(into: &encoder)
        case .verify: try VerifyRequest.decode(body).encode(into: &encoder)
        case .verified: try VerifyResult.decode(body).encode(into: &encoder)
        }
        return encoder.bytes
    }

    /// What a received Alert turns into (never throws: a malformed alert still ends the session).
    public static func peerAlert(_ body: ArraySlice<UInt8>) -> ProtocolError { AlertMessage.peerError(body) }

    /// The receiver's checks of a Certificate message (§6.5): decode, parse every DER certificate, verify the path.
    public static func verifyCertificateMessage(_ body: ArraySlice<UInt8>, trust: TrustStore, purpose: CertificatePurpose,
                                                expectedName: String?, now: Now) throws(ProtocolError) -> [Certificate] {
        let chain = try PeerAuthentication.verifyChain(body, trust: trust, purpose: purpose, expectedName: expectedName,
                                                       now: now).chain
        if let leaf = chain.first { _ = try PeerAuthentication.identity(of: leaf) }
        return chain
    }

    /// The receiver's checks of a CertificateVerify (§6.6) from `leaf`, over `transcriptHash`, as the server checks
    /// a client's (`client` true) or the client a server's.
    public static func verifyCertificateVerify(_ body: ArraySlice<UInt8>, leaf: Certificate, accepted: [SignatureScheme],
                                               client: Bool, transcriptHash: [UInt8]) throws(ProtocolError) -> SignatureScheme {
        try PeerAuthentication.verifySignature(body, leaf: leaf, accepted: accepted,
                                               context: client ? SignedContent.clientContext : SignedContent.serverContext,
                                               transcriptHash: transcriptHash)
    }

    /// A CertificateVerify body signed by `identity` over `transcriptHash`: what a seed needs to reach the success path.
    public static func certificateVerifyBody(_ identity: Identity, scheme: SignatureScheme, client: Bool,
                                             transcriptHash: [UInt8]) throws(ProtocolError) -> [UInt8] {
        try PeerAuthentication.certificateVerifyBody(identity, scheme: scheme,
                                                     context: client ? SignedContent.clientContext : SignedContent.serverContext,
                                                     transcriptHash: transcriptHash)
    }

    /// A Certificate message body carrying `identity`'s chain, as a side sends it.
    public static func certificateBody(_ identity: Identity) -> [UInt8] { PeerAuthentication.certificateBody(identity) }
}
