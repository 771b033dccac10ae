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
        var bytes: Int64 = 0
        for file in files {
            guard file.namespace == namespace else {
                throw IndexError(.unrepresentable, "a file of namespace \(file.namespace) given for \(namespace)")
            }
            guard file.sha256.count == 32 else { throw IndexError(.unrepresentable, "a SHA-256 of \(file.sha256.count) bytes") }
            let (sum, overflow) = bytes.addingReportingOverflow(try Self.stored(file.size))
            guard !overflow else { throw IndexError(.unrepresentable, "a namespace of more than 2^63 bytes") }
            bytes = sum
        }
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
