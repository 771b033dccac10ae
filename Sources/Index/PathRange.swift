// The rows a path prefix covers, as a range of the index's byte-ordered key: [prefix, bound). Paths compare by their
// UTF-8 bytes (SQLite's BINARY collation, PostgreSQL's "C"), and UTF-8 keeps code-point order, so every path that
// starts with `prefix` is below the prefix with its last scalar incremented, and no other path is in between. Exact
// for every prefix (no sentinel character a name could contain), and a plain range the primary key answers.
enum PathRange {
    /// The exclusive upper bound of the paths starting with `prefix`; nil when there is none (the empty prefix, or one
    /// made only of U+10FFFF).
    static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }  // surrogates are no scalars
            if let scalar = Unicode.Scalar(next) {
                scalars.append(scalar)
                var bound = ""
                bound.unicodeScalars.append(contentsOf: scalars)
                return bound
            }
        }
        return nil
    }
}
