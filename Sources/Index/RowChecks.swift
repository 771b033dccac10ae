// What every RowStore refuses before writing, the same for SQLite and PostgreSQL: both hold sizes as signed 64-bit
// integers (a size past 2^63 - 1, which no file system holds, is refused rather than wrapped) and SHA-256 digests of
// 32 bytes; and the one range read a page of files is made of.
enum RowChecks {
    /// `size` as the row stores it.
    static func stored(_ size: UInt64) throws(IndexError) -> Int64 {
        guard let value = Int64(exactly: size) else { throw IndexError(.unrepresentable, "a size of \(size) bytes") }
        return value
    }

    /// A file's row can be written: its size fits and its digest is a SHA-256.
    static func check(_ file: IndexedFile) throws(IndexError) {
        _ = try stored(file.size)
        guard file.sha256.count == 32 else { throw IndexError(.unrepresentable, "a SHA-256 of \(file.sha256.count) bytes") }
    }

    /// The bytes `files` hold, all of `namespace` and each one writable: what replacing a namespace needs first.
    static func total(of files: [IndexedFile], in namespace: String) throws(IndexError) -> Int64 {
        var bytes: Int64 = 0
        for file in files {
            guard file.namespace == namespace else {
                throw IndexError(.unrepresentable, "a file of namespace \(file.namespace) given for \(namespace)")
            }
            try check(file)
            let (sum, overflow) = bytes.addingReportingOverflow(try stored(file.size))
            guard !overflow else { throw IndexError(.unrepresentable, "a namespace of more than 2^63 bytes") }
            bytes = sum
        }
        return bytes
    }
}

extension RowStore {
    /// A page of `files`: one range read with one lower bound, the greater of the prefix and the cursor. Given both
    /// (`path >= ? AND path > ?`), SQLite ranges over the index from one of them and filters the other row by row, so
    /// that every page of a listing re-read the rows of all the pages before it.
    public func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] {
        let upper = PathRange.upperBound(ofPrefix: prefix)
        // On bytes, as the index orders keys: `==` on Strings is canonical equivalence, which two different keys
        // may share (a cursor in another normal form must not move the lower bound below the prefix).
        if let cursor, prefix.utf8.lexicographicallyPrecedes(cursor.utf8) || prefix.utf8.elementsEqual(cursor.utf8) {
            return try scan(namespace: namespace, from: cursor, inclusive: false, below: upper, limit: limit)
        }
        return try scan(namespace: namespace, from: prefix, inclusive: true, below: upper, limit: limit)
    }
}
