// Connection-scope messages after the handshake: alerts, goodbye and the rotation exchange (docs/PROTOCOL.md §7, §9).

/// Alert: fatal; the sender closes after it. Plaintext before handshake keys exist, sealed afterwards.
struct AlertMessage: Equatable {
    var code: UInt16
    var reason: String

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(code)
        encoder.text(String(decoding: Array(reason.utf8.prefix(Limits.maxReasonLength)), as: UTF8.self))
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> AlertMessage {
        var decoder = WireDecoder(body)
        let message = AlertMessage(code: try decoder.u16(), reason: try decoder.text(maxBytes: Limits.maxReasonLength))
        try decoder.finish()
        return message
    }
}

/// RotateRequest: asks the peer to rotate its sending keys (empty body). RotateCommit is empty too.
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

enum EmptyBody {
    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) {
        guard body.isEmpty else { throw .decode("\(body.count) bytes in a message that has no body") }
    }
}
