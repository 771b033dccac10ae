// JSON string literals and numbers written by hand for the reports (`ferry upload --json`, `ferry loadtest --json`):
// a JSONEncoder per value, or per report of 100,000 files, cost more than the upload of a small file (45 µs a file,
// and 340 MB of peak RSS for the document of 100,000 files).
//
// Strings as RFC 8259 §7 requires and as Foundation's encoder writes them with .withoutEscapingSlashes: '"' and '\'
// escaped, the control characters below U+0020 as \b \f \n \r \t or \u00XX, everything else (slashes, non-ASCII) as
// it is, in UTF-8.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    static func appendQuoted(_ text: String, to out: inout String) {
        out.append("\"")
        // Most strings need no escape: appended whole.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            out.append(text)
            out.append("\"")
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}
