// What `ferryd reindex` and the metrics need of the PostgreSQL index beside the everyday operations (as
// SQLiteIndex+Reindex): which namespaces it knows, one namespace's rows replaced by what the tree holds in one
// transaction (usage following by the triggers), and the total.
extension PostgresIndex {
    public func namespaces() throws(IndexError) -> [String] {
        try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                let rows = try connection.execute("""
                    SELECT namespace FROM ferry_usage UNION SELECT DISTINCT namespace FROM ferry_files ORDER BY 1
                    """)
                var names: [String] = []
                for row in 0..<rows.count { names.append(try rows.text(row, 0)) }
                return names
            }
        }
    }

    public func totalUsage() throws(IndexError) -> Usage {
        try usage("SELECT coalesce(sum(bytes), 0)::bigint, coalesce(sum(files), 0)::bigint FROM ferry_usage", [])
    }

    public func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) {
        _ = try RowChecks.total(of: files, in: namespace)
        try perform { () throws(PostgresFailure) in
            try pool.transaction { connection throws(PostgresFailure) in
                try connection.execute("DELETE FROM ferry_files WHERE namespace = $1", [.text(namespace)])
                // What the delete's trigger left (a row of zeros) goes too: the inserts make it again from the files.
                try connection.execute("DELETE FROM ferry_usage WHERE namespace = $1", [.text(namespace)])
                try Self.insert(files, upsert: false, on: connection)
            }
        }
    }
}
