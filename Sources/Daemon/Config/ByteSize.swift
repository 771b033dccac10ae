// Byte sizes as operators write them: an integer number of bytes, or a string such as "64MiB", "1GiB", "500MB".
//
// The daemon's own small parser (the client has a similar one; sharing one is a later clean-up). Units follow IEC 80000-13:
// B, KB (or kB), MB, GB, TB are powers of 10; KiB, MiB, GiB, TiB are powers of 2. Units are case-sensitive on purpose
// ("mb" could be millibits, "Mb" megabits): a wrong case is refused with the list of units rather than guessed.
// Only whole numbers: "1.5GiB" is refused (write "1536MiB"), so the parsed value is exact and renders back unchanged.

enum ByteSize {
    /// Each unit and its multiplier; the text after the number must be one of these exactly.
    static let units: [(suffix: String, multiplier: UInt64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("kB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("B", 1),
    ]

    /// Why a byte-size string was refused; `description` completes "must be …, got …"-style messages.
    enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case noNumber(String)
        case unknownUnit(String)
        case overflow(String)

        var description: String {
            let accepted = "B, KB, MB, GB, TB (powers of 10) or KiB, MiB, GiB, TiB (powers of 2)"
            switch self {
            case .empty: return "the size is empty"
            case .noNumber(let text): return "\"\(text)\" does not start with a whole number of units (e.g. \"64MiB\")"
            case .unknownUnit(let unit): return "unknown unit \"\(unit)\"; use \(accepted)"
            case .overflow(let text): return "\"\(text)\" is too large"
            }
        }
    }

    /// Parses "<digits>[ ]<unit>" or plain "<digits>" (bytes). Underscores, signs and fractions are refused.
    static func parse(_ text: String) throws(ParseError) -> UInt64 {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw .empty }
        let digits = trimmed.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty else { throw .noNumber(text) }
        let unit = trimmed.dropFirst(digits.count).trimmingSpaces()
        let multiplier: UInt64
        if unit.isEmpty {
            multiplier = 1
        } else if let match = units.first(where: { $0.suffix == unit }) {
            multiplier = match.multiplier
        } else if let next = unit.first, next == "." || next == "," || (next.isASCII && next.isNumber) {
            throw .noNumber(text)  // "1.5GiB": the number did not end where the unit starts
        } else {
            throw .unknownUnit(String(unit))
        }
        guard let number = UInt64(digits) else { throw .overflow(text) }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw .overflow(text) }
        return product
    }

    /// The shortest exact rendering: the largest binary unit that divides the value ("1GiB"), else the largest decimal
    /// unit ("500MB"), else the plain number. `parse(format(n)) == n` for every n.
    static func format(_ value: UInt64) -> String {
        guard value != 0 else { return "0" }
        for (suffix, multiplier) in [("TiB", UInt64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
                                     ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)]
        where value % multiplier == 0 {
            return "\(value / multiplier)\(suffix)"
        }
        return "\(value)"
    }

    /// A human approximation for messages: "255.9 GiB".
    static func approximate(_ value: UInt64) -> String {
        let steps: [(String, Double)] = [("TiB", 0x1p40), ("GiB", 0x1p30), ("MiB", 0x1p20), ("KiB", 0x1p10)]
        for (suffix, size) in steps where Double(value) >= size {
            let scaled = (Double(value) / size * 10).rounded() / 10
            return "\(scaled) \(suffix)"
        }
        return "\(value) bytes"
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces and tabs (Foundation-free).
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
