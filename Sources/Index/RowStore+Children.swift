// A directory's children from the index, which holds files only: each file directly in the directory, and each
// subdirectory once — the distinct next components of the paths below it — in byte order of their keys (a file's
// path; a subdirectory's path and "/", so "a-b", "a.txt", "a/" come in that order, as their files do). Paged: the
// cursor is the last child's key. Made of range reads (RowStore.scan): files come a batch at a time, and each
// subdirectory costs one seek past its whole subtree, however many files it holds.
//
//   directory "" (the namespace's top) or "dir/sub/" ─► scan [lower, bound of the directory)
//     row "dir/sub/f"      → file child
//     row "dir/sub/d/…"    → directory child "dir/sub/d"; next scan from the bound of "dir/sub/d/"
public enum IndexChild: Equatable, Sendable {
    case file(IndexedFile)
    /// A subdirectory: its path relative to the namespace, without a trailing "/".
    case directory(String)

    /// Where the next page starts after this child: a file's path, a directory's path and "/".
    public var cursor: String {
        switch self {
        case .file(let file): file.path
        case .directory(let path): path + "/"
        }
    }
}

extension RowStore {
    /// The children of `directory` ("" or a path ending in "/") after `cursor` (a child's `cursor`; nil: from the
    /// first), at most `limit` (at most `IndexPaging.maximumPage`).
    public func children(namespace: String, directory: String, after cursor: String?, limit: Int) throws(IndexError)
        -> [IndexChild] {
        guard directory.isEmpty || directory.utf8.last == UInt8(ascii: "/") else {
            throw IndexError(.unrepresentable, "a directory to list must be \"\" or end with \"/\", not \"\(directory)\"")
        }
        let limit = max(0, min(limit, IndexPaging.maximumPage))
        let upper = PathRange.upperBound(ofPrefix: directory)
        var lower = directory, inclusive = true
        if let cursor {
            // Bytes, as the index orders keys (not Swift's canonical equivalence, which a cursor in another normal
            // form would pass while its bytes lie outside the directory's range).
            guard cursor.utf8.starts(with: directory.utf8) else {
                throw IndexError(.unrepresentable, "the cursor \"\(cursor)\" is not inside \"\(directory)\"")
            }
            if cursor.utf8.last == UInt8(ascii: "/") {
                guard let past = PathRange.upperBound(ofPrefix: cursor) else { return [] }
                lower = past
            } else {
                lower = cursor
                inclusive = false
            }
        }
        let depth = directory.unicodeScalars.count
        var children: [IndexChild] = []
        scanning: while children.count < limit {
            let wanted = limit - children.count
            let batch = try scan(namespace: namespace, from: lower, inclusive: inclusive, below: upper, limit: wanted)
            for row in batch {
                let rest = row.path.unicodeScalars.dropFirst(depth)
                guard let slash = rest.firstIndex(of: "/") else {
                    children.append(.file(row))
                    continue
                }
                var subdirectory = directory
                subdirectory.unicodeScalars.append(contentsOf: rest[rest.startIndex..<slash])
                children.append(.directory(subdirectory))
                // Past the subdirectory's whole subtree, whatever it holds.
                guard children.count < limit, let past = PathRange.upperBound(ofPrefix: subdirectory + "/") else { break scanning }
                lower = past
                inclusive = true
                continue scanning
            }
            guard batch.count == wanted, let last = batch.last else { break }
            lower = last.path
            inclusive = false
        }
        return children
    }
}
