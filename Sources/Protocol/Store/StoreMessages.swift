// The store's read messages (docs/PROTOCOL.md §14), once `store` was agreed (UploadFeatures): Stat and List ask, the
// server answers StatResult, ListPage or OperationError. Every field is bounded before anything is allocated; what a
// decoder cannot check alone (a page against the List it answers) is ListPage.check, which the client applies.

/// A point in time on the wire: `int64 seconds ‖ uint32 nanoseconds (0..999,999,999)` since 1970-01-01 UTC, as Close's
/// file times (§8.9).
public struct WireTime: Equatable, Hashable, Sendable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// From nanoseconds since the epoch (the index's unit).
    public init(nanosecondsSinceEpoch value: Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: 1_000_000_000)
        self = remainder < 0 ? WireTime(seconds: quotient - 1, nanoseconds: UInt32(remainder + 1_000_000_000))
                             : WireTime(seconds: quotient, nanoseconds: UInt32(remainder))
    }

    static let encodedLength = 12

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(UInt64(bitPattern: seconds))
        encoder.u32(nanoseconds)
    }

    static func decode(_ decoder: inout WireDecoder) throws(ProtocolError) -> WireTime {
        let seconds = Int64(bitPattern: try decoder.u64())
        let nanoseconds = try decoder.u32()
        guard nanoseconds < 1_000_000_000 else { throw .decode("a time with \(nanoseconds) nanoseconds") }
        return WireTime(seconds: seconds, nanoseconds: nanoseconds)
    }
}

/// What the server's index holds of one stored file (§14.2 FileEntry).
public struct StoredFileEntry: Equatable, Sendable {
    /// Relative to the namespace, as stored (Open's path).
    public var path: String
    public var size: UInt64
    /// SHA-256 of the whole file, as checked at commit.
    public var sha256: [UInt8]
    /// The source's modification time when the upload carried it (§8.9).
    public var modified: WireTime?
    /// When the server committed it.
    public var uploaded: WireTime
    /// The identity that uploaded it.
    public var uploader: String

    public init(path: String, size: UInt64, sha256: [UInt8], modified: WireTime?, uploaded: WireTime, uploader: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.modified = modified
        self.uploaded = uploaded
        self.uploader = uploader
    }

    static let flagModified: UInt8 = 0x01

    /// Its encoded length, for fitting a page into one message.
    var encodedLength: Int {
        2 + path.utf8.count + 8 + Limits.fileDigestLength + 1 + (modified == nil ? 0 : WireTime.encodedLength)
            + WireTime.encodedLength + 2 + uploader.utf8.count
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(path)
        encoder.u64(size)
        encoder.raw(sha256)
        encoder.u8(modified == nil ? 0 : Self.flagModified)
        modified?.encode(into: &encoder)
        uploaded.encode(into: &encoder)
        encoder.text(uploader)
    }

    static func decode(_ decoder: inout WireDecoder) throws(ProtocolError) -> StoredFileEntry {
        let path = try decoder.text(maxBytes: Limits.maxPathLength)
        guard !path.isEmpty else { throw .decode("a file entry with an empty path") }
        let size = try decoder.u64()
        let digest = try decoder.raw(Limits.fileDigestLength)
        let flags = try decoder.u8()
        guard flags & ~flagModified == 0 else { throw .decode("unknown file entry flags 0x\(String(flags, radix: 16))") }
        let modified = flags & flagModified != 0 ? try WireTime.decode(&decoder) : nil
        let uploaded = try WireTime.decode(&decoder)
        let uploader = try decoder.text(maxBytes: Limits.maxNamespaceLength)
        guard !uploader.isEmpty else { throw .decode("a file entry with no uploader") }
        return StoredFileEntry(path: path, size: size, sha256: digest, modified: modified, uploaded: uploaded, uploader: uploader)
    }
}

/// Stat (0x36): one file or directory of a namespace.
public struct StatRequest: Equatable, Sendable {
    /// "" for the client's own.
    public var namespace: String
    /// Relative, no trailing "/"; "" for the namespace's top.
    public var path: String

    public init(namespace: String = "", path: String) {
        self.namespace = namespace
        self.path = path
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(path)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> StatRequest {
        var decoder = WireDecoder(body)
        let request = StatRequest(namespace: try decoder.text(maxBytes: Limits.maxNamespaceLength),
                                  path: try decoder.text(maxBytes: Limits.maxPathLength))
        try decoder.finish()
        guard !PathBytes.hasEdgeSlash(request.path) else {
            throw .illegal("Stat of \"\(request.path)\": a path has no leading or trailing \"/\"")
        }
        return request
    }
}

/// StatResult (0x37): a file's entry, or a directory — a prefix of stored files — with what is below it.
public enum StatResult: Equatable, Sendable {
    case file(StoredFileEntry)
    /// `files` and `bytes`: every file below the directory, at any depth.
    case directory(path: String, files: UInt64, bytes: UInt64)

    static let kindFile: UInt8 = 1
    static let kindDirectory: UInt8 = 2

    /// The path the result is about.
    public var path: String {
        switch self {
        case .file(let entry): entry.path
        case .directory(let path, _, _): path
        }
    }

    func encode(into encoder: inout WireEncoder) {
        switch self {
        case .file(let entry):
            encoder.u8(Self.kindFile)
            entry.encode(into: &encoder)
        case .directory(let path, let files, let bytes):
            encoder.u8(Self.kindDirectory)
            encoder.text(path)
            encoder.u64(files)
            encoder.u64(bytes)
        }
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> StatResult {
        var decoder = WireDecoder(body)
        let result: StatResult
        switch try decoder.u8() {
        case kindFile: result = .file(try StoredFileEntry.decode(&decoder))
        case kindDirectory:
            result = .directory(path: try decoder.text(maxBytes: Limits.maxPathLength), files: try decoder.u64(),
                                bytes: try decoder.u64())
        case let kind: throw .decode("unknown StatResult kind \(kind)")
        }
        try decoder.finish()
        return result
    }
}

/// List (0x34): a directory's children (its files and subdirectories) or, recursive, every file below it; one page,
/// after a cursor.
public struct ListRequest: Equatable, Sendable {
    public var namespace: String
    /// "" (the namespace's top) or a path ending in "/".
    public var directory: String
    public var recursive: Bool
    /// "" from the start; else the previous page's `nextCursor`.
    public var cursor: String
    /// Most entries wanted, 1...`Limits.maxListEntries`.
    public var limit: Int

    public init(namespace: String = "", directory: String, recursive: Bool = false, cursor: String = "",
                limit: Int = Limits.maxListEntries) {
        self.namespace = namespace
        self.directory = directory
        self.recursive = recursive
        self.cursor = cursor
        self.limit = limit
    }

    static let flagRecursive: UInt8 = 0x01

    /// Whether the request keeps §14.3's rules (the client checks before sending, the server when decoding).
    var problem: String? {
        if !directory.isEmpty, directory.utf8.last != PathBytes.slash || directory.utf8.first == PathBytes.slash {
            return "a directory to list is \"\" or a relative path ending in \"/\", not \"\(directory)\""
        }
        if !cursor.isEmpty, !PathBytes.isBelow(cursor, directory) {
            return "the cursor \"\(cursor)\" is not below the directory \"\(directory)\""
        }
        if !(1...Limits.maxListEntries).contains(limit) { return "a List limit of \(limit) (1...\(Limits.maxListEntries))" }
        return nil
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.text(namespace)
        encoder.text(directory)
        encoder.u8(recursive ? Self.flagRecursive : 0)
        encoder.text(cursor)
        encoder.u16(UInt16(limit))
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> ListRequest {
        var decoder = WireDecoder(body)
        let namespace = try decoder.text(maxBytes: Limits.maxNamespaceLength)
        let directory = try decoder.text(maxBytes: Limits.maxPathLength)
        let flags = try decoder.u8()
        guard flags & ~flagRecursive == 0 else { throw .decode("unknown List flags 0x\(String(flags, radix: 16))") }
        let request = ListRequest(namespace: namespace, directory: directory, recursive: flags & flagRecursive != 0,
                                  cursor: try decoder.text(maxBytes: Limits.maxPathLength), limit: Int(try decoder.u16()))
        try decoder.finish()
        if let problem = request.problem { throw .illegal(problem) }
        return request
    }
}

/// One entry of a ListPage.
public enum ListEntry: Equatable, Sendable {
    case file(StoredFileEntry)
    /// A subdirectory (non-recursive listings only): its path, without a trailing "/".
    case directory(String)

    /// Its key: what the listing is ordered by, and the cursor after it (a directory's path and "/").
    public var key: String {
        switch self {
        case .file(let entry): entry.path
        case .directory(let path): path + "/"
        }
    }

    var encodedLength: Int {
        switch self {
        case .file(let entry): 1 + entry.encodedLength
        case .directory(let path): 1 + 2 + path.utf8.count
        }
    }

    func encode(into encoder: inout WireEncoder) {
        switch self {
        case .file(let entry):
            encoder.u8(StatResult.kindFile)
            entry.encode(into: &encoder)
        case .directory(let path):
            encoder.u8(StatResult.kindDirectory)
            encoder.text(path)
        }
    }

    static func decode(_ decoder: inout WireDecoder) throws(ProtocolError) -> ListEntry {
        switch try decoder.u8() {
        case StatResult.kindFile: return .file(try StoredFileEntry.decode(&decoder))
        case StatResult.kindDirectory:
            let path = try decoder.text(maxBytes: Limits.maxPathLength - 1)
            guard !path.isEmpty else { throw .decode("a directory entry with an empty path") }
            return .directory(path)
        case let kind: throw .decode("unknown list entry kind \(kind)")
        }
    }
}
