// Byte counts written for people: "64MiB", "1GiB", "500MB", "4096".
//
// Grammar: DIGITS [SPACES] [UNIT], surrounded by optional spaces. Units are case-insensitive:
//   B                      1
//   KB  MB  GB  TB         10^3, 10^6, 10^9, 10^12   (SI, as disks and network rates are sold)
//   KiB MiB GiB TiB        2^10, 2^20, 2^30, 2^40    (IEC 80000-13)
// Deliberately refused, each with an error that says why: signs ("-1", "+5"), fractions ("1.5GiB": say 1536MiB),
// digit separators ("1_000", "1,000"), bare prefixes ("64M", "1k": SI or binary is exactly the ambiguity the explicit
// units remove), and anything whose value does not fit in a UInt64.
//
// Standalone on purpose (no Foundation, no project types): the daemon may take it as its own module later.

enum ByteSize {
    /// Every accepted unit, lowercased, with its multiplier. The one place units are declared.
    static let units: [(name: String, multiplier: UInt64)] = [
        ("b", 1),
        ("kb", 1_000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("tb", 1_000_000_000_000),
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
    ]

    /// The longest input looked at: long enough for UInt64.max in bytes plus a unit and padding.
    static let maximumInputLength = 64

    /// Parses `text` into a number of bytes; throws a `ByteSizeError` whose description quotes the input.
    static func parse(_ text: String) throws(ByteSizeError) -> UInt64 {
        guard text.utf8.count <= maximumInputLength else {
            throw ByteSizeError(text, "longer than \(maximumInputLength) characters")
        }
        var rest = Substring(text).drop(while: \.isSizeSpace)
        while let last = rest.last, last.isSizeSpace { rest = rest.dropLast() }
        guard !rest.isEmpty else { throw ByteSizeError(text, "empty; write a number such as 4096, 64MiB or 1GB") }

        if rest.first == "-" { throw ByteSizeError(text, "negative sizes are not allowed") }
        if rest.first == "+" { throw ByteSizeError(text, "write the number without a sign") }
        let digits = rest.prefix(while: \.isASCIIDigit)
        guard !digits.isEmpty else {
            throw ByteSizeError(text, "does not start with a number; write e.g. 64MiB")
        }
        let suffix = rest.dropFirst(digits.count)
        if let next = suffix.first, next == "." || next == "," || next == "_" {
            throw ByteSizeError(text, next == "."
                ? "fractions are not supported; use a smaller unit (1536MiB, not 1.5GiB)"
                : "digit separators are not supported")
        }

        var value: UInt64 = 0
        for digit in digits.utf8 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw ByteSizeError(text, "too large (at most \(UInt64.max) bytes)") }
            value = sum
        }

        let unitText = suffix.drop(while: \.isSizeSpace).lowercased()
        guard !unitText.isEmpty else { return value }
        guard let unit = units.first(where: { $0.name == unitText }) else {
            let hint: String
            if ["k", "m", "g", "t"].contains(unitText) {
                let upper = unitText.uppercased()
                hint = "\"\(upper)\" is ambiguous: write \(upper)iB (binary, 2^10 steps) or \(upper)B (decimal, 10^3 steps)"
            } else {
                hint = "unknown unit \"\(unitText)\"; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            }
            throw ByteSizeError(text, hint)
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit.multiplier)
        guard !overflow else { throw ByteSizeError(text, "too large (at most \(UInt64.max) bytes)") }
        return product
    }
}

struct ByteSizeError: Error, Equatable, CustomStringConvertible {
    /// The input, as given (shortened and with control characters replaced for display).
    let input: String
    let reason: String

    init(_ input: String, _ reason: String) {
        let scalars = input.unicodeScalars.prefix(ByteSize.maximumInputLength).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }
        self.input = String(String.UnicodeScalarView(scalars))
        self.reason = reason
    }

    var description: String { "invalid size \"\(input)\": \(reason)" }
}

extension Character {
    fileprivate var isSizeSpace: Bool { self == " " || self == "\t" }
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
