// The key schedule (docs/PROTOCOL.md §6.8), TLS 1.3's (RFC 8446 §7.1) with Ferry's own label prefix so that no Ferry
// key can ever equal a TLS key, and with the application secrets bound to the whole transcript (through the client's
// Finished), so both identities are in every application key:
//
//              0
//              |
//   0 ->  HKDF-Extract = early secret            (no pre-shared key: IKM = HashLen zeros)
//              |
//        Derive-Secret(., "derived", "")
//              v
//  (EC)DHE -> HKDF-Extract = handshake secret
//              |---> Derive-Secret(., "c hs traffic", ClientHello…ServerHello) = client handshake traffic secret
//              |---> Derive-Secret(., "s hs traffic", ClientHello…ServerHello) = server handshake traffic secret
//        Derive-Secret(., "derived", "")
//              v
//   0 ->  HKDF-Extract = master secret
//              |---> Derive-Secret(., "s ap traffic", ClientHello…server Finished) = server application secret, epoch 0
//              |---> Derive-Secret(., "c ap traffic", ClientHello…client Finished) = client application secret, epoch 0
//
// Rotation of one direction (§7.2), with Z the shared secret of a fresh ephemeral exchange:
//   secret[n+1] = HKDF-Extract(salt = Expand-Label(secret[n], "rotate", Hash(epoch ‖ share_i ‖ share_r), HashLen), IKM = Z)

enum KeySchedule {
    /// Prefix of every label: "tls13 " in TLS, ours here (domain separation).
    static let labelPrefix = "ferry1 "

    /// HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length), where
    /// HkdfLabel = length (u16) ‖ u8 len ‖ "ferry1 " + Label ‖ u8 len ‖ Context.
    static func expandLabel(_ hash: HashFunction, secret: SecretBytes, label: String, context: [UInt8],
                            length: Int) throws(CryptoError) -> SecretBytes {
        var info = WireEncoder(reservingCapacity: 2 + 1 + labelPrefix.utf8.count + label.utf8.count + 1 + context.count)
        info.u16(UInt16(length))
        info.vector8(Array((labelPrefix + label).utf8))
        info.vector8(context)
        return try HKDF.expand(hash, pseudorandomKey: secret, info: info.bytes, length: length)
    }

    /// Derive-Secret(Secret, Label, Messages) = Expand-Label(Secret, Label, Transcript-Hash(Messages), HashLen).
    static func deriveSecret(_ hash: HashFunction, secret: SecretBytes, label: String,
                             transcriptHash: [UInt8]) throws(CryptoError) -> SecretBytes {
        try expandLabel(hash, secret: secret, label: label, context: transcriptHash, length: hash.outputLength)
    }

    /// The handshake secrets, from the (EC)DHE shared secret and the transcript hash through ServerHello.
    struct HandshakeSecrets {
        let client: SecretBytes
        let server: SecretBytes
        /// Kept (and zeroed when the schedule is dropped) to derive the master secret.
        let handshakeSecret: SecretBytes
    }

    static func handshakeSecrets(_ hash: HashFunction, sharedSecret: SecretBytes,
                                 helloHash: [UInt8]) throws(CryptoError) -> HandshakeSecrets {
        let zeros = SecretBytes(zeroedCount: hash.outputLength)
        let early = HKDF.extract(hash, salt: zeros, inputKeyMaterial: zeros)
        let emptyHash = DigestContext.hash(hash, [])
        let derived = try deriveSecret(hash, secret: early, label: "derived", transcriptHash: emptyHash)
        let handshake = HKDF.extract(hash, salt: derived, inputKeyMaterial: sharedSecret)
        return HandshakeSecrets(
            client: try deriveSecret(hash, secret: handshake, label: "c hs traffic", transcriptHash: helloHash),
            server: try deriveSecret(hash, secret: handshake, label: "s hs traffic", transcriptHash: helloHash),
            handshakeSecret: handshake)
    }

    /// The master secret, from the handshake secret.
    static func masterSecret(_ hash: HashFunction, handshakeSecret: SecretBytes) throws(CryptoError) -> SecretBytes {
        let derived = try deriveSecret(hash, secret: handshakeSecret, label: "derived",
                                       transcriptHash: DigestContext.hash(hash, []))
        return HKDF.extract(hash, salt: derived, inputKeyMaterial: SecretBytes(zeroedCount: hash.outputLength))
    }

    /// finished_key = Expand-Label(traffic secret, "finished", "", HashLen); verify_data = HMAC(finished_key, hash).
    static func finishedMAC(_ hash: HashFunction, trafficSecret: SecretBytes, transcriptHash: [UInt8]) throws(CryptoError) -> [UInt8] {
        let key = try expandLabel(hash, secret: trafficSecret, label: "finished", context: [], length: hash.outputLength)
        return HMAC.authenticationCode(hash, key: key, message: transcriptHash)
    }

    /// The next epoch's secret for one direction (§7.2).
    static func nextEpochSecret(_ hash: HashFunction, current: SecretBytes, epoch: UInt32, initiatorShare: [UInt8],
                                responderShare: [UInt8], sharedSecret: SecretBytes) throws(CryptoError) -> SecretBytes {
        var context = WireEncoder(reservingCapacity: 4 + initiatorShare.count + responderShare.count)
        context.u32(epoch)
        context.raw(initiatorShare)
        context.raw(responderShare)
        let salt = try expandLabel(hash, secret: current, label: "rotate", context: DigestContext.hash(hash, context.bytes),
                                   length: hash.outputLength)
        return HKDF.extract(hash, salt: salt, inputKeyMaterial: sharedSecret)
    }
}
