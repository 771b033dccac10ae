// What `ferryd reindex` and the metrics need of the SQLite index beside the everyday operations: which namespaces it
// knows, one namespace's rows replaced by what the tree holds (usage recomputed, in one transaction), and the total.
import Foundation
import GRDB

extension SQLiteIndex {
    public func namespaces() throws(IndexError) -> [String] {
        try read { db in
            try String.fetchAll(db, sql: """
                SELECT namespace FROM usage UNION SELECT DISTINCT namespace FROM files ORDER BY 1
                """)
        }
    }

    public func totalUsage() throws(IndexError) -> Usage {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(files), 0) AS files FROM usage")
            else { return Usage() }
            return Usage(bytes: UInt64(max(0, row["bytes"] as Int64? ?? 0)), files: UInt64(max(0, row["files"] as Int64? ?? 0)))
        }
    }

    public func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) {
        let total = try RowChecks.total(of: files, in: namespace)
        try write { db in
            try db.execute(sql: "DELETE FROM files WHERE namespace = ?", arguments: [namespace])
            let insert = try db.cachedStatement(sql: """
                INSERT INTO files (namespace, path, size, sha256, modified_ns, uploaded_ns, uploader)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for file in files {
                try insert.execute(arguments: [namespace, file.path, Int64(file.size), Data(file.sha256), file.modified,
                                               file.uploaded, file.uploader])
            }
            try db.execute(sql: "DELETE FROM usage WHERE namespace = ?", arguments: [namespace])
            if !files.isEmpty {
                try db.execute(sql: "INSERT INTO usage (namespace, bytes, files) VALUES (?, ?, ?)",
                               arguments: [namespace, total, files.count])
            }
        }
    }
}
