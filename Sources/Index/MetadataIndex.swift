// The metadata index's operations, whatever stores them (SQLite embedded, PostgreSQL shared): docs/STORE.md.
//
// Every call blocks (disk, or a round trip to a server): callers run them on the thread pool, never on a loop thread.
// A commit or a delete is three steps, the intent recorded before the tree changes, so that a crash anywhere leaves
// something start-up can finish (replaying `pendingIntents`) without walking the tree:
//
//   beginCommit(file) ──► link/rename + fsync (Store) ──► finishCommit(intent)     the row and the usage; the intent
//   beginDelete(path) ──► unlink + fsync (Store)       ──► finishDelete(intent)     forgotten once they are written
//                     └─ the tree was not touched ──────► abandon(intent)
public protocol MetadataIndex: Sendable {
    /// Records that `file` is about to be stored; returns the intent to finish or abandon. `durable`: the intent is on
    /// stable storage when this returns (the store's fsync setting), so that a power cut after the file's name became
    /// durable still finds it; otherwise it survives a crash of the process, not of the machine.
    func beginCommit(_ file: IndexedFile, durable: Bool) throws(IndexError) -> Intent
    /// The file is stored: its row replaces any row of that name, the namespace's usage follows, the intent goes.
    /// Without `waiting`, the row may be written after this returns (JournaledIndex writes rows in batches): the
    /// index's own readers see it all the same, and a crash before it is written leaves the intent to settle.
    func finishCommit(_ intent: Intent, waiting: Bool) throws(IndexError)
    /// Records that the file at `path` is about to be removed (`durable` as for beginCommit).
    func beginDelete(namespace: String, path: String, durable: Bool) throws(IndexError) -> Intent
    /// The file is gone from the tree: its row (if any) and the intent go, the usage follows. Returns the row removed.
    @discardableResult
    func finishDelete(_ intent: Intent) throws(IndexError) -> IndexedFile?
    /// `finishDelete` for a caller that knows the row already: without `waiting`, the removal may be written after
    /// this returns, with the changes finished after it (JournaledIndex's batches; readers see it all the same).
    func finishDelete(_ intent: Intent, waiting: Bool) throws(IndexError)
    /// The change was not made (it failed before touching the tree): only the intent goes.
    func abandon(_ intent: Intent) throws(IndexError)
    /// Intents begun and neither finished nor abandoned, oldest first: what a crash left.
    func pendingIntents() throws(IndexError) -> [Intent]
    /// Writes every finished change still waiting (JournaledIndex batches them): before a clean stop.
    func flush() throws(IndexError)

    /// The row of one file, or nil.
    func file(namespace: String, path: String) throws(IndexError) -> IndexedFile?
    /// Files whose path starts with `prefix` ("" for all; "dir/" for a directory's whole tree), in byte order of path,
    /// after `cursor` (the last path of the previous page; nil from the start), at most `limit`.
    func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile]
    func usage(namespace: String) throws(IndexError) -> Usage
    /// The files whose path starts with `prefix` ("dir/": a directory's whole tree), counted and summed (Stat of a
    /// directory): a range of the key, never a walk of the tree.
    func usage(namespace: String, prefix: String) throws(IndexError) -> Usage
    /// A directory's files and subdirectories, paged (RowStore+Children).
    func children(namespace: String, directory: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexChild]
    /// Usage summed over every namespace (the metrics).
    func totalUsage() throws(IndexError) -> Usage

    /// Namespaces that have files or a usage row, in byte order (`ferryd reindex`).
    func namespaces() throws(IndexError) -> [String]
    /// Makes `namespace`'s rows exactly `files` (one per path) and its usage their sum, in one transaction: what
    /// `ferryd reindex` writes once it compared the tree with the index.
    func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError)
}

extension MetadataIndex {
    public func finishCommit(_ intent: Intent) throws(IndexError) { try finishCommit(intent, waiting: true) }
    /// An index that writes each change at once has nothing to wait for.
    public func finishDelete(_ intent: Intent, waiting: Bool) throws(IndexError) { _ = try finishDelete(intent) }
    /// An intent that survives a crash of the process, not of the machine (tests, and stores that do not fsync).
    public func beginCommit(_ file: IndexedFile) throws(IndexError) -> Intent { try beginCommit(file, durable: false) }
    public func beginDelete(namespace: String, path: String) throws(IndexError) -> Intent {
        try beginDelete(namespace: namespace, path: path, durable: false)
    }
}

public struct IndexError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The index cannot be opened, read or written (a disk error, a locked or corrupt database, a lost server).
        case unavailable
        /// A value the index cannot hold (a size past 2^63 - 1, a digest not 32 bytes).
        case unrepresentable
        /// An intent that is not pending (finished or abandoned already, or never begun here).
        case unknownIntent
        /// An intent journal another running process holds (its lock is taken: IntentJournal `exclusive`).
        case inUse
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
