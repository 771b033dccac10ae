// Errors of the crypto layer, and the one choke point every OpenSSL return code passes through.
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

/// The same for calls that return a pointer (NULL on failure).
@inline(__always)
func check<T>(_ pointer: T?, _ function: StaticString, _ kind: CryptoError.Kind = .library) throws(CryptoError) -> T {
    guard let pointer else { throw CryptoError(kind, openSSLErrorText("\(function)")) }
    return pointer
}
