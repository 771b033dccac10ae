// Hooks for the test suite only (internal; reached through @testable import). They let a test inject any message
// with a side's current keys, to check that the peer rejects every message in every state (STYLE.md §15).

extension RecordLayer {
    /// Writes `type` with whatever keys exist, bypassing every state check.
    mutating func writeForTesting(_ type: MessageType, body: [UInt8]) {
        if sendKeys == nil { writePlaintext(type, body: body) } else { try? writeSealed(type, body: body) }
    }
}

extension HandshakeDriver {
    mutating func writeForTesting(_ type: MessageType, body: [UInt8]) { records.writeForTesting(type, body: body) }
}

extension SecureChannel {
    mutating func writeForTesting(_ type: MessageType, body: [UInt8]) { records.writeForTesting(type, body: body) }
}

extension SecureChannel {
    /// Seals a message of any type byte, known or not.
    mutating func writeRawForTesting(typeByte: UInt8, body: [UInt8]) {
        body.withUnsafeBytes { try? records.writeSealed(typeByte: typeByte, body: $0) }
    }
}

extension ClientConnection {
    /// Seals a message with an arbitrary type byte under the application keys (after the handshake only).
    mutating func injectRawForTesting(typeByte: UInt8, body: [UInt8]) {
        core.injectForTesting { _ in preconditionFailure("raw injection needs application keys") } established: {
            $0.writeRawForTesting(typeByte: typeByte, body: body)
        }
    }

    /// Sends an arbitrary message with this side's current keys.
    mutating func injectForTesting(_ type: MessageType, body: [UInt8]) {
        core.injectForTesting { $0.writeForTesting(type, body: body) } established: { $0.writeForTesting(type, body: body) }
    }
}

extension ServerConnection {
    mutating func injectForTesting(_ type: MessageType, body: [UInt8]) {
        core.injectForTesting { $0.writeForTesting(type, body: body) } established: { $0.writeForTesting(type, body: body) }
    }
}

extension SessionCore {
    mutating func injectForTesting(_ handshaking: (inout Handshake) -> Void, established: (inout SecureChannel) -> Void) {
        switch state {
        case .handshaking(var handshake):
            state = .closed
            handshaking(&handshake)
            state = .handshaking(handshake)
        case .established(var channel, let upload):
            state = .closed
            established(&channel)
            state = .established(channel, upload)
        case .closed:
            break
        }
    }
}
