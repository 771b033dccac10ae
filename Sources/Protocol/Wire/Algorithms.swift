// The negotiable algorithms and their wire code points (docs/PROTOCOL.md §4 "Negotiation").
//
// Code points reuse the TLS 1.3 registries where one exists (NamedGroup, SignatureScheme, HashAlgorithm) so a reader can
// check them against IANA; cipher suites are Ferry's own because Ferry's suites do not fix the hash (the hash is
// negotiated separately, as the issue asks) and one of them (CBC + HMAC) has no TLS 1.3 code point.

/// Record protection. Every suite is an AEAD from the record layer's point of view.
public enum CipherSuite: UInt16, CaseIterable, Sendable, Hashable {
    case aes256GCM = 0x0001
    case aes128GCM = 0x0002
    case chacha20Poly1305 = 0x0003
    /// AES-256-CBC with PKCS#7 padding, then HMAC-SHA-256 over seq ‖ header ‖ IV ‖ ciphertext (encrypt-then-MAC).
    case aes256CBCHMACSHA256 = 0x0004

    public var name: String {
        switch self {
        case .aes256GCM: "aes-256-gcm"
        case .aes128GCM: "aes-128-gcm"
        case .chacha20Poly1305: "chacha20-poly1305"
        case .aes256CBCHMACSHA256: "aes-256-cbc-hmac-sha256"
        }
    }

    /// Bytes of key material the key schedule derives for one direction ("key" label).
    /// For CBC + HMAC it is MAC key (32) ‖ encryption key (32), the split of RFC 7518 §5.2.2.1.
    public var keyLength: Int {
        switch self {
        case .aes256GCM, .chacha20Poly1305: 32
        case .aes128GCM: 16
        case .aes256CBCHMACSHA256: 64
        }
    }
}

/// Ephemeral key exchange. Values are TLS NamedGroup code points (RFC 8446 §4.2.7, RFC 7919 §2,
/// draft-ietf-tls-ecdhe-mlkem §5.2).
public enum KeyExchangeGroup: UInt16, CaseIterable, Sendable, Hashable {
    /// Hybrid post-quantum: ML-KEM-768 (FIPS 203) and X25519, combined exactly as TLS 1.3's X25519MLKEM768
    /// (draft-ietf-tls-ecdhe-mlkem §3.1): the ML-KEM part comes first in both shares and in the shared secret.
    case x25519MLKEM768 = 0x11EC
    case x25519 = 0x001D
    case secp256r1 = 0x0017
    case ffdhe2048 = 0x0100
    case ffdhe3072 = 0x0101

    public var name: String {
        switch self {
        case .x25519MLKEM768: "x25519-mlkem768"
        case .x25519: "x25519"
        case .secp256r1: "p256"
        case .ffdhe2048: "ffdhe2048"
        case .ffdhe3072: "ffdhe3072"
        }
    }

    /// Exact length of the initiator's share on the wire: the client's ClientHello key share, and RotateInit's.
    /// A classical group's two shares have the same length; a KEM-based group's do not.
    public var initiatorShareLength: Int {
        switch self {
        case .x25519MLKEM768: 1184 + 32  // ML-KEM-768 encapsulation key ‖ X25519 public key
        case .x25519: 32
        case .secp256r1: 65  // uncompressed SEC1 point: 0x04 ‖ X ‖ Y
        case .ffdhe2048: 256  // big-endian public value, left-padded to the length of p (RFC 8446 §4.2.8.1)
        case .ffdhe3072: 384
        }
    }

    /// Exact length of the responder's share on the wire: ServerHello's key share, and RotateReply's.
    public var responderShareLength: Int {
        switch self {
        case .x25519MLKEM768: 1088 + 32  // ML-KEM-768 ciphertext ‖ X25519 public key
        case .x25519, .secp256r1, .ffdhe2048, .ffdhe3072: initiatorShareLength
        }
    }
}

/// Hash for the transcript and HKDF. Values are the TLS HashAlgorithm code points (RFC 5246 §7.4.1.4.1).
public enum HashFunction: UInt16, CaseIterable, Sendable, Hashable {
    case sha256 = 0x0004
    case sha384 = 0x0005
    case sha512 = 0x0006

    public var name: String {
        switch self {
        case .sha256: "sha256"
        case .sha384: "sha384"
        case .sha512: "sha512"
        }
    }

    public var outputLength: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// Signature schemes for CertificateVerify. Values are TLS SignatureScheme code points (RFC 8446 §4.2.3).
public enum SignatureScheme: UInt16, CaseIterable, Sendable, Hashable {
    case ed25519 = 0x0807
    case ecdsaSecp256r1SHA256 = 0x0403
    case ecdsaSecp384r1SHA384 = 0x0503
    /// RSASSA-PSS, MGF1 with the same hash, salt length = hash length, RSA key of at least 2048 bits.
    case rsaPSSSHA256 = 0x0804
    case rsaPSSSHA384 = 0x0805
    case rsaPSSSHA512 = 0x0806

    public var name: String {
        switch self {
        case .ed25519: "ed25519"
        case .ecdsaSecp256r1SHA256: "ecdsa-p256-sha256"
        case .ecdsaSecp384r1SHA384: "ecdsa-p384-sha384"
        case .rsaPSSSHA256: "rsa-pss-sha256"
        case .rsaPSSSHA384: "rsa-pss-sha384"
        case .rsaPSSSHA512: "rsa-pss-sha512"
        }
    }
}

/// Parsing the names operators write in configuration files.
public protocol NamedAlgorithm: CaseIterable, Sendable {
    var name: String { get }
}

extension NamedAlgorithm {
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }
}

extension CipherSuite: NamedAlgorithm {}
extension KeyExchangeGroup: NamedAlgorithm {}
extension HashFunction: NamedAlgorithm {}
extension SignatureScheme: NamedAlgorithm {}
