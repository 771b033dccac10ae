// A check to run on a configuration file's text before TOMLKit parses it.
//
// toml++ 3.4, the C++ parser inside TOMLKit 0.6.0, aborts the process (TOML_ASSERT_ASSUME: an assert in our builds,
// undefined behaviour where NDEBUG is set) on two mistakes it should report:
//   - a table header whose first character is not one a key can start with — "[#x]", "[ =", "[" at the end of a
//     line, a non-ASCII letter: parse_table_header calls parse_key without the check every other caller makes;
//   - "}" where an array expects a value, after "[" or "," (blanks, newlines and comments between): parse_array calls
//     parse_value, which asserts that it is not at a value's end.
// A typo in ferryd.toml then killed `ferryd check-config`, and the running daemon on SIGHUP, instead of being reported
// (found by FuzzDaemonConfig and FuzzClientSettings, docs/FUZZING.md). This finds them first, where toml++ reads them:
// headers at the start of a line, arrays in values, both outside strings and comments.

public enum TOMLPreflight {
    /// The line and column (1-based) of the first table header or array toml++ cannot parse without aborting, or nil.
    public static func unparseableTableHeader(in text: String) -> (line: Int, column: Int)? {
        var scanner = Scanner(Array(text.utf8))
        return scanner.firstBadHeader()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0
        /// Open `[` of array values (a line starting with "[" inside one is a nested array, not a header).
        var arrayDepth = 0
        /// The last byte that was neither blank, newline nor comment (a string counts as its quote).
        var lastSignificant: UInt8 = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {  // toml++ skips a UTF-8 byte order mark
                index = 3
                lineStart = 3
            }
        }

        mutating func firstBadHeader() -> (line: Int, column: Int)? {
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\n"):
                    index += 1
                    line += 1
                    lineStart = index
                case UInt8(ascii: "#"):
                    skipToEndOfLine()
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    skipString(quote: byte)
                    lastSignificant = byte
                case UInt8(ascii: "["):
                    if arrayDepth == 0, onlyBlanksBeforeOnLine() {
                        if let column = badHeaderColumn() { return (line, column) }
                        skipToEndOfLine()  // a header: a key, "]" and at most a comment
                        lastSignificant = UInt8(ascii: "]")
                    } else {
                        arrayDepth += 1
                        lastSignificant = byte
                        index += 1
                    }
                case UInt8(ascii: "]"):
                    arrayDepth = max(0, arrayDepth - 1)
                    lastSignificant = byte
                    index += 1
                case UInt8(ascii: "}") where arrayDepth > 0
                    && (lastSignificant == UInt8(ascii: "[") || lastSignificant == UInt8(ascii: ",")):
                    return (line, index - lineStart + 1)
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    index += 1
                default:
                    lastSignificant = byte
                    index += 1
                }
            }
            return nil
        }

        /// At a header's "[": where toml++ would call parse_key, the byte must start a key ("]" and the end of the
        /// input are errors toml++ reports itself).
        private func badHeaderColumn() -> Int? {
            var next = index + 1
            skipBlanks(&next)
            if next < bytes.count, bytes[next] == UInt8(ascii: "[") {
                next += 1
                skipBlanks(&next)
            }
            guard next < bytes.count else { return nil }
            let byte = bytes[next]
            let startsKey = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\"")
                || byte == UInt8(ascii: "'") || byte == UInt8(ascii: "]")
            return startsKey ? nil : next - lineStart + 1
        }

        private func skipBlanks(_ position: inout Int) {
            while position < bytes.count, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") {
                position += 1
            }
        }

        private func onlyBlanksBeforeOnLine() -> Bool {
            bytes[lineStart..<index].allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        }

        private mutating func skipToEndOfLine() {
            while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
        }

        /// Past a basic ("…", """…""") or literal ('…', '''…''') string; the newlines of a multi-line one are counted.
        private mutating func skipString(quote: UInt8) {
            let multiline = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
            index += multiline ? 3 : 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") {  // a line-ending backslash
                        line += 1
                        lineStart = index + 2
                    }
                    index += 2  // an escape: the next byte cannot end the string
                    continue
                }
                if byte == UInt8(ascii: "\n") {
                    guard multiline else { return }  // an unterminated string: toml++ reports it
                    line += 1
                    lineStart = index + 1
                }
                if byte == quote {
                    if !multiline {
                        index += 1
                        return
                    }
                    if index + 2 < bytes.count, bytes[index + 1] == quote, bytes[index + 2] == quote {
                        index += 3
                        while index < bytes.count, bytes[index] == quote { index += 1 }  // """" ends with a quote in
                        return
                    }
                }
                index += 1
            }
        }
    }
}
