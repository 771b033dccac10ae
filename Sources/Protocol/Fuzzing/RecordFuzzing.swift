// The record layer (docs/PROTOCOL.md §5) and the key-share checks (§6.2), opened to the fuzz targets through
// `@_spi(Fuzzing)` (see WireFuzzing.swift for why not `@testable`). A thin wrapper: the record layer inside is the
// one the sessions use, driven through the same calls (append or read-into-space, then nextMessage).

@_spi(Fuzzing) public struct FuzzingRecordLayer {
    private var records = RecordLayer()
    /// Seals what the harness sends: keys from the same secret as `records`' receive keys, so its records open there.
    private var sealer = RecordLayer()

    public init() {}

    /// A message the record layer handed out.
    public enum Body: Equatable {
        case inline([UInt8])
        /// A Data body decrypted into the caller's room: its length there.
        case moved(Int)
    }

    /// Installs receive keys (and the matching sealer) derived from `secret`, as the handshake does at epoch 0.
    public mutating func installKeys(suite: CipherSuite, hash: HashFunction, secret: [UInt8]) throws(CryptoError) {
        let secret = SecretBytes(copying: secret)
        records.receiveKeys = try TrafficKeys(suite: suite, hash: hash, secret: secret, epoch: 0, installedAt: 0, encrypting: false)
        sealer.sendKeys = try TrafficKeys(suite: suite, hash: hash, secret: secret, epoch: 0, installedAt: 0, encrypting: true)
    }

    /// What a SecureChannel sets once the peer is authenticated: the large record limit, no plaintext alerts.
    public mutating func authenticate() {
        records.maxInboundBody = Limits.maxRecordBodyAfterAuthentication
        records.acceptsPlaintextAlerts = false
    }

    public var hasKeys: Bool { records.receiveKeys != nil }
    public var maxInboundBody: Int { records.maxInboundBody }
    public var bufferedInbound: Int { records.bufferedInbound }

    /// Received bytes, copied in (`RecordLayer.append`).
    public mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { records.append($0) } }

    /// Received bytes, read straight into the buffer's room (`receiveSpace` + `didReceive`), as the daemon reads.
    public mutating func receiveInPlace(_ bytes: [UInt8], preferredCapacity: Int) {
        let room = records.receiveSpace(minimum: bytes.count, preferredCapacity: preferredCapacity)
        bytes.withUnsafeBytes { room.copyMemory(from: $0) }
        records.didReceive(bytes.count)
    }

    /// The next message, as `nextMessage(dataInto:)`: Data bodies go into `room` when it is given and large enough.
    public mutating func next(dataInto room: UnsafeMutableRawBufferPointer?) throws(ProtocolError) -> (typeByte: UInt8, body: Body)? {
        let destination: ((Int) -> UnsafeMutableRawBufferPointer?)? = room.map { room in { $0 <= room.count ? room : nil } }
        guard let (type, body) = try records.nextMessage(dataInto: destination) else { return nil }
        switch body {
        case .inline(let slice): return (type.rawValue, .inline(Array(slice)))
        case .moved(let length): return (type.rawValue, .moved(length))
        }
    }

    /// A sealed record of `typeByte ‖ body` under the installed keys (nil without keys). `inPlace` seals it as the
    /// client seals Data (straight into a destination), otherwise as every other message (in the outbound buffer).
    public mutating func seal(typeByte: UInt8, body: [UInt8], inPlace: Bool) -> [UInt8]? {
        guard sealer.sendKeys != nil, 1 + body.count <= Limits.maxMessageLength else { return nil }
        if inPlace {
            var record = [UInt8](repeating: 0, count: sealer.sealedRecordLength(bodyLength: body.count))
            let written = try? body.withUnsafeBytes { (source) throws(CryptoError) -> Int in
                try record.withUnsafeMutableBytesTyped { (destination) throws(CryptoError) -> Int in
                    try sealer.writeSealed(typeByte: typeByte, body: source, into: destination)
                }
            }
            return written.map { Array(record[..<$0]) }
        }
        do {
            try body.withUnsafeBytesTyped { (source) throws(CryptoError) in try sealer.writeSealed(typeByte: typeByte, body: source) }
        } catch {
            return nil
        }
        return sealer.takeOutbound()
    }

    public mutating func releaseIdleBuffers() { records.releaseIdleBuffers() }
}

/// The checks a received key share passes (§6.2), for each group and both roles.
@_spi(Fuzzing) public enum KeyShareFuzzing {
    /// As a server (or rotation responder) answers an initiator's share: validate it, answer, derive the secret.
    /// Returns the responder's share.
    public static func respond(group: KeyExchangeGroup, initiatorShare: [UInt8]) throws(CryptoError) -> [UInt8] {
        try KeyExchangeResponder.respond(group: group, initiatorShare: initiatorShare).share
    }

    /// As a client (or rotation initiator) completes with a responder's share, from a fresh key pair of `group`.
    /// Returns the shared secret's length.
    public static func complete(group: KeyExchangeGroup, responderShare: [UInt8]) throws(CryptoError) -> Int {
        try KeyExchangeInitiator(group: group).complete(responderShare: responderShare).count
    }

    /// A valid initiator share of `group` (for seeds).
    public static func initiatorShare(group: KeyExchangeGroup) throws(CryptoError) -> [UInt8] {
        try KeyExchangeInitiator(group: group).share
    }
}
