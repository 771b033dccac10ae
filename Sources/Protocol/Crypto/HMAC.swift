// HMAC (RFC 2104) with the negotiated hash: Finished MACs. The CBC suite keeps its own reusable context.
internal import COpenSSL

enum HMAC {
    /// HMAC(key, message) with the full output length of `function`.
    static func authenticationCode(_ function: HashFunction, key: SecretBytes, message: [UInt8]) -> [UInt8] {
        fatalError("TODO(crypto)")
    }
}
