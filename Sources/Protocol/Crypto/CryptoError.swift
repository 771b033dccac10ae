// Errors of the crypto layer, the one choke point every OpenSSL return code passes through (STYLE 13), and the few
// helpers every file in Crypto/ needs at the C boundary.
internal import COpenSSL

/// A failure inside the crypto layer. Wire-facing code maps these to coarse alerts; the detail is for logs and tests.
public struct CryptoError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// AEAD tag or MAC mismatch, or bad padding after a valid MAC: deliberately one kind for every such failure.
        case authenticationFailure
        /// A peer's key share is the wrong length, not on the curve, out of range, or yields an all-zero secret.
        case invalidPeerShare
        /// A key, certificate or signature that could not be parsed.
        case malformedInput
        /// The key cannot be used with the requested algorithm (e.g. RSA < 2048 bits, Ed25519 key asked for ECDSA).
        case unsupportedKey
        /// An OpenSSL call failed for a reason that is not the peer's fault.
        case library
        /// The private key is encrypted and no passphrase was given (EncryptedPrivateKey.swift).
        case passphraseRequired
        /// The passphrase does not decrypt the private key (or the encrypted key is damaged).
        case wrongPassphrase
    }

    public let kind: Kind
    /// The OpenSSL function that failed and the first error-queue entry, for logs. Never contains key material.
    public let detail: String

    public init(_ kind: Kind, _ detail: String = "") {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? "\(kind)" : "\(kind): \(detail)" }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.kind == rhs.kind }
}

/// Drains OpenSSL's thread-local error queue into one line (so a failure never leaks into the next call's report).
@inline(never)
func openSSLErrorText(_ function: String) -> String {
    var text = function
    var first = true
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        if first {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text += ": " + String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            first = false
        }
    }
    return text
}

/// The choke point for OpenSSL calls that return 1 on success (most of EVP). Anything else throws `kind`.
@inline(__always)
func check(_ rc: Int32, _ function: StaticString, _ kind: CryptoError.Kind = .library) throws(CryptoError) {
    if rc != 1 { throw CryptoError(kind, openSSLErrorText("\(function)")) }
}

/// For calls that return a positive value on success and ≤ 0 on failure (X509_sign returns the signature length;
/// EVP_PKEY_keygen and the EVP_PKEY_CTX_set_* controls return ≤ 0 on failure).
@inline(__always)
func checkPositive(_ rc: Int32, _ function: StaticString, _ kind: CryptoError.Kind = .library) throws(CryptoError) {
    if rc <= 0 { throw CryptoError(kind, openSSLErrorText("\(function)")) }
}

/// The same for calls that return a pointer (NULL on failure).
@inline(__always)
func check<T>(_ pointer: T?, _ function: StaticString, _ kind: CryptoError.Kind = .library) throws(CryptoError) -> T {
    guard let pointer else { throw CryptoError(kind, openSSLErrorText("\(function)")) }
    return pointer
}

/// For calls that no peer input can make fail (digests, RAND_bytes, allocating a context): a failure is our misuse or
/// memory exhaustion, not the peer's fault and not recoverable, so it traps with the reason (STYLE 5).
@inline(__always)
func checkOrTrap(_ rc: Int32, _ function: StaticString, file: StaticString = #file, line: UInt = #line) {
    do { try check(rc, function) } catch { preconditionFailure("OpenSSL call failed: \(error)", file: file, line: line) }
}

@inline(__always)
func checkOrTrap<T>(_ pointer: T?, _ function: StaticString, file: StaticString = #file, line: UInt = #line) -> T {
    do { return try check(pointer, function) } catch { preconditionFailure("OpenSSL call failed: \(error)", file: file, line: line) }
}

// MARK: - Helpers for the C boundary, shared by the files in Crypto/

/// A NUL-terminated C string for a Swift string literal. `OSSL_PARAM_construct_*` stores the key and value pointers, so
/// they must outlive the call: a literal lives in the binary for the whole run, while an implicit String → pointer
/// conversion would dangle as soon as the call returns. OpenSSL never writes through these pointers.
@inline(__always)
func cString(_ literal: StaticString) -> UnsafeMutablePointer<CChar> {
    precondition(literal.hasPointerRepresentation, "C strings must be literals")
    return UnsafeMutableRawPointer(mutating: literal.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// A readable base address for a buffer that may be empty. An empty Swift buffer can have a nil base address, and some
/// OpenSSL entry points reject NULL even with length 0 (a NULL HMAC key means "keep the old key"). With length 0 OpenSSL
/// reads nothing, so the NUL byte of an empty literal is a safe stand-in.
@inline(__always)
func nonNullBase(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8> {
    if let base = buffer.baseAddress { return base.assumingMemoryBound(to: UInt8.self) }
    return ("" as StaticString).utf8Start
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` with a typed error: the standard library's version only rethrows `any Error`.
    func withCryptoBytes<R, Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> R) throws(Failure) -> R {
        try withUnsafeBytes { buffer in Result { () throws(Failure) -> R in try body(buffer) } }.get()
    }

    /// `withUnsafeMutableBytes` with a typed error.
    mutating func withCryptoMutableBytes<R, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> R
    ) throws(Failure) -> R {
        try withUnsafeMutableBytes { buffer in Result { () throws(Failure) -> R in try body(buffer) } }.get()
    }
}
