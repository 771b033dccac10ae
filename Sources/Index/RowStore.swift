// Where the metadata index's rows live — SQLite embedded (SQLiteIndex), PostgreSQL when servers share one store —
// below the intent journal (JournaledIndex): changes arrive in batches, one transaction each, so what a transaction
// costs (a lock, a commit, a WAL sync or a network round trip) is paid per batch, not per stored file.
public protocol RowStore: Sendable {
    /// Applies `changes` in order, in one transaction; usage follows each. `durable`: on stable storage when this
    /// returns (what lets the journal forget the intents the batch finished).
    func apply(_ changes: [RowChange], durable: Bool) throws(IndexError)

    /// The row of one file, or nil.
    func file(namespace: String, path: String) throws(IndexError) -> IndexedFile?
    /// Files whose path starts with `prefix` ("" for all; "dir/" for a directory's whole tree), in byte order of path,
    /// after `cursor` (the last path of the previous page; nil from the start), at most `limit`.
    func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile]
    func usage(namespace: String) throws(IndexError) -> Usage
    /// The files whose path starts with `prefix` ("dir/": a directory's whole tree), counted and summed.
    func usage(namespace: String, prefix: String) throws(IndexError) -> Usage
    /// Namespaces that have files or a usage row, in byte order.
    func namespaces() throws(IndexError) -> [String]
    /// Usage summed over every namespace.
    func totalUsage() throws(IndexError) -> Usage
    /// At most `limit` rows of `namespace` in byte order of path, from `lower` (itself included when `inclusive`) and
    /// below `upper` (nil: to the end): the one range read listings are made of (RowStore+Children).
    func scan(namespace: String, from lower: String, inclusive: Bool, below upper: String?, limit: Int) throws(IndexError)
        -> [IndexedFile]
    /// Makes `namespace`'s rows exactly `files` (one per path) and its usage their sum, in one transaction.
    func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError)
}

public enum IndexPaging {
    /// The most rows or children one read returns: a page a client asks for is cut to it.
    public static let maximumPage = 10_000
}

/// One change to the rows.
public enum RowChange: Equatable, Sendable {
    /// The file's row replaces any row of its name.
    case put(IndexedFile)
    /// The row of that name goes, if there is one.
    case remove(namespace: String, path: String)
}
