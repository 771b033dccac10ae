// The store's changing requests and Verify (docs/PROTOCOL.md §14.8–§14.10), once `store` was agreed:
//
//   Delete (0x38)  ──► Deleted (0x39)      a file; with `recursive` a file or a directory's tree, one batch a request
//   Rename (0x3A)  ──► StatResult (0x37)   a file under its new name (kind 1, the entry as the index now holds it)
//   Verify (0x3B)  ──► Verified (0x3D)     the server re-read the file: its recorded and its re-read SHA-256
//
// or OperationError (§14.5). Every field is bounded before anything is allocated.

/// Delete (0x38).
public struct DeleteRequest: Equatable, Sendable {
    /// "" for the client's own.
    public var namespace: String
    /// A file's or (recursive) a directory's path: not empty, no leading or trailing "/".
    public var path: String
    /// A directory's whole tree (or a file) may go; without it a directory is refused.
    public var recursive: Bool

    public init(namespace: String = "", path: String, recursive: Bool = false) {
        self.namespace = namespace
        self.path = path
        self.recursive = recursive
    }

    static let flagRecursive: UInt8 = 0x01

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(path)
        encoder.u8(recursive ? Self.flagRecursive : 0)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> DeleteRequest {
        var decoder = WireDecoder(body)
        let namespace = try decoder.text(maxBytes: Limits.maxNamespaceLength)
        let path = try decoder.text(maxBytes: Limits.maxPathLength)
        let flags = try decoder.u8()
        guard flags & ~flagRecursive == 0 else { throw .decode("unknown Delete flags 0x\(String(flags, radix: 16))") }
        try decoder.finish()
        guard isRequestPath(path) else {
            throw .illegal("Delete of \"\(path)\": a path is not empty and has no leading or trailing \"/\"")
        }
        return DeleteRequest(namespace: namespace, path: path, recursive: flags & flagRecursive != 0)
    }
}

/// Deleted (0x39): what one Delete removed.
public struct DeleteOutcome: Equatable, Sendable {
    /// Files removed by this request (1 for a file).
    public var files: UInt64
    /// Their sizes summed.
    public var bytes: UInt64
    /// A recursive Delete stopped after a batch and files remain below the path: send the same Delete again.
    public var more: Bool

    public init(files: UInt64, bytes: UInt64, more: Bool = false) {
        self.files = files
        self.bytes = bytes
        self.more = more
    }

    static let flagMore: UInt8 = 0x01

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(files)
        encoder.u64(bytes)
        encoder.u8(more ? Self.flagMore : 0)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> DeleteOutcome {
        var decoder = WireDecoder(body)
        let files = try decoder.u64(), bytes = try decoder.u64(), flags = try decoder.u8()
        guard flags & ~flagMore == 0 else { throw .decode("unknown Deleted flags 0x\(String(flags, radix: 16))") }
        try decoder.finish()
        return DeleteOutcome(files: files, bytes: bytes, more: flags & flagMore != 0)
    }

    /// What breaks §14.8 in this answer to `request` (the client's check).
    func problem(answering request: DeleteRequest) -> String? {
        if !request.recursive, files != 1 || more { return "a non-recursive Delete answered with \(files) files\(more ? " and more" : "")" }
        if more, files == 0 { return "a batch that removed nothing but says more remain" }
        return nil
    }
}

/// Rename (0x3A): one stored file to another name of the same namespace.
public struct RenameRequest: Equatable, Sendable {
    public var namespace: String
    /// The file's path now.
    public var from: String
    /// Its new path; its directories are made as an upload's are.
    public var to: String
    /// Replace a file stored at `to`; without it such a file is `exists`.
    public var overwrite: Bool

    public init(namespace: String = "", from: String, to: String, overwrite: Bool = false) {
        self.namespace = namespace
        self.from = from
        self.to = to
        self.overwrite = overwrite
    }

    static let flagOverwrite: UInt8 = 0x01

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(from)
        encoder.text(to)
        encoder.u8(overwrite ? Self.flagOverwrite : 0)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> RenameRequest {
        var decoder = WireDecoder(body)
        let namespace = try decoder.text(maxBytes: Limits.maxNamespaceLength)
        let from = try decoder.text(maxBytes: Limits.maxPathLength)
        let to = try decoder.text(maxBytes: Limits.maxPathLength)
        let flags = try decoder.u8()
        guard flags & ~flagOverwrite == 0 else { throw .decode("unknown Rename flags 0x\(String(flags, radix: 16))") }
        try decoder.finish()
        guard isRequestPath(from), isRequestPath(to) else {
            throw .illegal("Rename of \"\(from)\" to \"\(to)\": a path is not empty and has no leading or trailing \"/\"")
        }
        return RenameRequest(namespace: namespace, from: from, to: to, overwrite: flags & flagOverwrite != 0)
    }
}

/// Verify (0x3B): the server re-reads one stored file and says what it found.
public struct VerifyRequest: Equatable, Sendable {
    public var namespace: String
    /// A file's path.
    public var path: String

    public init(namespace: String = "", path: String) {
        self.namespace = namespace
        self.path = path
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(path)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> VerifyRequest {
        var decoder = WireDecoder(body)
        let request = VerifyRequest(namespace: try decoder.text(maxBytes: Limits.maxNamespaceLength),
                                    path: try decoder.text(maxBytes: Limits.maxPathLength))
        try decoder.finish()
        guard isRequestPath(request.path) else {
            throw .illegal("Verify of \"\(request.path)\": a path is not empty and has no leading or trailing \"/\"")
        }
        return request
    }
}

/// Verified (0x3D): the stored file re-read.
public struct VerifyResult: Equatable, Sendable {
    /// The bytes read: the file's size now.
    public var size: UInt64
    /// The SHA-256 recorded when the file was committed (what StatResult and ListPage report).
    public var recorded: [UInt8]
    /// The SHA-256 of the bytes read now. Not `recorded`: the stored copy changed or decayed.
    public var read: [UInt8]

    public init(size: UInt64, recorded: [UInt8], read: [UInt8]) {
        self.size = size
        self.recorded = recorded
        self.read = read
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(size)
        encoder.raw(recorded)
        encoder.raw(read)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> VerifyResult {
        var decoder = WireDecoder(body)
        let result = VerifyResult(size: try decoder.u64(), recorded: try decoder.raw(Limits.fileDigestLength),
                                  read: try decoder.raw(Limits.fileDigestLength))
        try decoder.finish()
        return result
    }
}

/// A path a Delete, Rename or Verify may name (§14.1: a file's or directory's, never the namespace's top).
func isRequestPath(_ path: String) -> Bool { !path.isEmpty && !PathBytes.hasEdgeSlash(path) }

/// §14.1's path rules on UTF-8 bytes, never on Swift's Characters (grapheme clusters): "/" followed by a combining
/// mark is one Character, so `hasPrefix("/")` is false for a path whose first byte is "/", and `hasPrefix` of two
/// canonically equivalent strings is true for different bytes — which the index, ordering keys as bytes, does not
/// take for the same key.
enum PathBytes {
    static let slash = UInt8(ascii: "/")

    /// The first or the last byte is "/".
    static func hasEdgeSlash(_ path: String) -> Bool { path.utf8.first == slash || path.utf8.last == slash }

    /// `key`'s bytes begin with all of `directory`'s and go on past them.
    static func isBelow(_ key: String, _ directory: String) -> Bool {
        key.utf8.count > directory.utf8.count && key.utf8.starts(with: directory.utf8)
    }
}
