// The metadata index in SQLite (embedded, the default), through GRDB: docs/STORE.md says why GRDB and why this
// schema. WAL mode (readers never wait for the writer), synchronous = NORMAL (a transaction lost at a power cut is one
// whose intent is still pending: start-up finishes it), foreign keys and triggers none.
//
//   files   (namespace, path) → size, sha256, modified_ns, uploaded_ns, uploader      WITHOUT ROWID: the key is the order
//   usage   namespace → bytes, files                                                  kept by finishCommit/finishDelete
//   intents id → kind, namespace, path, and for a commit the file's row to be
import Foundation
import GRDB

public final class SQLiteIndex: MetadataIndex {
    private let pool: DatabasePool

    /// The most rows one `files` call returns.
    public static let maximumPage = 10_000

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
        return migrator
    }

    // MARK: Changes

    public func beginCommit(_ file: IndexedFile) throws(IndexError) -> Intent {
        let size = try Self.stored(file.size)
        guard file.sha256.count == 32 else { throw IndexError(.unrepresentable, "a SHA-256 of \(file.sha256.count) bytes") }
        let id: Int64 = try write { db in
            try db.execute(sql: """
                INSERT INTO intents (kind, namespace, path, size, sha256, modified_ns, uploaded_ns, uploader)
                VALUES ('commit', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [file.namespace, file.path, size, Data(file.sha256), file.modified, file.uploaded,
                                 file.uploader])
            return db.lastInsertedRowID
        }
        return Intent(id: id, kind: .commit, namespace: file.namespace, path: file.path, file: file)
    }

    public func finishCommit(_ intent: Intent) throws(IndexError) {
        try write { db in
            guard let pending = try Self.pending(intent.id, in: db), pending.kind == .commit, let file = pending.file else {
                throw IndexError(.unknownIntent, "no pending commit \(intent.id)")
            }
            let old = try Self.row(namespace: file.namespace, path: file.path, in: db)
            try db.execute(sql: """
                INSERT INTO files (namespace, path, size, sha256, modified_ns, uploaded_ns, uploader)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (namespace, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
                    modified_ns = excluded.modified_ns, uploaded_ns = excluded.uploaded_ns, uploader = excluded.uploader
                """, arguments: [file.namespace, file.path, try Self.stored(file.size), Data(file.sha256), file.modified,
                                 file.uploaded, file.uploader])
            let bytes = try Self.stored(file.size) - (try old.map { try Self.stored($0.size) } ?? 0)
            try Self.adjustUsage(file.namespace, bytes: bytes, files: old == nil ? 1 : 0, in: db)
            try db.execute(sql: "DELETE FROM intents WHERE id = ?", arguments: [intent.id])
        }
    }

    public func beginDelete(namespace: String, path: String) throws(IndexError) -> Intent {
        let id: Int64 = try write { db in
            try db.execute(sql: "INSERT INTO intents (kind, namespace, path) VALUES ('delete', ?, ?)",
                           arguments: [namespace, path])
            return db.lastInsertedRowID
        }
        return Intent(id: id, kind: .delete, namespace: namespace, path: path, file: nil)
    }

    @discardableResult
    public func finishDelete(_ intent: Intent) throws(IndexError) -> IndexedFile? {
        try write { db in
            guard let pending = try Self.pending(intent.id, in: db), pending.kind == .delete else {
                throw IndexError(.unknownIntent, "no pending delete \(intent.id)")
            }
            let old = try Self.row(namespace: pending.namespace, path: pending.path, in: db)
            if let old {
                try db.execute(sql: "DELETE FROM files WHERE namespace = ? AND path = ?",
                               arguments: [pending.namespace, pending.path])
                try Self.adjustUsage(pending.namespace, bytes: -(try Self.stored(old.size)), files: -1, in: db)
            }
            try db.execute(sql: "DELETE FROM intents WHERE id = ?", arguments: [intent.id])
            return old
        }
    }

    public func abandon(_ intent: Intent) throws(IndexError) {
        try write { db in
            try db.execute(sql: "DELETE FROM intents WHERE id = ?", arguments: [intent.id])
            guard db.changesCount == 1 else { throw IndexError(.unknownIntent, "no pending intent \(intent.id)") }
        }
    }

    public func pendingIntents() throws(IndexError) -> [Intent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM intents ORDER BY id").map(Self.intent)
        }
    }

    // MARK: Reading

    public func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try read { db in try Self.row(namespace: namespace, path: path, in: db) }
    }

    public func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] {
        let limit = max(0, min(limit, Self.maximumPage))
        var conditions = ["namespace = ?", "path >= ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [namespace, prefix]
        if let bound = PathRange.upperBound(ofPrefix: prefix) {
            conditions.append("path < ?")
            arguments.append(bound)
        }
        if let cursor {
            conditions.append("path > ?")
            arguments.append(cursor)
        }
        let sql = "SELECT * FROM files WHERE " + conditions.joined(separator: " AND ") + " ORDER BY path LIMIT \(limit)"
        let bound = StatementArguments(arguments)
        return try read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.file) }
    }

    public func usage(namespace: String) throws(IndexError) -> Usage {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT bytes, files FROM usage WHERE namespace = ?",
                                             arguments: [namespace]) else { return Usage() }
            return Usage(bytes: UInt64(max(0, row["bytes"] as Int64)), files: UInt64(max(0, row["files"] as Int64)))
        }
    }

    // MARK: Rows

    private static func row(namespace: String, path: String, in db: Database) throws -> IndexedFile? {
        try Row.fetchOne(db, sql: "SELECT * FROM files WHERE namespace = ? AND path = ?", arguments: [namespace, path])
            .map(file)
    }

    private static func pending(_ id: Int64, in db: Database) throws -> Intent? {
        try Row.fetchOne(db, sql: "SELECT * FROM intents WHERE id = ?", arguments: [id]).map(intent)
    }

    private static func file(_ row: Row) -> IndexedFile {
        IndexedFile(namespace: row["namespace"], path: row["path"], size: UInt64(max(0, row["size"] as Int64)),
                    sha256: [UInt8]((row["sha256"] as Data?) ?? Data()), modified: row["modified_ns"],
                    uploaded: row["uploaded_ns"], uploader: row["uploader"])
    }

    private static func intent(_ row: Row) -> Intent {
        let kind = Intent.Kind(rawValue: row["kind"]) ?? .delete
        let namespace: String = row["namespace"], path: String = row["path"]
        var file: IndexedFile?
        if kind == .commit, let size = row["size"] as Int64?, let digest = row["sha256"] as Data? {
            file = IndexedFile(namespace: namespace, path: path, size: UInt64(max(0, size)), sha256: [UInt8](digest),
                               modified: row["modified_ns"], uploaded: row["uploaded_ns"] ?? 0,
                               uploader: row["uploader"] ?? "")
        }
        return Intent(id: row["id"], kind: kind, namespace: namespace, path: path, file: file)
    }

    private static func adjustUsage(_ namespace: String, bytes: Int64, files: Int64, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO usage (namespace, bytes, files) VALUES (?, ?, ?)
            ON CONFLICT (namespace) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + excluded.files
            """, arguments: [namespace, bytes, files])
    }

    /// SQLite integers are signed 64-bit: a size past 2^63 - 1 (no file system holds one) is refused, not wrapped.
    private static func stored(_ size: UInt64) throws(IndexError) -> Int64 {
        guard let value = Int64(exactly: size) else { throw IndexError(.unrepresentable, "a size of \(size) bytes") }
        return value
    }

    // MARK: GRDB's errors as the index's

    private func write<T>(_ body: (Database) throws -> T) throws(IndexError) -> T {
        do { return try pool.write(body) } catch let error as IndexError { throw error } catch {
            throw IndexError(.unavailable, "the index could not be written: \(error)")
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(IndexError) -> T {
        do { return try pool.read(body) } catch let error as IndexError { throw error } catch {
            throw IndexError(.unavailable, "the index could not be read: \(error)")
        }
    }
}
