// Connection-scope messages after the handshake: alerts, goodbye and the rotation exchange (docs/PROTOCOL.md §7, §9).

/// Alert: fatal; the sender closes after it. Plaintext before handshake keys exist, sealed afterwards.
struct AlertMessage: Equatable {
    var code: UInt16
    var reason: String

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(code)
        encoder.text(truncatedUTF8(reason, maxBytes: Limits.maxReasonLength))
    }

    /// The error a received alert ends the session with. A malformed alert still ends it, as the peer's doing, and
    /// is not answered (alerts never are).
    static func peerError(_ body: ArraySlice<UInt8>) -> ProtocolError {
        guard let alert = try? decode(body) else { return ProtocolError(.decodeError, "malformed alert", origin: .peer) }
        return ProtocolError(AlertCode(rawValue: alert.code) ?? .internalError, alert.reason, origin: .peer)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> AlertMessage {
        var decoder = WireDecoder(body)
        let message = AlertMessage(code: try decoder.u16(), reason: try decoder.text(maxBytes: Limits.maxReasonLength))
        try decoder.finish()
        return message
    }
}

/// RotateInit and RotateReply carry the epoch they create and one ephemeral share of the session's group.
struct RotationShare: Equatable {
    /// The epoch of the initiator's sending direction that this exchange creates (current + 1).
    var epoch: UInt32
    var share: [UInt8]

    func encode(into encoder: inout WireEncoder) {
        encoder.u32(epoch)
        encoder.vector16(share)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> RotationShare {
        var decoder = WireDecoder(body)
        let message = RotationShare(epoch: try decoder.u32(), share: try decoder.vector16(min: 1, max: Limits.maxKeyShareLength))
        try decoder.finish()
        return message
    }
}

/// RotateRequest: asks the peer to rotate the sending epoch named here (stale requests, for an epoch the peer already
/// left, are ignored, so a request that crosses a rotation in flight never causes a second one).
struct RotateRequestMessage: Equatable {
    var epoch: UInt32

    func encode(into encoder: inout WireEncoder) { encoder.u32(epoch) }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> RotateRequestMessage {
        var decoder = WireDecoder(body)
        let message = RotateRequestMessage(epoch: try decoder.u32())
        try decoder.finish()
        return message
    }
}

enum EmptyBody {
    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) {
        guard body.isEmpty else { throw .decode("\(body.count) bytes in a message that has no body") }
    }
}
