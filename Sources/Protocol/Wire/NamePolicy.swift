// The Unicode policy for every name a person reads back — stored file and directory names and client identities
// (docs/PROTOCOL.md §8.8): one name, one rendering. Applied by both sides: the client normalises what it sends and
// refuses what cannot be fixed (before any byte goes out), the server refuses the rest (Store's NameRules for paths,
// the handshake's admission for identities).
//
//   normalisation  NFC (Unicode Standard Annex #15). The client converts; the server refuses a name that is not NFC,
//                  so "é" as one code point and as "e" + U+0301 can never be two stored names that look the same.
//   invisible      format characters (general category Cf: bidirectional controls U+202A–U+202E, U+2066–U+2069,
//                  U+200E/U+200F, U+061C; zero-width U+200B–U+200D, U+2060, U+FEFF; soft hyphen U+00AD; …) and the
//                  Hangul fillers that render as nothing (U+115F, U+1160, U+3164, U+FFA0): refused. They make a name
//                  display unlike its bytes ("invoice\u{202E}fdp.exe" shows as "invoiceexe.pdf").
//   spaces         any space other than U+0020 (no-break, ideographic, line and paragraph separators …), and a U+0020
//                  at the start or end of a component: refused ("report " and "report" would list the same).
//   separators     characters drawn like "/" or "\" (U+2044, U+2215, U+29F8, U+FF0F; U+2216, U+29F5, U+29F9, U+FE68,
//                  U+FF3C): refused, so "a∕b" cannot pass for a path.
//
// Control characters and the real separators are the caller's rules (NameRules); this file adds what makes two
// different names look the same. It is not a full confusables check (UTS #39): Latin "a" and Cyrillic "а" stay two
// names, as they are in every file system; the goal is that no name hides part of itself.
import Foundation

public enum NamePolicy {
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// Not in Unicode Normalization Form C.
        case notNormalized
        /// A format character or a blank filler.
        case invisible(UInt32)
        /// A space other than U+0020.
        case unusualSpace(UInt32)
        /// U+0020 at the start or the end.
        case edgeSpace
        /// Drawn like a slash or a backslash.
        case lookalikeSeparator(UInt32)

        public var description: String {
            switch self {
            case .notNormalized: "is not in Unicode normalization form C (NFC)"
            case .invisible(let scalar): "contains an invisible character (U+\(Self.hex(scalar)))"
            case .unusualSpace(let scalar): "contains a space character other than ' ' (U+\(Self.hex(scalar)))"
            case .edgeSpace: "starts or ends with a space"
            case .lookalikeSeparator(let scalar): "contains a character drawn like a path separator (U+\(Self.hex(scalar)))"
            }
        }

        private static func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
    }

    /// The NFC form of `name`: what the client sends for a local name. ASCII is its own NFC: most names never reach
    /// Foundation's normaliser, which costs microseconds a name (a tenth of a small file's CPU on each side).
    public static func normalized(_ name: String) -> String {
        isASCII(name) ? name : name.precomposedStringWithCanonicalMapping
    }

    /// What is wrong with one name (a path component or an identity), or nil.
    public static func problem(in name: String) -> Problem? {
        if name.unicodeScalars.first == " " || name.unicodeScalars.last == " " { return .edgeSpace }
        if isASCII(name) { return nil }  // no ASCII character is a problem here, and ASCII is NFC
        for scalar in name.unicodeScalars {
            if let problem = problem(with: scalar) { return problem }
        }
        // Compared scalar by scalar: Swift's String == already treats canonically equivalent strings as equal.
        if !normalized(name).unicodeScalars.elementsEqual(name.unicodeScalars) { return .notNormalized }
        return nil
    }

    private static func isASCII(_ name: String) -> Bool { name.utf8.allSatisfy { $0 < 0x80 } }

    private static func problem(with scalar: Unicode.Scalar) -> Problem? {
        if scalar.value < 0x80 { return nil }  // ASCII: the caller's rules cover controls and separators
        if lookalikeSeparators.contains(scalar.value) { return .lookalikeSeparator(scalar.value) }
        if blankFillers.contains(scalar.value) { return .invisible(scalar.value) }
        switch scalar.properties.generalCategory {
        case .format: return .invisible(scalar.value)
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: return .unusualSpace(scalar.value)
        default: return nil
        }
    }

    private static let lookalikeSeparators: Set<UInt32> = [
        0x2044, 0x2215, 0x29F8, 0xFF0F,          // fraction slash, division slash, big solidus, fullwidth solidus
        0x2216, 0x29F5, 0x29F9, 0xFE68, 0xFF3C,  // set minus, reverse solidus operator, big / small / fullwidth reverse
    ]
    /// Letters (category Lo) that render as nothing.
    private static let blankFillers: Set<UInt32> = [0x115F, 0x1160, 0x3164, 0xFFA0]
}
