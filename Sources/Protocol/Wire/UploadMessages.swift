// Upload-scope messages (docs/PROTOCOL.md §8). Data has no struct: its body is the chunk itself.

/// Open: the client asks to store a file.
public struct UploadRequest: Equatable, Sendable {
    /// Relative path with "/" separators, UTF-8. The protocol checks only its length; the daemon validates the name.
    public var path: String
    /// Exact size in bytes.
    public var size: UInt64
    /// Replace an existing file of that name (if the server allows it).
    public var overwrite: Bool
    /// The whole-file SHA-256, when the client knows it in advance (optional; Close always carries it).
    public var expectedDigest: [UInt8]?
    /// A pipelined upload (§8.10, only once `pipelining` was agreed): its Data and Close follow at once, with no
    /// Accepted, and its one answer (Committed or UploadError) comes in the order of the Opens. At most
    /// `Limits.maxPipelinedFileSize` bytes.
    public var pipelined: Bool
    /// A pipelined probe (§8.10): pipelined, with the digest, and no Data or Close — the server answers whether it
    /// stores this very file (Committed), another (`exists`), or none of that name (`absent`).
    public var probe: Bool
    /// The namespace to store into (§14.1, only once `store` was agreed); "" for the client's own.
    public var namespace: String

    public init(path: String, size: UInt64, overwrite: Bool = false, expectedDigest: [UInt8]? = nil, pipelined: Bool = false,
                probe: Bool = false, namespace: String = "") {
        self.path = path
        self.size = size
        self.overwrite = overwrite
        self.expectedDigest = expectedDigest
        self.pipelined = pipelined
        self.probe = probe
        self.namespace = namespace
    }

    static let flagOverwrite: UInt8 = 0x01
    static let flagHasDigest: UInt8 = 0x02
    static let flagPipelined: UInt8 = 0x04
    static let flagProbe: UInt8 = 0x08
    static let flagNamespace: UInt8 = 0x10

    func encode(into encoder: inout WireEncoder) {
        encoder.text(path)
        encoder.u64(size)
        encoder.u8((overwrite ? Self.flagOverwrite : 0) | (expectedDigest != nil ? Self.flagHasDigest : 0)
            | (pipelined ? Self.flagPipelined : 0) | (probe ? Self.flagProbe : 0) | (namespace.isEmpty ? 0 : Self.flagNamespace))
        if let expectedDigest { encoder.raw(expectedDigest) }
        if !namespace.isEmpty { encoder.text(namespace) }
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> UploadRequest {
        var decoder = WireDecoder(body)
        let path = try decoder.text(maxBytes: Limits.maxPathLength)
        guard !path.isEmpty else { throw .decode("empty path") }
        let size = try decoder.u64()
        let flags = try decoder.u8()
        // The pipelined bit is decoded here; whether the session agreed to it is the connection's check (§8.10).
        guard flags & ~(flagOverwrite | flagHasDigest | flagPipelined | flagProbe | flagNamespace) == 0 else {
            throw .decode("unknown Open flags 0x\(String(flags, radix: 16))")
        }
        // A probe asks about a file it names by its digest, pipelined, and never overwrites (§8.10).
        if flags & flagProbe != 0, flags & (flagPipelined | flagHasDigest | flagOverwrite) != flagPipelined | flagHasDigest {
            throw .decode("a probe must be pipelined, carry a digest and not overwrite (flags 0x\(String(flags, radix: 16)))")
        }
        let digest = flags & flagHasDigest != 0 ? try decoder.raw(Limits.fileDigestLength) : nil
        let namespace = flags & flagNamespace != 0 ? try decoder.text(maxBytes: Limits.maxNamespaceLength) : ""
        try decoder.finish()
        // The flag says a namespace follows: one that is empty has one encoding only, without the flag.
        guard flags & flagNamespace == 0 || !namespace.isEmpty else { throw .decode("an Open with an empty namespace") }
        return UploadRequest(path: path, size: size, overwrite: flags & flagOverwrite != 0, expectedDigest: digest,
                             pipelined: flags & flagPipelined != 0, probe: flags & flagProbe != 0, namespace: namespace)
    }
}

/// Accepted: the server will take the file, starting at `offset` (where a kept partial ends when resuming, §8.3).
struct AcceptedMessage: Equatable {
    var offset: UInt64

    func encode(into encoder: inout WireEncoder) { encoder.u64(offset) }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> AcceptedMessage {
        var decoder = WireDecoder(body)
        let message = AcceptedMessage(offset: try decoder.u64())
        try decoder.finish()
        return message
    }
}

/// Close: all bytes are sent; this is their SHA-256.
/// Close: `digest[32]`, then the file's times when `file_times` was agreed (§8.9). The decoder takes either length;
/// whether times were allowed is the session's check.
struct CloseMessage: Equatable {
    var digest: [UInt8]
    var times: FileTimes? = nil

    func encode(into encoder: inout WireEncoder) {
        encoder.raw(digest)
        times?.encode(into: &encoder)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> CloseMessage {
        var decoder = WireDecoder(body)
        var message = CloseMessage(digest: try decoder.raw(Limits.fileDigestLength))
        if decoder.remaining > 0 { message.times = try FileTimes.decode(&decoder) }
        try decoder.finish()
        return message
    }
}

/// Committed: the file is durable under its final name.
public struct UploadReceipt: Equatable, Sendable {
    /// The name the server stored the file under (relative to the client's area).
    public var storedName: String
    public var size: UInt64
    public var digest: [UInt8]

    public init(storedName: String, size: UInt64, digest: [UInt8]) {
        self.storedName = storedName
        self.size = size
        self.digest = digest
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(storedName)
        encoder.u64(size)
        encoder.raw(digest)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> UploadReceipt {
        var decoder = WireDecoder(body)
        let receipt = UploadReceipt(storedName: try decoder.text(maxBytes: Limits.maxPathLength), size: try decoder.u64(),
                                    digest: try decoder.raw(Limits.fileDigestLength))
        try decoder.finish()
        return receipt
    }
}

/// Why the server refused or failed an upload. Upload scope: the session goes on.
public enum UploadErrorCode: UInt16, Sendable, Hashable {
    case badPath = 0x0001
    case exists = 0x0002
    case tooLarge = 0x0003
    case noSpace = 0x0004
    case digestMismatch = 0x0005
    case sizeMismatch = 0x0006
    case storageFailure = 0x0007
    case permissionDenied = 0x0008
    case aborted = 0x0009
    case busy = 0x000A
    /// The answer to a probe (§8.10) when no file of that name is stored: send it.
    case absent = 0x000B
    /// A store request (§14) names nothing the server stores.
    case notFound = 0x000C
    /// The server cannot serve this store request at all (it keeps no metadata index): asking again will not help.
    case notSupported = 0x000D
    /// Received code this version does not know; the text still says what happened.
    case unknown = 0xFFFF

    /// Its name in §8.5 and §14.5 (metrics, JSON output).
    public var name: String {
        switch self {
        case .badPath: "bad_path"
        case .exists: "exists"
        case .tooLarge: "too_large"
        case .noSpace: "no_space"
        case .digestMismatch: "digest_mismatch"
        case .sizeMismatch: "size_mismatch"
        case .storageFailure: "storage_failure"
        case .permissionDenied: "permission_denied"
        case .aborted: "aborted"
        case .busy: "busy"
        case .absent: "absent"
        case .notFound: "not_found"
        case .notSupported: "not_supported"
        case .unknown: "unknown"
        }
    }
}

public struct UploadFailure: Error, Equatable, Sendable {
    public var code: UploadErrorCode
    public var message: String

    public init(_ code: UploadErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(code.rawValue)
        encoder.text(truncatedUTF8(message, maxBytes: Limits.maxReasonLength))
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> UploadFailure {
        var decoder = WireDecoder(body)
        let code = try decoder.u16()
        let failure = UploadFailure(UploadErrorCode(rawValue: code) ?? .unknown, try decoder.text(maxBytes: Limits.maxReasonLength))
        try decoder.finish()
        return failure
    }
}
