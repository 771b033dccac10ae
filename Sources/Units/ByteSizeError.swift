// Why a byte size was refused: a kind for callers and tests, and a message for the operator that quotes the input.

public struct ByteSizeError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty
        case tooLong
        case negative
        /// A leading "+".
        case signed
        case fraction
        /// "1_000", "1,000", "1 000" (and the decimal comma of "1,5GiB").
        case digitSeparator
        /// No ASCII digit where the number should start ("MiB", "abc", "١٢").
        case noNumber
        /// The text after the number, as written.
        case unknownUnit(String)
        /// More than UInt64.max bytes.
        case overflow
    }

    /// The input as given, shortened to `ByteSize.maximumInputLength` characters and with control characters replaced,
    /// so that the message is safe to print.
    public let input: String
    public let reason: Reason

    public init(input: String, reason: Reason) {
        self.input = Self.printable(input)
        self.reason = reason
    }

    private static func printable(_ text: String) -> String {
        let scalars = text.unicodeScalars.prefix(ByteSize.maximumInputLength).map {
            $0.value < 0x20 || $0.value == 0x7F ? "?" : $0
        }
        return String(String.UnicodeScalarView(scalars))
    }

    public var description: String { "invalid size \"\(input)\": \(explanation)" }

    private var explanation: String {
        let units = ByteSize.acceptedUnitsText
        switch reason {
        case .empty:
            return "empty; write a whole number of bytes, optionally with a unit (\(units)), e.g. 4096, 64MiB or 1GB"
        case .tooLong:
            return "longer than \(ByteSize.maximumInputLength) characters"
        case .negative:
            return "negative sizes are not allowed; a size is a whole number of bytes or units"
        case .signed:
            return "write the whole number without a sign"
        case .fraction:
            return "fractions are not supported; write a whole number in a smaller unit (1536MiB, not 1.5GiB)"
        case .digitSeparator:
            return "digit separators are not supported; write a whole number without them (1000, not 1_000 or 1,000)"
        case .noNumber:
            return "does not start with a number; write a whole number of bytes, optionally with a unit (\(units))"
        case .unknownUnit(let unit):
            return "unknown unit \"\(Self.printable(unit))\"; use \(units)"
        case .overflow:
            return "too large (at most \(UInt64.max) bytes)"
        }
    }
}
