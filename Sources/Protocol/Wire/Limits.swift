// Every bound of the protocol, in one place, with where it comes from (docs/PROTOCOL.md §10 "Limits").

public enum ProtocolVersion: UInt16, CaseIterable, Sendable {
    /// Ferry protocol version 1: the handshake, rotation and the upload messages of this file set.
    case v1 = 0x0001
}

public enum Limits {
    // MARK: Records (§5)

    /// Record header: type (1) ‖ length (4).
    public static let recordHeaderLength = 5

    /// Largest record body accepted before the peer is authenticated (its Finished verified). Small on purpose: an
    /// unauthenticated peer can make us buffer at most this much per connection. It fits the largest hello (every
    /// group's share, x25519-mlkem768's 1216 bytes and ffdhe3072's 384 included: ≈ 2 KiB; the default ClientHello is
    /// 1,400 bytes) and a certificate chain of up to `maxCertificateChainLength` certificates of typical size (an
    /// RSA-4096 certificate is ≈ 1.4 KiB of DER).
    public static let maxRecordBodyBeforeAuthentication = 8 * 1024

    /// Largest file chunk in one Data message: 64 KiB, the top of the 16–64 KiB range, so the per-record costs
    /// (header, nonce, tag, one system call) are amortised over many bytes and disk writes stay large.
    public static let maxDataChunk = 64 * 1024

    /// Largest message (type byte + body) once authenticated: a full Data chunk plus room for its type byte.
    public static let maxMessageLength = 1 + maxDataChunk

    /// Largest expansion of a sealed record: AEAD tag 16; CBC-HMAC: IV 16 + up to a full block of padding 16 + tag 32.
    public static let maxSealingOverhead = 64

    /// Largest record body after authentication.
    public static let maxRecordBodyAfterAuthentication = maxMessageLength + maxSealingOverhead

    // MARK: Handshake (§6)

    public static let randomLength = 32
    /// Entries in each offered list (versions, suites, groups, hashes, signature schemes).
    public static let maxOfferedAlgorithms = 16
    /// Certificates in one chain: leaf + up to three intermediates.
    public static let maxCertificateChainLength = 4
    /// Largest certificate (DER) in a chain.
    public static let maxCertificateLength = 6 * 1024
    /// Largest signature: RSA-4096 is 512 bytes, DER ECDSA P-384 ≤ 104.
    public static let maxSignatureLength = 1024
    /// Largest key share of any group we know (x25519-mlkem768's initiator share: 1216 bytes), with room to spare.
    public static let maxKeyShareLength = 2048
    /// Largest extensions block in a hello or ServerParameters.
    public static let maxExtensionsLength = 1024
    /// Alert and error texts.
    public static let maxReasonLength = 256

    // MARK: Uploads (§8)

    /// A relative path in Open, UTF-8 bytes (PATH_MAX is 4096 on Linux).
    public static let maxPathLength = 4096

    /// Rotations one side may make the other work for in any one second: RotateInits it sends plus RotateRequests the
    /// other acts on (§7.5). Each costs the receiver a key exchange; more closes the session (`illegal_parameter`).
    public static let maxPeerRotationsPerSecond = 64
    /// The least time between two rotations a side starts on its own policy (bytes or time, §7.1): at most 16 a
    /// second, a quarter of what its peer accepts, so that pacing never trips the peer's limit.
    public static let minimumRotationIntervalNanoseconds: UInt64 = 62_500_000
    /// SHA-256 of the whole file.
    public static let fileDigestLength = 32
    /// Largest file a pipelined upload may carry (§8.10): the server holds a pipelined file in memory until it is
    /// stored, so this bounds what one unanswered upload costs it. 1 MiB: the small files pipelining is for, and
    /// sixteen full Data chunks.
    public static let maxPipelinedFileSize: UInt64 = 1 << 20

    // MARK: The store (§14)

    /// A namespace or an uploader in the store's messages: an identity as a directory name (NAME_MAX is 255 bytes).
    public static let maxNamespaceLength = 255
    /// Entries in one ListPage, and the largest List limit. A page is also cut to one message (64 KiB): about 600
    /// entries of a typical 100 bytes, so a listing of 100,000 entries takes under 200 round trips.
    public static let maxListEntries = 1000
}
