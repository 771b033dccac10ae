// Framing and protection of records (docs/PROTOCOL.md §5).
//
//   record = type (u8) ‖ length (u32, big-endian) ‖ body[length]
//   type 0x01 plaintext: body = message type (u8) ‖ message body        — only before keys exist
//   type 0x02 sealed:    body = AEAD(key, nonce, aad = header, plaintext = message type ‖ message body)
//
// The length is checked against the current limit as soon as the header is in, before any byte of the body is
// buffered for it; the limit is small until the peer has proved who it is (STYLE.md §8). A record that is not complete
// yet consumes nothing. Sealed records are opened in place in the inbound buffer, or, for a Data body the caller has
// room for (the daemon's upload buffer), decrypted straight into that room; the client seals Data straight into its
// socket buffer (`writeSealed(typeByte:body:into:)`). Other messages are sealed in place in the outbound buffer.

enum RecordType: UInt8 {
    case plaintext = 0x01
    case sealed = 0x02
}

/// Where a received message's body is.
enum MessageBody {
    /// In the record layer's buffer, valid until the next call into it.
    case inline(ArraySlice<UInt8>)
    /// A Data body decrypted into the caller's buffer (`nextMessage(dataInto:)`): its length there.
    case moved(Int)
}

struct RecordLayer {
    /// Received bytes not consumed yet. A class (owned memory at a stable address, see ReceiveBuffer): copies of a
    /// RecordLayer share it, as they share their TrafficKeys; the session code keeps one live copy at a time.
    private var inbound = ReceiveBuffer()
    private(set) var outbound: [UInt8] = []

    /// Keys for what we send; nil until the handshake keys exist (then only plaintext may be sent).
    var sendKeys: TrafficKeys?
    /// Keys for what we receive; nil until the handshake keys exist.
    var receiveKeys: TrafficKeys?
    /// The largest record body accepted now (Limits.maxRecordBodyBeforeAuthentication until the peer is authenticated).
    var maxInboundBody = Limits.maxRecordBodyBeforeAuthentication
    /// True during the handshake: see the plaintext case in `nextMessage`.
    var acceptsPlaintextAlerts = true

    /// Bytes received and not yet consumed.
    var bufferedInbound: Int { inbound.unreadCount }

    /// Takes a copy of received bytes.
    mutating func append(_ bytes: UnsafeRawBufferPointer) { inbound.append(bytes) }

    /// Room for a read straight into the inbound buffer (at least `minimum` bytes; the buffer grows to
    /// `preferredCapacity` when it must grow): no copy of what is read. `didReceive` counts the bytes in.
    mutating func receiveSpace(minimum: Int, preferredCapacity: Int) -> UnsafeMutableRawBufferPointer {
        inbound.space(minimum: minimum, preferredCapacity: preferredCapacity)
    }

    mutating func didReceive(_ count: Int) { inbound.didWrite(count) }

    /// The next whole message, opened; nil when more bytes are needed.
    mutating func nextMessage() throws(ProtocolError) -> (type: MessageType, body: ArraySlice<UInt8>)? {
        guard let (type, body) = try nextMessage(dataInto: nil) else { return nil }
        guard case .inline(let slice) = body else { preconditionFailure("a body was moved without a destination") }
        return (type, slice)
    }

    /// `nextMessage`, but the body of a sealed Data message goes straight into the buffer `dataInto(length)` returns
    /// (decrypted there: no copy; nil leaves it in place). The buffer's bytes count only once this returns `.moved`.
    mutating func nextMessage(dataInto: ((Int) -> UnsafeMutableRawBufferPointer?)?) throws(ProtocolError)
        -> (type: MessageType, body: MessageBody)? {
        let receiveKeys = self.receiveKeys, maxInboundBody = self.maxInboundBody
        let acceptsPlaintextAlerts = self.acceptsPlaintextAlerts
        // Offsets below are within the unread bytes: the record starts at 0.
        let parsed = try inbound.withUnread { (buffer) throws(ProtocolError) -> (consumed: Int, message: (MessageType, MessageBody))? in
            let available = buffer.count
            guard available >= Limits.recordHeaderLength else { return nil }
            let typeByte = buffer[0]
            var length = 0
            for offset in 1...4 { length = length << 8 | Int(buffer[offset]) }
            guard let recordType = RecordType(rawValue: typeByte) else {
                throw .decode("unknown record type 0x\(String(typeByte, radix: 16))")
            }
            guard length <= maxInboundBody else {
                throw .overflow("record of \(length) bytes exceeds the limit of \(maxInboundBody)")
            }
            guard length >= 1 else { throw .decode("empty record") }
            let recordEnd = Limits.recordHeaderLength + length
            guard available >= recordEnd else { return nil }

            let record = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<recordEnd])
            let plaintext: Range<Int>
            switch recordType {
            case .plaintext:
                plaintext = Limits.recordHeaderLength..<recordEnd
                if receiveKeys != nil {
                    // A peer that rejects our hello cannot have keys yet, so its alert comes in plaintext: accepted
                    // during the handshake only (an alert only ends the connection, which an attacker can do anyway).
                    guard acceptsPlaintextAlerts, record[plaintext.lowerBound] == MessageType.alert.rawValue else {
                        throw .unexpected("plaintext record after keys were established")
                    }
                }
            case .sealed:
                guard let keys = receiveKeys else { throw .unexpected("sealed record before keys were established") }
                let opened: TrafficKeys.Opened
                do {
                    if let dataInto {
                        opened = try keys.open(record: record) { type, bodyLength in
                            type == MessageType.data.rawValue ? dataInto(bodyLength) : nil
                        }
                    } else {
                        opened = .inPlace(try keys.open(record: record))
                    }
                } catch {
                    // One error for every authentication failure (bad tag, bad MAC, bad padding, replayed, reordered).
                    throw ProtocolError(.badRecordMAC, "record \(keys.sequence) of epoch \(keys.epoch) failed authentication")
                }
                switch opened {
                case .inPlace(let range): plaintext = range
                case .moved(_, let bodyLength): return (recordEnd, (.data, .moved(bodyLength)))
                }
            }
            guard !plaintext.isEmpty else { throw .decode("record without a message type") }
            let typeValue = record[plaintext.lowerBound]
            guard let type = MessageType(rawValue: typeValue) else {
                throw .unexpected("unknown message type 0x\(String(typeValue, radix: 16))")
            }
            if recordType == .plaintext, !type.mayBePlaintext {
                throw .unexpected("\(type) in a plaintext record")
            }
            let body = UnsafeRawBufferPointer(rebasing: record[(plaintext.lowerBound + 1)..<plaintext.upperBound])
            return (recordEnd, (type, .inline(ArraySlice(body))))
        }
        guard let parsed else { return nil }
        inbound.consume(parsed.consumed)
        return parsed.message
    }

    // MARK: Sending

    /// Writes one message in a plaintext record (hellos, and alerts before keys exist).
    mutating func writePlaintext(_ type: MessageType, body: [UInt8]) {
        precondition(sendKeys == nil, "plaintext \(type) after keys were installed")
        writeHeader(.plaintext, length: 1 + body.count)
        outbound.append(type.rawValue)
        outbound.append(contentsOf: body)
    }

    /// Seals one message into the outbound buffer.
    mutating func writeSealed(_ type: MessageType, body: UnsafeRawBufferPointer) throws(CryptoError) {
        try writeSealed(typeByte: type.rawValue, body: body)
    }

    /// `typeByte` is a MessageType's raw value, except in tests that send unknown types.
    mutating func writeSealed(typeByte: UInt8, body: UnsafeRawBufferPointer) throws(CryptoError) {
        guard let keys = sendKeys else { preconditionFailure("sealed message 0x\(String(typeByte, radix: 16)) before keys") }
        let plaintextLength = 1 + body.count
        precondition(plaintextLength <= Limits.maxMessageLength, "message of \(plaintextLength) bytes")
        let sealedLength = keys.sealedLength(plaintextLength: plaintextLength)
        let recordStart = outbound.count
        writeHeader(.sealed, length: sealedLength)
        outbound.append(contentsOf: repeatElement(0, count: keys.plaintextOffset))
        outbound.append(typeByte)
        outbound.append(contentsOf: body)
        outbound.append(contentsOf: repeatElement(0, count: sealedLength - keys.plaintextOffset - plaintextLength))
        let recordEnd = outbound.count
        try outbound.withUnsafeMutableBytesTyped { (buffer) throws(CryptoError) in
            try keys.seal(record: UnsafeMutableRawBufferPointer(rebasing: buffer[recordStart..<recordEnd]),
                          plaintextLength: plaintextLength)
        }
    }

    /// The length of the record that `writeSealed(typeByte:body:into:)` writes for a body of `bodyLength` bytes.
    func sealedRecordLength(bodyLength: Int) -> Int {
        guard let keys = sendKeys else { preconditionFailure("sealed record length before keys") }
        return Limits.recordHeaderLength + keys.sealedLength(plaintextLength: 1 + bodyLength)
    }

    /// Seals one message straight into `destination` (header ‖ sealed body; at least `sealedRecordLength` bytes) and
    /// returns the record's length: the body is read where it is and written once, encrypted. Only with nothing
    /// waiting in the outbound buffer, which would otherwise be sent after a later record.
    mutating func writeSealed(typeByte: UInt8, body: UnsafeRawBufferPointer,
                              into destination: UnsafeMutableRawBufferPointer) throws(CryptoError) -> Int {
        guard let keys = sendKeys else { preconditionFailure("sealed message 0x\(String(typeByte, radix: 16)) before keys") }
        precondition(outbound.isEmpty, "a record sealed in place ahead of \(outbound.count) queued bytes")
        let plaintextLength = 1 + body.count
        precondition(plaintextLength <= Limits.maxMessageLength, "message of \(plaintextLength) bytes")
        let sealedLength = keys.sealedLength(plaintextLength: plaintextLength)
        let recordLength = Limits.recordHeaderLength + sealedLength
        precondition(destination.count >= recordLength, "\(destination.count) bytes for a record of \(recordLength)")
        destination[0] = RecordType.sealed.rawValue
        for index in 0..<4 { destination[1 + index] = UInt8(truncatingIfNeeded: sealedLength >> (24 - 8 * index)) }
        try keys.seal(record: UnsafeMutableRawBufferPointer(rebasing: destination[..<recordLength]), typeByte: typeByte, body: body)
        return recordLength
    }

    mutating func writeSealed(_ type: MessageType, body: [UInt8]) throws(CryptoError) {
        try body.withUnsafeBytesTyped { (buffer) throws(CryptoError) in try writeSealed(type, body: buffer) }
    }

    /// Everything written so far, handed to the caller to send.
    mutating func takeOutbound() -> [UInt8] {
        defer { outbound = [] }
        return outbound
    }

    /// Hands everything written so far to `body` (valid only during the call), then empties the buffer but keeps
    /// its memory: a sender that drains after every batch reuses one buffer instead of allocating per record.
    mutating func drainOutbound(_ body: (UnsafeRawBufferPointer) -> Void) {
        guard !outbound.isEmpty else { return }
        outbound.withUnsafeBytes(body)
        outbound.removeAll(keepingCapacity: true)
    }

    /// Frees the buffers' memory when nothing is pending in them (an idle session costs only its state).
    mutating func releaseIdleBuffers() {
        if outbound.isEmpty, outbound.capacity > 0 { outbound = [] }
        inbound.releaseIfEmpty()
    }

    private mutating func writeHeader(_ type: RecordType, length: Int) {
        outbound.append(type.rawValue)
        for shift in stride(from: 24, through: 0, by: -8) { outbound.append(UInt8(truncatingIfNeeded: length >> shift)) }
    }
}

extension RecordLayer {
    /// Writes an alert with whatever keys exist (plaintext before the handshake keys, sealed after).
    mutating func writeAlert(_ error: ProtocolError) {
        var encoder = WireEncoder()
        AlertMessage(code: error.alert.rawValue, reason: error.wireText).encode(into: &encoder)
        if sendKeys == nil {
            writePlaintext(.alert, body: encoder.bytes)
        } else {
            try? writeSealed(.alert, body: encoder.bytes)  // sealing failed: the session ends without the alert
        }
    }
}
