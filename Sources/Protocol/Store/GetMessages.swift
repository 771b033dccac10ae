// Get (docs/PROTOCOL.md §14.4): a stored file streamed server → client. Get asks from an offset (what the client
// already holds of it, to resume); GetHeader says what the file is and where the bytes start; GetData carries them in
// order; GetEnd closes the stream once every byte after the offset was sent. The client checks the whole file's
// SHA-256 against the header's before it keeps anything.

/// Get (0x30): one stored file, from `offset`.
public struct GetRequest: Equatable, Sendable {
    /// "" for the client's own.
    public var namespace: String
    /// A file's path (relative, no trailing "/").
    public var path: String
    /// Bytes the client already holds (a `.part` from an interrupted Get); 0 for the whole file.
    public var offset: UInt64

    public init(namespace: String = "", path: String, offset: UInt64 = 0) {
        self.namespace = namespace
        self.path = path
        self.offset = offset
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(path)
        encoder.u64(offset)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> GetRequest {
        var decoder = WireDecoder(body)
        let request = GetRequest(namespace: try decoder.text(maxBytes: Limits.maxNamespaceLength),
                                 path: try decoder.text(maxBytes: Limits.maxPathLength), offset: try decoder.u64())
        try decoder.finish()
        guard isRequestPath(request.path) else {
            throw .illegal("Get of \"\(request.path)\": a file's path is not empty and has no leading or trailing \"/\"")
        }
        return request
    }
}

/// GetHeader (0x31): the file about to be streamed.
public struct GetHeader: Equatable, Sendable {
    public var size: UInt64
    /// The SHA-256 of the whole file, as recorded at commit: what the client checks the bytes against.
    public var sha256: [UInt8]
    /// Its modification time on the server (the source's, when the upload kept it).
    public var modified: WireTime
    /// Any execute bit is set on the server's copy.
    public var executable: Bool
    /// Where the GetData bytes start: the Get's offset when it is at most `size`, else 0 (what the client holds is
    /// no prefix of this file).
    public var offset: UInt64

    public init(size: UInt64, sha256: [UInt8], modified: WireTime, executable: Bool, offset: UInt64) {
        self.size = size
        self.sha256 = sha256
        self.modified = modified
        self.executable = executable
        self.offset = offset
    }

    static let flagExecutable: UInt8 = 0x01

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(size)
        encoder.raw(sha256)
        modified.encode(into: &encoder)
        encoder.u8(executable ? Self.flagExecutable : 0)
        encoder.u64(offset)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> GetHeader {
        var decoder = WireDecoder(body)
        let size = try decoder.u64()
        let digest = try decoder.raw(Limits.fileDigestLength)
        let modified = try WireTime.decode(&decoder)
        let flags = try decoder.u8()
        guard flags & ~flagExecutable == 0 else { throw .decode("unknown GetHeader flags 0x\(String(flags, radix: 16))") }
        let header = GetHeader(size: size, sha256: digest, modified: modified, executable: flags & flagExecutable != 0,
                               offset: try decoder.u64())
        try decoder.finish()
        return header
    }
}
