// One direction's record protection for one epoch (docs/PROTOCOL.md §5.2).
//
// nonce = static IV XOR (0^32 ‖ sequence as 64-bit big-endian)    (RFC 8446 §5.3)
// The sequence number starts at 0 for every new key and never repeats under one key, so no nonce is ever reused.
// The AAD is the 5-byte record header. For the CBC suite the MAC input is sequence ‖ header ‖ IV ‖ ciphertext, so a
// replayed or reordered record fails its MAC exactly as it fails the AEAD tag of the other suites.

final class TrafficKeys {
    private enum Cipher {
        case aead(AEADCipher)
        case cbcHMAC(CBCHMACCipher)
    }

    let suite: CipherSuite
    /// The traffic secret these keys come from; the next epoch is derived from it (§7.2). Zeroed when dropped.
    let secret: SecretBytes
    let epoch: UInt32
    /// When this key was installed (caller's monotonic clock).
    let installedAt: UInt64
    private let cipher: Cipher
    private let staticIV: SecretBytes
    /// Scratch space for the per-record nonce / MAC prefix, allocated once (no allocation per record).
    private var scratch = [UInt8](repeating: 0, count: 8 + Limits.recordHeaderLength)

    private(set) var sequence: UInt64 = 0
    /// Plaintext bytes protected under this key (message type bytes included).
    private(set) var bytes: UInt64 = 0
    /// Usage in the unit of the suite's bound (KeyUsageLimits).
    private(set) var usage: UInt64 = 0

    init(suite: CipherSuite, hash: HashFunction, secret: SecretBytes, epoch: UInt32, installedAt: UInt64,
         encrypting: Bool) throws(CryptoError) {
        self.suite = suite
        self.secret = secret
        self.epoch = epoch
        self.installedAt = installedAt
        let key = try KeySchedule.expandLabel(hash, secret: secret, label: "key", context: [], length: suite.keyLength)
        staticIV = try KeySchedule.expandLabel(hash, secret: secret, label: "iv", context: [], length: AEADCipher.nonceLength)
        cipher = switch suite {
        case .aes256GCM: .aead(try AEADCipher(.aes256GCM, key: key, encrypting: encrypting))
        case .aes128GCM: .aead(try AEADCipher(.aes128GCM, key: key, encrypting: encrypting))
        case .chacha20Poly1305: .aead(try AEADCipher(.chacha20Poly1305, key: key, encrypting: encrypting))
        case .aes256CBCHMACSHA256: .cbcHMAC(try CBCHMACCipher(key: key, encrypting: encrypting))
        }
    }

    /// Where the plaintext starts inside a sealed body (after the explicit IV for CBC).
    var plaintextOffset: Int {
        switch cipher {
        case .aead: 0
        case .cbcHMAC: CBCHMACCipher.ivLength
        }
    }

    func sealedLength(plaintextLength: Int) -> Int {
        switch cipher {
        case .aead: plaintextLength + AEADCipher.tagLength
        case .cbcHMAC: CBCHMACCipher.sealedLength(plaintextLength: plaintextLength)
        }
    }

    /// Whether sealing one more record of `plaintextLength` bytes would pass the hard usage limit.
    func wouldExceedHardLimit(plaintextLength: Int) -> Bool {
        usage + KeyUsageLimits.units(suite, plaintextLength: plaintextLength) > KeyUsageLimits.hardLimit(suite)
            || sequence == UInt64.max
    }

    /// Seals in place. `record` is header ‖ body, with the header already written and the plaintext at
    /// `header + plaintextOffset`; the body has exactly `sealedLength(plaintextLength)` bytes.
    func seal(record: UnsafeMutableRawBufferPointer, plaintextLength: Int) throws(CryptoError) {
        let headerLength = Limits.recordHeaderLength
        let header = UnsafeRawBufferPointer(rebasing: record[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: record[headerLength...])
        switch cipher {
        case .aead(let aead):
            try withNonce { (nonce) throws(CryptoError) in
                try aead.seal(nonce: nonce, aad: header,
                              plaintext: UnsafeRawBufferPointer(rebasing: body[0..<plaintextLength]), output: body)
            }
        case .cbcHMAC(let cbc):
            try withMACPrefix(header: header) { (prefix) throws(CryptoError) in
                let start = CBCHMACCipher.ivLength
                try cbc.seal(authenticatedPrefix: prefix,
                             plaintext: UnsafeRawBufferPointer(rebasing: body[start..<start + plaintextLength]), output: body)
            }
        }
        account(plaintextLength: plaintextLength)
    }

    /// Seals `typeByte ‖ body` into `record` (header ‖ sealed body, exactly header + sealedLength(1 + body.count)
    /// bytes, the header already written), reading the body where it is: for the AEAD suites the body is read once and
    /// written once, encrypted (no copy first). The CBC suite copies it in and seals in place.
    func seal(record: UnsafeMutableRawBufferPointer, typeByte: UInt8, body: UnsafeRawBufferPointer) throws(CryptoError) {
        let headerLength = Limits.recordHeaderLength
        let plaintextLength = 1 + body.count
        precondition(record.count == headerLength + sealedLength(plaintextLength: plaintextLength),
                     "record of \(record.count) bytes for \(plaintextLength) bytes of plaintext")
        switch cipher {
        case .aead(let aead):
            let header = UnsafeRawBufferPointer(rebasing: record[0..<headerLength])
            try withNonce { (nonce) throws(CryptoError) in
                try withUnsafeBytes(of: typeByte) { (type) throws(CryptoError) in
                    try aead.seal(nonce: nonce, aad: header, plaintext: type, body,
                                  output: UnsafeMutableRawBufferPointer(rebasing: record[headerLength...]))
                }
            }
            account(plaintextLength: plaintextLength)
        case .cbcHMAC:
            let start = headerLength + plaintextOffset
            record[start] = typeByte
            UnsafeMutableRawBufferPointer(rebasing: record[(start + 1)..<(start + plaintextLength)]).copyMemory(from: body)
            try seal(record: record, plaintextLength: plaintextLength)
        }
    }

    /// Opens in place and returns the plaintext's range within `record` (header included in the indexing).
    func open(record: UnsafeMutableRawBufferPointer) throws(CryptoError) -> Range<Int> {
        let headerLength = Limits.recordHeaderLength
        let header = UnsafeRawBufferPointer(rebasing: record[0..<headerLength])
        let body = UnsafeMutableRawBufferPointer(rebasing: record[headerLength...])
        let range: Range<Int>
        switch cipher {
        case .aead(let aead):
            guard body.count >= AEADCipher.tagLength else { throw CryptoError(.authenticationFailure, "short record") }
            let length = body.count - AEADCipher.tagLength
            try withNonce { (nonce) throws(CryptoError) in
                try aead.open(nonce: nonce, aad: header, ciphertextAndTag: UnsafeRawBufferPointer(body),
                              output: UnsafeMutableRawBufferPointer(rebasing: body[0..<length]))
            }
            range = headerLength..<headerLength + length
        case .cbcHMAC(let cbc):
            let length = try withMACPrefix(header: header) { (prefix) throws(CryptoError) in
                try cbc.open(authenticatedPrefix: prefix, sealed: UnsafeRawBufferPointer(body), output: body)
            }
            range = headerLength..<headerLength + length
        }
        account(plaintextLength: range.count)
        return range
    }

    /// Where `open(record:moving:)` left the plaintext.
    enum Opened {
        /// In place: the plaintext's range within the record (as `open(record:)`).
        case inPlace(Range<Int>)
        /// The body (the plaintext after its type byte) is in the buffer `destination` gave; `typeByte` was first.
        case moved(typeByte: UInt8, bodyLength: Int)
    }

    /// Opens the record, decrypting the body (after the type byte) into the buffer `destination(typeByte, length)`
    /// returns, or in place when it returns nil. The AEAD suites decrypt straight into that buffer (the type byte is
    /// decrypted first, and is authenticated with the rest before this returns); the CBC suite, which must check its
    /// MAC before decrypting anything, opens in place and copies the body over.
    func open(record: UnsafeMutableRawBufferPointer,
              moving destination: (_ typeByte: UInt8, _ bodyLength: Int) -> UnsafeMutableRawBufferPointer?) throws(CryptoError) -> Opened {
        let headerLength = Limits.recordHeaderLength
        let body = UnsafeMutableRawBufferPointer(rebasing: record[headerLength...])
        guard case .aead(let aead) = cipher, body.count > AEADCipher.tagLength else {
            let range = try open(record: record)
            guard !range.isEmpty, let target = destination(record[range.lowerBound], range.count - 1) else { return .inPlace(range) }
            precondition(target.count >= range.count - 1, "\(target.count) bytes for a body of \(range.count - 1)")
            target.baseAddress?.copyMemory(from: record.baseAddress! + range.lowerBound + 1, byteCount: range.count - 1)
            return .moved(typeByte: record[range.lowerBound], bodyLength: range.count - 1)
        }
        let length = body.count - AEADCipher.tagLength
        let header = UnsafeRawBufferPointer(rebasing: record[0..<headerLength])
        var moved = false
        try withNonce { (nonce) throws(CryptoError) in
            try aead.open(nonce: nonce, aad: header, ciphertextAndTag: UnsafeRawBufferPointer(body),
                          first: UnsafeMutableRawBufferPointer(rebasing: body[0..<1])) { first in
                guard let target = destination(first[0], length - 1) else {
                    return UnsafeMutableRawBufferPointer(rebasing: body[1..<length])  // in place
                }
                precondition(target.count >= length - 1, "\(target.count) bytes for a body of \(length - 1)")
                moved = true
                return UnsafeMutableRawBufferPointer(rebasing: target[..<(length - 1)])
            }
        }
        account(plaintextLength: length)
        return moved ? .moved(typeByte: body[0], bodyLength: length - 1) : .inPlace(headerLength..<headerLength + length)
    }

    private func account(plaintextLength: Int) {
        sequence += 1
        bytes += UInt64(plaintextLength)
        usage += KeyUsageLimits.units(suite, plaintextLength: plaintextLength)
    }

    /// nonce = static IV XOR (0^4 ‖ sequence, big-endian).
    private func withNonce<R>(_ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
        let sequence = self.sequence
        return try staticIV.withUnsafeBytes { (iv) throws(CryptoError) -> R in
            try scratch.withUnsafeMutableBytesTyped { (nonce) throws(CryptoError) -> R in
                for index in 0..<AEADCipher.nonceLength {
                    let shift = (AEADCipher.nonceLength - 1 - index) * 8
                    let sequenceByte: UInt8 = shift < 64 ? UInt8(truncatingIfNeeded: sequence >> UInt64(shift)) : 0
                    nonce[index] = iv[index] ^ sequenceByte
                }
                return try body(UnsafeRawBufferPointer(rebasing: nonce[0..<AEADCipher.nonceLength]))
            }
        }
    }

    /// sequence (8, big-endian) ‖ header (5).
    private func withMACPrefix<R>(header: UnsafeRawBufferPointer,
                                  _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
        let sequence = self.sequence
        return try scratch.withUnsafeMutableBytesTyped { (prefix) throws(CryptoError) -> R in
            for index in 0..<8 { prefix[index] = UInt8(truncatingIfNeeded: sequence >> UInt64(56 - 8 * index)) }
            for index in 0..<Limits.recordHeaderLength { prefix[8 + index] = header[index] }
            return try body(UnsafeRawBufferPointer(prefix))
        }
    }
}
