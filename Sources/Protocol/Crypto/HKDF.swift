// HKDF (RFC 5869) through OpenSSL's EVP_KDF "HKDF", in extract-only and expand-only modes (the key schedule calls the
// two halves separately, as TLS 1.3 does).
internal import COpenSSL

enum HKDF {
    /// HKDF-Extract(salt, IKM) → PRK of `function.outputLength` bytes. An empty salt means HashLen zero bytes (RFC 5869 §2.2).
    /// (HMAC pads its key with zeros to the block size, so an empty key and HashLen zero bytes give the same PRK.)
    /// Fails only on allocation failure or misuse inside OpenSSL, so a failure traps.
    static func extract(_ function: HashFunction, salt: SecretBytes, inputKeyMaterial: SecretBytes) -> SecretBytes {
        let prk = SecretBytes(zeroedCount: function.outputLength)
        do {
            try salt.withUnsafeBytes { (salt) throws(CryptoError) in
                try inputKeyMaterial.withUnsafeBytes { (ikm) throws(CryptoError) in
                    try prk.withUnsafeMutableBytes { (output) throws(CryptoError) in
                        try derive(function, mode: "EXTRACT_ONLY", key: ikm, saltOrInfo: salt,
                                   saltOrInfoName: "salt", into: output)
                    }
                }
            }
        } catch {
            preconditionFailure("HKDF-Extract failed inside OpenSSL: \(error)")
        }
        return prk
    }

    /// HKDF-Expand(PRK, info, L). Throws when L > 255 · HashLen (RFC 5869 §2.3) or L == 0.
    static func expand(_ function: HashFunction, pseudorandomKey: SecretBytes, info: [UInt8], length: Int) throws(CryptoError) -> SecretBytes {
        // RFC 5869 §2.3: "L  length of output keying material in octets (<= 255*HashLen)". A zero length is never what
        // the key schedule means, so it is refused as well rather than returning an empty key.
        guard length > 0, length <= maximumExpandLength(function) else {
            throw CryptoError(.malformedInput, "HKDF-Expand length \(length) for \(function)")
        }
        let okm = SecretBytes(zeroedCount: length)
        try pseudorandomKey.withUnsafeBytes { (prk) throws(CryptoError) in
            try info.withCryptoBytes { (info) throws(CryptoError) in
                try okm.withUnsafeMutableBytes { (output) throws(CryptoError) in
                    try derive(function, mode: "EXPAND_ONLY", key: prk, saltOrInfo: info,
                               saltOrInfoName: "info", into: output)
                }
            }
        }
        return okm
    }

    /// 255 · HashLen, the most HKDF-Expand can produce: its block counter is one octet (RFC 5869 §2.3).
    static func maximumExpandLength(_ function: HashFunction) -> Int { 255 * function.outputLength }

    /// One EVP_KDF_derive. `key` is the IKM (extract) or the PRK (expand). OpenSSL copies every parameter into the KDF
    /// context and clears the copies when the context is freed, so no secret outlives the call there.
    private static func derive(_ function: HashFunction, mode: StaticString, key: UnsafeRawBufferPointer,
                               saltOrInfo: UnsafeRawBufferPointer, saltOrInfoName: StaticString,
                               into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        let kdf = try check(EVP_KDF_fetch(nil, cString("HKDF"), nil), "EVP_KDF_fetch")
        defer { EVP_KDF_free(kdf) }
        let context = try check(EVP_KDF_CTX_new(kdf), "EVP_KDF_CTX_new")
        defer { EVP_KDF_CTX_free(context) }
        // The mode goes as its UTF-8 name (EVP_KDF-HKDF(7) accepts a string or an int): a literal lives for the whole
        // call, where an `&int` pointer stored in an OSSL_PARAM would dangle.
        // Empty buffers (an empty salt or info) still get a non-NULL pointer, so OpenSSL never sees NULL data.
        var params = [
            OSSL_PARAM_construct_utf8_string(cString("digest"), cString(function.providerName), 0),
            OSSL_PARAM_construct_utf8_string(cString("mode"), cString(mode), 0),
            OSSL_PARAM_construct_octet_string(cString("key"), UnsafeMutableRawPointer(mutating: nonNullBase(key)), key.count),
            OSSL_PARAM_construct_octet_string(cString(saltOrInfoName), UnsafeMutableRawPointer(mutating: nonNullBase(saltOrInfo)),
                                              saltOrInfo.count),
            OSSL_PARAM_construct_end(),
        ]
        guard let out = output.baseAddress else { preconditionFailure("HKDF output buffer is empty") }
        try check(EVP_KDF_derive(context, out.assumingMemoryBound(to: UInt8.self), output.count, &params), "EVP_KDF_derive")
    }
}
