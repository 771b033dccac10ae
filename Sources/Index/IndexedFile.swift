// What the metadata index knows of a stored file, of a namespace's usage, and of a change in flight (docs/STORE.md).
// Paths are the client's relative paths as stored (PROTOCOL.md §8.11), compared byte for byte: a listing is in the
// order of their UTF-8 bytes, which is the order of SQLite's BINARY collation and PostgreSQL's "C" collation.

/// A point in time as the index keeps it: nanoseconds since the Unix epoch (2262 is far enough).
public typealias IndexTime = Int64

/// One stored file.
public struct IndexedFile: Equatable, Sendable {
    /// Whose area the file is in (today the identity that owns it: `<root>/<namespace>/<path>`).
    public let namespace: String
    public let path: String
    public let size: UInt64
    /// SHA-256 of the whole file, as checked at commit (32 bytes).
    public let sha256: [UInt8]
    /// The source's modification time when the upload carried it (PROTOCOL.md §8.9), else nil.
    public let modified: IndexTime?
    /// When the commit completed.
    public let uploaded: IndexTime
    /// The identity that uploaded it (another than `namespace` when an access rule let it write there).
    public let uploader: String

    public init(namespace: String, path: String, size: UInt64, sha256: [UInt8], modified: IndexTime?, uploaded: IndexTime,
                uploader: String) {
        self.namespace = namespace
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.modified = modified
        self.uploaded = uploaded
        self.uploader = uploader
    }
}

/// A namespace's stored files, counted by the index as they are committed and deleted (never by walking the tree).
public struct Usage: Equatable, Sendable {
    public var bytes: UInt64
    public var files: UInt64

    public init(bytes: UInt64 = 0, files: UInt64 = 0) {
        self.bytes = bytes
        self.files = files
    }
}

/// A change to the tree the index records before making it, so that a crash between the file system's step and the
/// index's is found and finished at start (Intent replay) instead of by walking the whole tree.
public struct Intent: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// A file is being linked or renamed under its name (its digest recorded beside it first).
        case commit
        /// A file is being unlinked.
        case delete
    }

    public let id: Int64
    public let kind: Kind
    public let namespace: String
    public let path: String
    /// What a commit is storing (nil for a delete).
    public let file: IndexedFile?
}
