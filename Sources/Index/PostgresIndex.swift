// The metadata index's rows in PostgreSQL (`[index] backend = "postgresql"`), through libpq on the pool's threads
// (docs/STORE.md says why libpq and not postgres-nio). The same RowStore as SQLiteIndex, passing the same tests
// (IndexRowTests, IndexChildrenTests, IndexReindexTests run again by PostgresIndexTests.swift's subclasses); what
// differs is said where it does: usage kept by triggers
// (PostgresIndex+Schema.swift), and a batch written in a constant number of round trips rather than a statement per
// change, since each statement here crosses the network.
//
//   apply(changes) ─► the last change of each (namespace, path), in key order
//                  ─► BEGIN · SELECT … FROM ferry_usage … FOR UPDATE (the namespaces' usage rows, in order)
//                        · INSERT … ON CONFLICT DO UPDATE (the puts, 1,000 rows a statement)
//                        · DELETE … WHERE (namespace, path) IN (…) (the removes) · COMMIT
//
// Taking the usage rows first makes two daemons' batches on a namespace wait for each other at the start, instead of
// each taking file rows the other then needs (a deadlock the server would break by failing one).
//
// Keeping only the last change of each key gives the rows that applying every change in order gives (a put replaces
// the row, a remove deletes it), and usage follows the rows; a batch applied twice (a COMMIT whose answer was lost,
// then the journal's retry) changes nothing the second time.
import Foundation

public final class PostgresIndex: RowStore {
    let pool: PostgresPool

    /// Rows in one INSERT or DELETE: 7 parameters a row, far below the protocol's 65,535.
    static let rowsPerStatement = 1_000

    /// Connects (a first connection at once, so that a wrong URL stops the daemon at start) and makes the schema,
    /// taken by `owner`, the id of the storage root whose index it is (PostgresIndex+Schema.swift).
    public init(url: String, owner: String, poolSize: Int, connectTimeout: Int, statementTimeoutMilliseconds: Int)
        throws(IndexError) {
        pool = PostgresPool(url: url, size: poolSize,
                            timeouts: .init(connect: connectTimeout, statementMilliseconds: statementTimeoutMilliseconds))
        do { try Self.prepareSchema(pool, owner: owner) } catch { throw error.indexError }
    }

    /// Where it connects to, without the password.
    public var target: String { pool.target }

    // MARK: Changes

    /// Every batch is durable when this returns (PostgresPool.transaction says why), whatever `durable` asks.
    public func apply(_ changes: [RowChange], durable: Bool) throws(IndexError) {
        var last: [Key: RowChange] = [:]
        for change in changes {
            if case .put(let file) = change { try RowChecks.check(file) }
            last[Key(change)] = change
        }
        let ordered = last.sorted { $0.key < $1.key }.map(\.value)
        var puts: [IndexedFile] = [], removes: [Key] = []
        for change in ordered {
            switch change {
            case .put(let file): puts.append(file)
            case .remove: removes.append(Key(change))
            }
        }
        let namespaces = Set(ordered.map { Key($0).namespace }).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        // One statement of one namespace (what daemons sharing a root write per file): alone in its autocommit, it
        // is atomic and locks one usage row, so it needs neither the transaction nor the locks taken in order.
        if namespaces.count == 1, puts.count <= Self.rowsPerStatement, removes.isEmpty || (puts.isEmpty && removes.count == 1) {
            return try perform { () throws(PostgresFailure) in
                try pool.statement { connection throws(PostgresFailure) in
                    if let key = removes.first {
                        _ = try connection.execute("DELETE FROM ferry_files WHERE namespace = $1 AND path = $2",
                                                   [.text(key.namespace), .text(key.path)])
                    } else {
                        try Self.insert(puts, upsert: true, on: connection)
                    }
                }
            }
        }
        try perform { () throws(PostgresFailure) in
            try pool.transaction { connection throws(PostgresFailure) in
                let list = namespaces.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                if !namespaces.isEmpty {
                    try connection.execute("SELECT namespace FROM ferry_usage WHERE namespace IN (\(list)) ORDER BY namespace FOR UPDATE",
                                           namespaces.map { .text($0) })
                }
                try Self.insert(puts, upsert: true, on: connection)
                for chunk in stride(from: 0, to: removes.count, by: Self.rowsPerStatement) {
                    let keys = removes[chunk..<min(chunk + Self.rowsPerStatement, removes.count)]
                    let pairs = keys.indices.map { "($\(2 * ($0 - chunk) + 1), $\(2 * ($0 - chunk) + 2))" }.joined(separator: ", ")
                    try connection.execute("DELETE FROM ferry_files WHERE (namespace, path) IN (\(pairs))",
                                           keys.flatMap { [.text($0.namespace), .text($0.path)] })
                }
            }
        }
    }

    /// Inserts `files` in statements of `rowsPerStatement` rows; `upsert`: a row of the same name is replaced.
    static func insert(_ files: [IndexedFile], upsert: Bool, on connection: PostgresConnection) throws(PostgresFailure) {
        for chunk in stride(from: 0, to: files.count, by: rowsPerStatement) {
            let rows = files[chunk..<min(chunk + rowsPerStatement, files.count)]
            let placeholders = (0..<rows.count).map { row in
                "(" + (1...7).map { "$\(row * 7 + $0)" }.joined(separator: ", ") + ")"
            }.joined(separator: ", ")
            var sql = "INSERT INTO ferry_files (\(fileColumns)) VALUES \(placeholders)"
            if upsert {
                sql += """
                     ON CONFLICT (namespace, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
                    modified_ns = excluded.modified_ns, uploaded_ns = excluded.uploaded_ns, uploader = excluded.uploader
                    """
            }
            try connection.execute(sql, rows.flatMap { file in
                [.text(file.namespace), .text(file.path), .int8(Int64(clamping: file.size)), .bytea(file.sha256),  // sizes checked by the callers
                 file.modified.map { .int8($0) } ?? .null, .int8(file.uploaded), .text(file.uploader)]
            })
        }
    }

    // MARK: Reading

    public func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                let rows = try connection.execute("SELECT \(Self.fileColumns) FROM ferry_files WHERE namespace = $1 AND path = $2",
                                                  [.text(namespace), .text(path)])
                return rows.count == 0 ? nil : try Self.file(rows, 0)
            }
        }
    }

    public func scan(namespace: String, from lower: String, inclusive: Bool, below upper: String?, limit: Int)
        throws(IndexError) -> [IndexedFile] {
        let limit = max(0, min(limit, IndexPaging.maximumPage))
        var sql = "SELECT \(Self.fileColumns) FROM ferry_files WHERE namespace = $1 AND path \(inclusive ? ">=" : ">") $2"
        var parameters: [PostgresConnection.Value] = [.text(namespace), .text(lower)]
        if let upper {
            sql += " AND path < $3"
            parameters.append(.text(upper))
        }
        sql += " ORDER BY path LIMIT \(limit)"
        return try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                let rows = try connection.execute(sql, parameters)
                var files: [IndexedFile] = []
                files.reserveCapacity(rows.count)
                for row in 0..<rows.count { files.append(try Self.file(rows, row)) }
                return files
            }
        }
    }

    public func usage(namespace: String) throws(IndexError) -> Usage {
        try usage("SELECT bytes, files FROM ferry_usage WHERE namespace = $1", [.text(namespace)])
    }

    public func usage(namespace: String, prefix: String) throws(IndexError) -> Usage {
        var sql = "SELECT coalesce(sum(size), 0)::bigint, count(*) FROM ferry_files WHERE namespace = $1 AND path >= $2"
        var parameters: [PostgresConnection.Value] = [.text(namespace), .text(prefix)]
        if let bound = PathRange.upperBound(ofPrefix: prefix) {
            sql += " AND path < $3"
            parameters.append(.text(bound))
        }
        return try usage(sql, parameters)
    }

    /// A statement whose one row is (bytes, files); no row: nothing.
    func usage(_ sql: String, _ parameters: [PostgresConnection.Value]) throws(IndexError) -> Usage {
        try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                let rows = try connection.execute(sql, parameters)
                guard rows.count > 0 else { return Usage() }
                return Usage(bytes: UInt64(max(0, try rows.int8(0, 0))), files: UInt64(max(0, try rows.int8(0, 1))))
            }
        }
    }

    // MARK: Rows

    /// The columns `file` reads, in its order.
    static let fileColumns = "namespace, path, size, sha256, modified_ns, uploaded_ns, uploader"

    static func file(_ rows: PostgresRows, _ row: Int) throws(PostgresFailure) -> IndexedFile {
        IndexedFile(namespace: try rows.text(row, 0), path: try rows.text(row, 1), size: UInt64(max(0, try rows.int8(row, 2))),
                    sha256: rows.bytes(row, 3) ?? [], modified: try rows.optionalInt8(row, 4), uploaded: try rows.int8(row, 5),
                    uploader: try rows.text(row, 6))
    }

    /// A file's key, compared, ordered and hashed by its bytes as the table's (namespace, then path): String's own
    /// equality would take two spellings of "é" for one name, where the table holds two rows.
    struct Key: Hashable, Comparable {
        let namespace: String
        let path: String

        static func == (a: Key, b: Key) -> Bool {
            a.namespace.utf8.elementsEqual(b.namespace.utf8) && a.path.utf8.elementsEqual(b.path.utf8)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(Array(namespace.utf8))
            hasher.combine(Array(path.utf8))
        }

        init(_ change: RowChange) {
            switch change {
            case .put(let file): (namespace, path) = (file.namespace, file.path)
            case .remove(let namespace, let path): (self.namespace, self.path) = (namespace, path)
            }
        }

        static func < (a: Key, b: Key) -> Bool {
            a.namespace == b.namespace ? a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
                : a.namespace.utf8.lexicographicallyPrecedes(b.namespace.utf8)
        }
    }

    /// PostgreSQL's failures as the index's.
    func perform<Result>(_ body: () throws(PostgresFailure) -> Result) throws(IndexError) -> Result {
        do { return try body() } catch { throw error.indexError }
    }
}
