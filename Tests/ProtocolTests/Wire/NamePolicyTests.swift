// The Unicode policy for stored names and identities (NamePolicy): what passes, what is refused and why.
import XCTest
@testable import Protocol

final class NamePolicyTests: XCTestCase {
    func testOrdinaryNamesPass() {
        for name in ["report.pdf", "résumé", "été 2026.txt", "日本語のファイル", "Ünïcödé", "a b", "emoji-🚀", "alice@example.com"] {
            XCTAssertNil(NamePolicy.problem(in: name), name)
        }
    }

    func testDecomposedNamesAreNotNormalizedAndTheClientFormComposesThem() {
        let decomposed = "re\u{301}sume\u{301}"
        XCTAssertEqual(NamePolicy.problem(in: decomposed), .notNormalized)
        XCTAssertEqual(Array(NamePolicy.normalized(decomposed).unicodeScalars), Array("r\u{E9}sum\u{E9}".unicodeScalars))
        XCTAssertNil(NamePolicy.problem(in: NamePolicy.normalized(decomposed)))
    }

    func testInvisibleAndLookalikeCharactersAreRefused() {
        let cases: [(String, NamePolicy.Problem)] = [
            ("invoice\u{202E}fdp.exe", .invisible(0x202E)),   // right-to-left override
            ("a\u{2066}b", .invisible(0x2066)),               // left-to-right isolate
            ("al\u{200B}ice", .invisible(0x200B)),            // zero-width space
            ("\u{FEFF}bom", .invisible(0xFEFF)),
            ("soft\u{AD}hyphen", .invisible(0xAD)),
            ("filler\u{3164}", .invisible(0x3164)),
            ("no\u{A0}break", .unusualSpace(0xA0)),
            ("ideographic\u{3000}space", .unusualSpace(0x3000)),
            ("line\u{2028}break", .unusualSpace(0x2028)),
            ("a\u{FF0F}b", .lookalikeSeparator(0xFF0F)),      // fullwidth solidus
            ("a\u{2215}b", .lookalikeSeparator(0x2215)),      // division slash
            ("a\u{29F5}b", .lookalikeSeparator(0x29F5)),
            (" leading", .edgeSpace),
            ("trailing ", .edgeSpace),
        ]
        for (name, problem) in cases {
            XCTAssertEqual(NamePolicy.problem(in: name), problem, name.debugDescription)
        }
        XCTAssertEqual(NamePolicy.Problem.invisible(0x202E).description, "contains an invisible character (U+202E)")
    }
}
