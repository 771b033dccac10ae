// Incremental hashing (EVP_MD_CTX): the handshake transcript and the whole-file SHA-256 of uploads.
internal import COpenSSL

extension HashFunction {
    /// The EVP_MD. EVP_sha256() and friends return static objects that are never freed; the first EVP_DigestInit_ex
    /// with one fetches the provider implementation.
    var evpMD: OpaquePointer {
        let md: OpaquePointer? = switch self {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
        return checkOrTrap(md, "EVP_sha*")
    }

    /// The name the default provider knows the digest by, for the "digest" OSSL_PARAM of HMAC and HKDF.
    var providerName: StaticString {
        switch self {
        case .sha256: "SHA2-256"
        case .sha384: "SHA2-384"
        case .sha512: "SHA2-512"
        }
    }
}

/// A running hash. `snapshot()` returns the digest so far and keeps going (the transcript needs that at every flight).
/// EVP digest calls fail only on allocation failure or misuse, so these methods do not throw: a failure traps.
// @unchecked Sendable: one owner at a time. The daemon and the client hand a context to a thread-pool job (hash a
// block there) and do not touch it again until that job's completion is back on the loop thread.
public final class DigestContext: @unchecked Sendable {
    public let function: HashFunction
    private let context: OpaquePointer  // EVP_MD_CTX, owned

    public init(_ function: HashFunction) {
        self.function = function
        context = checkOrTrap(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
        checkOrTrap(EVP_DigestInit_ex(context, function.evpMD, nil), "EVP_DigestInit_ex")
    }

    /// An independent copy of `other`'s state.
    private init(copying other: DigestContext) {
        function = other.function
        context = checkOrTrap(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
        checkOrTrap(EVP_MD_CTX_copy_ex(context, other.context), "EVP_MD_CTX_copy_ex")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        checkOrTrap(EVP_DigestUpdate(context, base, bytes.count), "EVP_DigestUpdate")
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything so far; the context can still be updated afterwards. Finalizing destroys an EVP_MD_CTX's
    /// state, so this finalizes a copy.
    public func snapshot() -> [UInt8] {
        let copy = DigestContext(copying: self)
        return [UInt8](unsafeUninitializedCapacity: function.outputLength) { buffer, initialized in
            var length: UInt32 = 0
            checkOrTrap(EVP_DigestFinal_ex(copy.context, buffer.baseAddress, &length), "EVP_DigestFinal_ex")
            precondition(Int(length) == function.outputLength, "digest length \(length) for \(function)")
            initialized = Int(length)
        }
    }

    /// An independent copy (EVP_MD_CTX_copy_ex).
    public func copy() -> DigestContext { DigestContext(copying: self) }

    public static func hash(_ function: HashFunction, _ bytes: [UInt8]) -> [UInt8] {
        let context = DigestContext(function)
        context.update(bytes)
        return context.snapshot()
    }
}

/// Lower-case hexadecimal, the way digests are shown in logs, JSON and messages (both binaries use it).
public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
    return String(decoding: text, as: UTF8.self)
}
