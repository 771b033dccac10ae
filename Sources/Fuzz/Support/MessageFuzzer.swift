// The message decoder targets (FuzzHandshakeMessages, FuzzSessionMessages, FuzzUploadMessages).
//
// Input: selector ‖ body. The selector picks one decoder of the target's list (modulo its length); the body is
// decoded as that message's body. Besides "no crash", three properties are checked:
//   - a body that decodes encodes back to exactly itself (§2 "Exact decoding"; the one exception is an UploadError
//     whose code this version does not know, which is kept as `unknown`);
//   - a body that does not decode fails with decode_error or illegal_parameter, nothing else (§9);
//   - a Certificate and a CertificateVerify also go through the receiver's checks (path verification against the
//     fuzz CA, the signature over a fixed transcript hash), which is where their bytes end up in a session.
@_spi(Fuzzing) import Protocol

public enum MessageFuzzer {
    /// The decoders of one target.
    public enum Family: Sendable {
        case handshake, session, upload

        var messages: [FuzzedMessage] {
            switch self {
            case .handshake: FuzzedMessage.handshake
            case .session: FuzzedMessage.session
            case .upload: FuzzedMessage.upload
            }
        }
    }

    public static func run(_ data: [UInt8], family: Family) {
        let messages = family.messages
        guard let selector = data.first else { return }
        let message = messages[Int(selector) % messages.count]
        let body = data[1...]
        do {
            let encoded = try WireFuzzing.decodeAndEncode(message, body)
            guard encoded.elementsEqual(body) || keepsUnknownCode(message, body) else {
                fatalError("\(message): a body of \(body.count) bytes decoded, but encodes to \(encoded.count) other bytes")
            }
        } catch {
            guard error.alert == .decodeError || error.alert == .illegalParameter else {
                fatalError("\(message): decoding failed with \(error), not decode_error or illegal_parameter")
            }
        }
        switch message {
        case .certificate: checkCertificate(body)
        case .certificateVerify: checkCertificateVerify(body)
        case .alert: _ = WireFuzzing.peerAlert(body)
        default: break
        }
    }

    /// An UploadError with a code this version does not know decodes as `.unknown` and encodes as 0xFFFF (§13).
    private static func keepsUnknownCode(_ message: FuzzedMessage, _ body: ArraySlice<UInt8>) -> Bool {
        guard message == .uploadError, body.count >= 2 else { return false }
        let code = UInt16(body[body.startIndex]) << 8 | UInt16(body[body.startIndex + 1])
        return UploadErrorCode(rawValue: code) == nil || code == UploadErrorCode.unknown.rawValue
    }

    /// As each side checks the other's chain (§6.5): the client a server's, by name; the server a client's.
    private static func checkCertificate(_ body: ArraySlice<UInt8>) {
        let trust = FuzzPKI.trust()
        let now = FuzzPKI.start
        _ = try? WireFuzzing.verifyCertificateMessage(body, trust: trust, purpose: .serverAuth,
                                                      expectedName: FuzzPKI.serverName, now: now)
        _ = try? WireFuzzing.verifyCertificateMessage(body, trust: trust, purpose: .clientAuth, expectedName: nil, now: now)
    }

    /// As the client checks the server's signature (Ed25519 leaf) and the server the client's (P-256 leaf).
    private static func checkCertificateVerify(_ body: ArraySlice<UInt8>) {
        let schemes = AlgorithmPreferences.serverDefault.signatureSchemes
        for (identity, client) in [(FuzzPKI.server, false), (FuzzPKI.client, true)] {
            guard let leaf = identity.chain.first else { continue }
            _ = try? WireFuzzing.verifyCertificateVerify(body, leaf: leaf, accepted: schemes, client: client,
                                                         transcriptHash: FuzzPKI.transcriptHash(.sha256))
        }
    }
}
