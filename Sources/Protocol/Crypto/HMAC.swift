// HMAC (RFC 2104) with the negotiated hash: Finished MACs. The CBC suite keeps its own reusable context.
internal import COpenSSL

enum HMAC {
    /// HMAC(key, message) with the full output length of `function`.
    /// Fails only on allocation failure or misuse inside OpenSSL, so a failure traps (like DigestContext).
    static func authenticationCode(_ function: HashFunction, key: SecretBytes, message: [UInt8]) -> [UInt8] {
        do {
            let context = try key.withUnsafeBytes { (key) throws(CryptoError) in try HMACContext(function, key: key) }
            var tag = [UInt8](repeating: 0, count: function.outputLength)
            try message.withCryptoBytes { (message) throws(CryptoError) in
                try tag.withCryptoMutableBytes { (tag) throws(CryptoError) in try context.authenticate(message, into: tag) }
            }
            return tag
        } catch {
            preconditionFailure("HMAC failed inside OpenSSL: \(error)")
        }
    }
}

/// A reusable HMAC context (EVP_MAC "HMAC"). The key schedule is set once in init; every `authenticate` restarts from
/// it (EVP_MAC_init with a NULL key keeps the key), so a failed call never leaves half a message behind, and no call
/// allocates (the CBC + HMAC record path).
final class HMACContext {
    let function: HashFunction
    private let context: OpaquePointer  // EVP_MAC_CTX, owned

    init(_ function: HashFunction, key: UnsafeRawBufferPointer) throws(CryptoError) {
        self.function = function
        let mac = try check(EVP_MAC_fetch(nil, cString("HMAC"), nil), "EVP_MAC_fetch")
        defer { EVP_MAC_free(mac) }  // the context holds its own reference
        let context = try check(EVP_MAC_CTX_new(mac), "EVP_MAC_CTX_new")
        var params = [
            OSSL_PARAM_construct_utf8_string(cString("digest"), cString(function.providerName), 0),
            OSSL_PARAM_construct_end(),
        ]
        // A NULL key would mean "keep the previous key", so an empty key still passes a non-NULL pointer.
        // OpenSSL copies the key into the context and clears it when the context is freed.
        do throws(CryptoError) {
            try check(EVP_MAC_init(context, nonNullBase(key), key.count, &params), "EVP_MAC_init")
        } catch {
            EVP_MAC_CTX_free(context)
            throw error
        }
        self.context = context
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Writes HMAC(key, first ‖ second) to `tag` (exactly `function.outputLength` bytes).
    func authenticate(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                      into tag: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(tag.count == function.outputLength, "HMAC tag buffer of \(tag.count) bytes for \(function)")
        // A NULL key restarts the HMAC state from the key already set (providers/implementations/macs/hmac_prov.c).
        try check(EVP_MAC_init(context, nil, 0, nil), "EVP_MAC_init")
        try update(first)
        try update(second)
        var written = 0
        try check(EVP_MAC_final(context, tag.baseAddress?.assumingMemoryBound(to: UInt8.self), &written, tag.count),
                  "EVP_MAC_final")
        precondition(written == tag.count, "HMAC wrote \(written) bytes")
    }

    private func update(_ part: UnsafeRawBufferPointer) throws(CryptoError) {
        guard part.count > 0 else { return }
        try check(EVP_MAC_update(context, nonNullBase(part), part.count), "EVP_MAC_update")
    }
}
