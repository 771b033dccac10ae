// The uploads in progress of every daemon sharing the root, for quotas (QuotaLedger): `ferry_pending`, one row per
// upload whose quota check passed, keyed like its file's row. The check runs in one transaction holding the
// namespace's advisory lock (checks of one namespace one after another), and reads usage and the others' claims in one
// statement (one snapshot: a commit that moved a file from claimed to stored is seen whole or not at all). A file's row
// written removes its claim in the same transaction (a trigger), so no check ever counts a file twice or not at all.
extension PostgresIndex: QuotaLedger {
    /// pg_advisory_xact_lock's first key for quota checks: 0x6671, "fq"; the second is the namespace's hashtext.
    static let quotaLockClass = 0x66_71

    public func claimQuota(namespace: String, path: String, node: String, bytes: UInt64,
                           decide: (_ usage: Usage, _ pending: Usage) -> Bool) throws(IndexError) -> Bool {
        guard let size = Int64(exactly: bytes) else {
            throw IndexError(.unrepresentable, "a size of \(bytes) bytes cannot be counted in PostgreSQL")
        }
        return try perform { () throws(PostgresFailure) in
            try pool.transaction { connection throws(PostgresFailure) in
                try connection.execute("SELECT pg_advisory_xact_lock(\(Self.quotaLockClass), hashtext($1))", [.text(namespace)])
                let rows = try connection.execute("""
                    SELECT coalesce((SELECT bytes FROM ferry_usage WHERE namespace = $1), 0)::bigint,
                           coalesce((SELECT files FROM ferry_usage WHERE namespace = $1), 0)::bigint,
                           coalesce(sum(bytes), 0)::bigint, count(*)
                    FROM ferry_pending WHERE namespace = $1 AND path <> $2
                    """, [.text(namespace), .text(path)])
                let usage = Usage(bytes: UInt64(max(0, try rows.int8(0, 0))), files: UInt64(max(0, try rows.int8(0, 1))))
                let pending = Usage(bytes: UInt64(max(0, try rows.int8(0, 2))), files: UInt64(max(0, try rows.int8(0, 3))))
                guard decide(usage, pending) else { return false }
                try connection.execute("""
                    INSERT INTO ferry_pending (namespace, path, node, bytes) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (namespace, path) DO UPDATE SET node = excluded.node, bytes = excluded.bytes
                    """, [.text(namespace), .text(path), .text(node), .int8(size)])
                return true
            }
        }
    }

    public func releaseQuota(namespace: String, path: String, node: String) throws(IndexError) {
        try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                _ = try connection.execute("DELETE FROM ferry_pending WHERE namespace = $1 AND path = $2 AND node = $3",
                                           [.text(namespace), .text(path), .text(node)])
            }
        }
    }

    @discardableResult
    public func releaseQuotas(node: String) throws(IndexError) -> Int {
        let released = try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                try connection.execute("WITH gone AS (DELETE FROM ferry_pending WHERE node = $1 RETURNING 1) "
                                       + "SELECT count(*) FROM gone", [.text(node)]).int8(0, 0)
            }
        }
        return Int(clamping: released)
    }

    public func releaseAllQuotas() throws(IndexError) {
        try perform { () throws(PostgresFailure) in
            try pool.withConnection { connection throws(PostgresFailure) in
                _ = try connection.execute("DELETE FROM ferry_pending")
            }
        }
    }
}
