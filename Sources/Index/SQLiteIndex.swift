// The metadata index's rows in SQLite (embedded, the default), through GRDB: docs/STORE.md says why GRDB and why this
// schema. WAL mode (readers never wait for the writer); synchronous = NORMAL, and FULL for a batch the journal will
// forget once it is applied (RowStore.apply's `durable`); foreign keys and triggers none. The intents are not here:
// they are the journal's (IntentJournal), one append each, where a transaction per stored file cost more than the
// rest of a small file's upload.
//
//   files   (namespace, path) → size, sha256, modified_ns, uploaded_ns, uploader      WITHOUT ROWID: the key is the order
//   usage   namespace → bytes, files                                                  kept by apply
import Foundation
import GRDB

public final class SQLiteIndex: RowStore {
    private let pool: DatabasePool

    /// The most rows one `files` or `scan` call returns.
    public static let maximumPage = IndexPaging.maximumPage

    /// Opens (creating when missing) the index at `path` and brings its schema up to date.
    public init(path: String) throws(IndexError) {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // A writer waits this long for another process's lock (a second ferryd on the same file is refused earlier,
        // by the store's lock; this only covers `ferryd reindex` or a backup tool holding it for a moment).
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw IndexError(.unavailable, "cannot open the index at \(path): \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1: files, usage, intents") { db in
            try db.execute(sql: """
                CREATE TABLE files (
                    namespace TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL CHECK (size >= 0),
                    sha256 BLOB NOT NULL CHECK (length(sha256) = 32), modified_ns INTEGER, uploaded_ns INTEGER NOT NULL,
                    uploader TEXT NOT NULL,
                    PRIMARY KEY (namespace, path)) WITHOUT ROWID;
                CREATE TABLE usage (
                    namespace TEXT NOT NULL PRIMARY KEY, bytes INTEGER NOT NULL, files INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE intents (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL CHECK (kind IN ('commit', 'delete')),
                    namespace TEXT NOT NULL, path TEXT NOT NULL, size INTEGER, sha256 BLOB, modified_ns INTEGER,
                    uploaded_ns INTEGER, uploader TEXT);
                """)
        }
        migrator.registerMigration("2: intents in the journal") { db in
            try db.execute(sql: "DROP TABLE intents")
        }
        return migrator
    }

    // MARK: Changes

    public func apply(_ changes: [RowChange], durable: Bool) throws(IndexError) {
        for case .put(let file) in changes { try RowChecks.check(file) }
        try write(durable: durable) { db in
            for change in changes {
                switch change {
                case .put(let file):
                    let size = Int64(file.size)
                    let old = try Int64.fetchOne(db.cachedStatement(sql: "SELECT size FROM files WHERE namespace = ? AND path = ?"),
                                                 arguments: [file.namespace, file.path])
                    try db.cachedStatement(sql: """
                        INSERT INTO files (namespace, path, size, sha256, modified_ns, uploaded_ns, uploader)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (namespace, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
                            modified_ns = excluded.modified_ns, uploaded_ns = excluded.uploaded_ns, uploader = excluded.uploader
                        """).execute(arguments: [file.namespace, file.path, size, Data(file.sha256), file.modified,
                                                 file.uploaded, file.uploader])
                    try Self.adjustUsage(file.namespace, bytes: size - (old ?? 0), files: old == nil ? 1 : 0, in: db)
                case .remove(let namespace, let path):
                    guard let old = try Int64.fetchOne(db.cachedStatement(sql: "DELETE FROM files WHERE namespace = ? AND path = ? RETURNING size"),
                                                       arguments: [namespace, path]) else { continue }
                    try Self.adjustUsage(namespace, bytes: -old, files: -1, in: db)
                }
            }
        }
    }

    // MARK: Reading

    public func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try read { db in try Self.row(namespace: namespace, path: path, in: db) }
    }

    public func scan(namespace: String, from lower: String, inclusive: Bool, below upper: String?, limit: Int)
        throws(IndexError) -> [IndexedFile] {
        let limit = max(0, min(limit, Self.maximumPage))
        var sql = "SELECT \(Self.fileColumns) FROM files WHERE namespace = ? AND path \(inclusive ? ">=" : ">") ?"
        var arguments: [(any DatabaseValueConvertible)?] = [namespace, lower]
        if let upper {
            sql += " AND path < ?"
            arguments.append(upper)
        }
        sql += " ORDER BY path LIMIT \(limit)"
        let bound = StatementArguments(arguments)
        return try read { db in try Row.fetchAll(db.cachedStatement(sql: sql), arguments: bound).map(Self.file) }
    }

    public func usage(namespace: String) throws(IndexError) -> Usage {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT bytes, files FROM usage WHERE namespace = ?",
                                             arguments: [namespace]) else { return Usage() }
            return Usage(bytes: UInt64(max(0, row["bytes"] as Int64)), files: UInt64(max(0, row["files"] as Int64)))
        }
    }

    public func usage(namespace: String, prefix: String) throws(IndexError) -> Usage {
        var sql = "SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM files WHERE namespace = ? AND path >= ?"
        var arguments: [(any DatabaseValueConvertible)?] = [namespace, prefix]
        if let bound = PathRange.upperBound(ofPrefix: prefix) {
            sql += " AND path < ?"
            arguments.append(bound)
        }
        let bound = StatementArguments(arguments)
        return try read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: bound) else { return Usage() }
            return Usage(bytes: UInt64(max(0, row["bytes"] as Int64)), files: UInt64(max(0, row["files"] as Int64)))
        }
    }

    // MARK: Rows

    private static func row(namespace: String, path: String, in db: Database) throws -> IndexedFile? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(fileColumns) FROM files WHERE namespace = ? AND path = ?"),
                         arguments: [namespace, path]).map(file)
    }

    /// The columns `file` reads, in its order: by position, since a lookup by name (lower-casing the name for each
    /// column of each row) took a fifth of a listing's CPU.
    private static let fileColumns = "namespace, path, size, sha256, modified_ns, uploaded_ns, uploader"

    private static func file(_ row: Row) -> IndexedFile {
        IndexedFile(namespace: row[0], path: row[1], size: UInt64(max(0, row[2] as Int64)),
                    sha256: [UInt8]((row[3] as Data?) ?? Data()), modified: row[4], uploaded: row[5], uploader: row[6])
    }

    static func adjustUsage(_ namespace: String, bytes: Int64, files: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO usage (namespace, bytes, files) VALUES (?, ?, ?)
            ON CONFLICT (namespace) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + excluded.files
            """).execute(arguments: [namespace, bytes, files])
    }

    // MARK: GRDB's errors as the index's

    func write<T>(durable: Bool = false, _ body: (Database) throws -> T) throws(IndexError) -> T {
        do {
            guard durable else { return try pool.write(body) }
            // synchronous = FULL for this transaction alone: its commit syncs the WAL.
            return try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw IndexError(.unavailable, "the index's transaction returned nothing") }
                return result
            }
        } catch let error as IndexError { throw error } catch {
            throw IndexError(.unavailable, "the index could not be written: \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(IndexError) -> T {
        do { return try pool.read(body) } catch let error as IndexError { throw error } catch {
            throw IndexError(.unavailable, "the index could not be read: \(error)")
        }
    }
}
