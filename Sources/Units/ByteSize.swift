// Byte counts written for people: "4096", "64MiB", "64M", "500MB", "1 GiB". The one parser behind every size Ferry
// reads: ferryd.toml, client.toml and every command-line option of ferryd and ferry.
//
// Grammar: DIGITS [SPACES] [UNIT], surrounded by optional spaces or tabs. Units, in any case ("mib", "MIB", "MiB"):
//   B                      1
//   K   M   G   T          2^10, 2^20, 2^30, 2^40     (binary, as rsync, rclone, curl, dd, systemd and nginx read them)
//   KiB MiB GiB TiB        2^10, 2^20, 2^30, 2^40     (IEC 80000-13)
//   KB  MB  GB  TB         10^3, 10^6, 10^9, 10^12    (SI, as disks and network rates are sold)
//
// Why any case: in a field that holds bytes, "mb" can only mean megabytes (not millibits, not megabits), every tool an
// operator is likely to copy a size from accepts any case (rsync says so explicitly), and refusing "64mib" while
// accepting "64MiB" only makes people retype. Why bare letters are binary: rsync, rclone and curl all accept "64M" and
// all read it as 64 × 2^20 (rsync: "K" = 1024, "KB" = 1000, "KiB" = 1024; rclone: binary; curl: binary), and so do
// dd, sort -S, systemd's MemoryMax= and nginx; refusing the form they all share would only send operators to the docs.
// An SI size needs its "B" ("64MB"), which is where the tools above agree too.
//
// Refused, each with an error that quotes the input: signs ("-1", "+5"), fractions ("1.5GiB": write 1536MiB, so the
// value is exact and renders back unchanged), digit separators ("1_000", "1,000", "1 000"), non-ASCII digits and
// letters, other units ("PiB", "Mi"), input longer than `maximumInputLength`, and values that do not fit in a UInt64.
// Foundation-free on purpose: the daemon, the client and their tests share it without pulling anything in.

public enum ByteSize {
    /// Every accepted unit with its multiplier, in its canonical spelling; matched case-insensitively (ASCII only).
    public static let units: [(name: String, multiplier: UInt64)] = [
        ("B", 1),
        ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40),
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
    ]

    /// The units as error messages list them.
    static let acceptedUnitsText =
        "B; K, M, G, T or KiB, MiB, GiB, TiB (powers of 2); KB, MB, GB, TB (powers of 10); in any case"

    /// The longest input looked at: long enough for UInt64.max in bytes, a unit and some padding.
    public static let maximumInputLength = 64

    /// Parses `text` into a number of bytes; throws a `ByteSizeError` whose description quotes the input.
    public static func parse(_ text: String) throws(ByteSizeError) -> UInt64 {
        func refuse(_ reason: ByteSizeError.Reason) -> ByteSizeError { ByteSizeError(input: text, reason: reason) }
        guard text.utf8.count <= maximumInputLength else { throw refuse(.tooLong) }
        let trimmed = Substring(text).trimmingSizeSpaces()
        guard let first = trimmed.first else { throw refuse(.empty) }
        if first == "-" { throw refuse(.negative) }
        if first == "+" { throw refuse(.signed) }

        let digits = trimmed.prefix(while: \.isASCIIDigit)
        guard !digits.isEmpty else { throw refuse(.noNumber) }
        let afterDigits = trimmed.dropFirst(digits.count)
        if let next = afterDigits.first, next == "." { throw refuse(.fraction) }
        if let next = afterDigits.first, next == "," || next == "_" { throw refuse(.digitSeparator) }
        let unitText = afterDigits.trimmingSizeSpaces()
        if let next = unitText.first, next.isASCIIDigit { throw refuse(.digitSeparator) }  // "1 000"

        var value: UInt64 = 0
        for digit in digits.utf8 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw refuse(.overflow) }
            value = sum
        }
        guard !unitText.isEmpty else { return value }
        guard let multiplier = multiplier(of: unitText) else { throw refuse(.unknownUnit(String(unitText))) }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw refuse(.overflow) }
        return product
    }

    /// The multiplier of `unit` compared case-insensitively in ASCII only, so that no Unicode case mapping (the Kelvin
    /// sign lowercases to "k") lets a look-alike through.
    private static func multiplier(of unit: Substring) -> UInt64? {
        guard unit.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        let folded = asciiLowercased(unit)
        return units.first { asciiLowercased($0.name) == folded }?.multiplier
    }

    private static func asciiLowercased<S: StringProtocol>(_ text: S) -> [UInt8] {
        text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 0x20 : $0 }
    }

    /// The shortest exact rendering: the largest binary unit that divides the value ("1GiB"), else the largest decimal
    /// unit ("500MB"), else the plain number. Always in the explicit spellings, never "1G". `parse(format(n)) == n`.
    public static func format(_ value: UInt64) -> String {
        guard value != 0 else { return "0" }
        for (suffix, multiplier) in [("TiB", UInt64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
                                     ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)]
        where value % multiplier == 0 {
            return "\(value / multiplier)\(suffix)"
        }
        return "\(value)"
    }

    /// A human approximation for messages: "255.9 GiB".
    public static func approximate(_ value: UInt64) -> String {
        let steps: [(String, Double)] = [("TiB", 0x1p40), ("GiB", 0x1p30), ("MiB", 0x1p20), ("KiB", 0x1p10)]
        for (suffix, size) in steps where Double(value) >= size {
            let scaled = (Double(value) / size * 10).rounded() / 10
            return "\(scaled) \(suffix)"
        }
        return "\(value) bytes"
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSizeSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
