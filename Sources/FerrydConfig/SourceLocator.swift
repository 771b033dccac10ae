// Finds the line of a section or key in the configuration text, for error messages.
//
// TOMLKit 0.6.0 exposes no source positions for parsed values (toml++ has them, the Swift wrapper drops them), so this
// scans the text. It understands the forms a ferryd config uses: `[section]` headers, `key = …` under a header, and
// dotted keys `section.key = …` at the top level or `section = { key = … }` on one line. It is best effort: when it
// cannot tell, messages simply carry no line. It never decides validity; the parsed table does.

struct SourceLocator {
    private struct Line {
        let number: Int
        /// The table header in force ("" at the top level).
        let table: String
        /// The key path assigned on this line, relative to `table` (nil for headers, comments, continuation lines).
        let key: [String]?
        let text: Substring
    }

    private let lines: [Line]

    init(_ text: String) {
        var result: [Line] = []
        var table = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingSpaces()
            if trimmed.hasPrefix("[") {
                let header = trimmed.hasPrefix("[[") ? trimmed.dropFirst(2) : trimmed.dropFirst()
                if let close = header.firstIndex(of: "]") {
                    table = Self.keyPath(header[..<close]).joined(separator: ".")
                }
                result.append(Line(number: index + 1, table: table, key: nil, text: raw))
            } else if let equals = trimmed.firstIndex(of: "="), Self.looksLikeKey(trimmed[..<equals]) {
                result.append(Line(number: index + 1, table: table, key: Self.keyPath(trimmed[..<equals]), text: raw))
            } else {
                result.append(Line(number: index + 1, table: table, key: nil, text: raw))
            }
        }
        lines = result
    }

    /// The line of `[section]` (or of the first key under it, for dotted/inline forms).
    func line(section: String) -> Int? {
        lines.first { $0.key == nil && $0.table == section && $0.text.trimmingSpaces().hasPrefix("[") }?.number
            ?? lines.first { $0.table.isEmpty && $0.key?.first == section }?.number
    }

    /// The line where `section.key` is assigned.
    func line(section: String, key: String) -> Int? {
        for line in lines {
            if line.key == nil, line.table == "\(section).\(key)", line.text.trimmingSpaces().hasPrefix("[") {
                return line.number  // a [section.key] sub-table header
            }
            guard let path = line.key else { continue }
            if line.table == section, path == [key] { return line.number }
            if line.table.isEmpty, path == [section, key] { return line.number }
            if line.table.isEmpty, path == [section], Self.inlineTable(line.text, contains: key) { return line.number }
        }
        return nil
    }

    /// "a . b" / "\"a\".b" → ["a", "b"]: dotted keys with optional quotes around parts (no dots inside quotes).
    private static func keyPath(_ text: Substring) -> [String] {
        text.split(separator: ".").map { part in
            var name = part.trimmingSpaces()
            if name.count >= 2, let first = name.first, first == "\"" || first == "'", name.last == first {
                name = String(name.dropFirst().dropLast())
            }
            return name
        }
    }

    /// Bare or quoted key characters only: rules out comments and "a=b" inside multi-line strings and arrays.
    private static func looksLikeKey(_ text: Substring) -> Bool {
        !text.isEmpty && !text.hasPrefix("#")
            && text.allSatisfy { $0.isLetter || $0.isNumber || "_-. \t\"'".contains($0) }
    }

    private static func inlineTable(_ text: Substring, contains key: String) -> Bool {
        guard let open = text.firstIndex(of: "{") else { return false }
        let inside = text[text.index(after: open)...]
        return inside.split(separator: ",").contains { entry in
            guard let equals = entry.firstIndex(of: "=") else { return false }
            return entry[..<equals].trimmingSpaces() == key
        }
    }
}
