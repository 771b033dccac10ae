// The one byte-size parser (Sources/Units/ByteSize.swift): what it accepts, what it refuses and why, and that the
// daemon's rendering of effective values parses back to the same number.
import XCTest
@testable import Units

final class ByteSizeTests: XCTestCase {
    func testGoodInputs() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0),
            ("1", 1),
            ("4096", 4096),
            ("007", 7),
            ("0B", 0),
            ("10b", 10),
            ("17B", 17),
            ("1KB", 1_000),
            ("1kB", 1_000),
            ("1kb", 1_000),
            ("500MB", 500_000_000),
            ("2GB", 2_000_000_000),
            ("3GB", 3_000_000_000),
            ("3TB", 3_000_000_000_000),
            ("5TB", 5_000_000_000_000),
            ("1KiB", 1_024),
            ("64MiB", 64 << 20),
            ("1GiB", 1 << 30),
            ("2TiB", 2 << 40),
            ("16777215TiB", 16_777_215 << 40),
            // Any case: in a byte field "mb" and "Mb" can only mean megabytes.
            ("64mib", 64 << 20),
            ("64MIB", 64 << 20),
            ("1mib", 1 << 20),
            ("1Mb", 1_000_000),
            // Bare letters are binary, as in rsync, rclone and curl.
            ("64M", 64 << 20),
            ("1k", 1 << 10),
            ("1K", 1 << 10),
            ("1G", 1 << 30),
            ("2t", 2 << 40),
            ("8 m", 8 << 20),
            // Spaces and tabs around the number and between number and unit.
            ("64 MiB", 64 << 20),
            ("  1GiB\t", 1 << 30),
            (" 8 MiB ", 8 << 20),
            ("\t1\tGiB", 1 << 30),
            ("18446744073709551615", UInt64.max),
            ("18446744073709551615B", UInt64.max),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try ByteSize.parse(input), expected, input)
        }
    }

    func testShortFormsAreBinaryAndOnlyTheBSpellingIsDecimal() throws {
        for (short, binary, decimal) in [("K", "KiB", "KB"), ("M", "MiB", "MB"), ("G", "GiB", "GB"), ("T", "TiB", "TB")] {
            XCTAssertEqual(try ByteSize.parse("3" + short), try ByteSize.parse("3" + binary), short)
            XCTAssertNotEqual(try ByteSize.parse("3" + short), try ByteSize.parse("3" + decimal), short)
        }
    }

    func testBadInputs() {
        let cases: [(String, ByteSizeError.Reason, String)] = [
            ("", .empty, "empty"),
            ("   ", .empty, "empty"),
            ("-1", .negative, "negative"),
            ("-64MiB", .negative, "negative"),
            ("+5", .signed, "sign"),
            ("+1", .signed, "sign"),
            ("1.5GiB", .fraction, "fractions"),
            ("1,5GiB", .digitSeparator, "separators"),
            ("1,000", .digitSeparator, "separators"),
            ("1_000", .digitSeparator, "separators"),
            ("1 2", .digitSeparator, "separators"),
            ("MiB", .noNumber, "does not start with a number"),
            ("abc", .noNumber, "does not start with a number"),
            ("١٢", .noNumber, "does not start with a number"),  // Arabic-Indic digits are not ASCII digits
            ("١٢MiB", .noNumber, "does not start with a number"),
            ("64 XB", .unknownUnit("XB"), "unknown unit \"XB\""),
            ("64MiBs", .unknownUnit("MiBs"), "unknown unit"),
            ("1 GiBs", .unknownUnit("GiBs"), "unknown unit \"GiBs\""),
            ("64 Mi B", .unknownUnit("Mi B"), "unknown unit"),
            ("1GiB1", .unknownUnit("GiB1"), "unknown unit"),
            ("0x10", .unknownUnit("x10"), "unknown unit \"x10\""),
            ("1PiB", .unknownUnit("PiB"), "unknown unit \"PiB\""),
            ("1P", .unknownUnit("P"), "unknown unit"),
            ("1Mi", .unknownUnit("Mi"), "unknown unit"),
            ("1\u{212A}B", .unknownUnit("\u{212A}B"), "unknown unit"),  // KELVIN SIGN lowercases to "k": not a unit
            ("1\nGiB", .unknownUnit("\nGiB"), "unknown unit \"?GiB\""),  // control characters are not echoed
            ("18446744073709551616", .overflow, "too large"),
            ("99999999999999999999999", .overflow, "too large"),
            ("16777216TiB", .overflow, "too large"),
            ("18446744073709551615KB", .overflow, "too large"),
            (String(repeating: "1", count: 65), .tooLong, "longer than 64"),
        ]
        for (input, reason, fragment) in cases {
            do {
                let value = try ByteSize.parse(input)
                XCTFail("\(input.debugDescription) parsed as \(value)")
            } catch {
                XCTAssertEqual(error.reason, reason, input.debugDescription)
                XCTAssertTrue(error.description.contains(fragment), "\(input.debugDescription): \(error)")
                XCTAssertTrue(error.description.hasPrefix("invalid size \""), "\(error)")
            }
        }
    }

    /// Every message quotes the input; the ones about the number or the unit list the accepted units.
    func testErrorsQuoteTheInputAndListTheUnits() {
        for input in ["1PiB", "MiB", ""] {
            XCTAssertThrowsError(try ByteSize.parse(input)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("\"\(input)\""), text)
                XCTAssertTrue(text.contains("K, M, G, T or KiB, MiB, GiB, TiB (powers of 2)"), text)
                XCTAssertTrue(text.contains("KB, MB, GB, TB (powers of 10)"), text)
            }
        }
        XCTAssertTrue(ByteSizeError(input: "1mib", reason: .unknownUnit("mib")).description.contains("KiB, MiB, GiB, TiB"))
    }

    func testUnitTableIsConsistent() {
        let folded = ByteSize.units.map { $0.name.lowercased() }
        XCTAssertEqual(Set(folded).count, ByteSize.units.count, "each unit declared once, whatever its case")
        for unit in ByteSize.units {
            for spelling in [unit.name, unit.name.uppercased(), unit.name.lowercased()] {
                XCTAssertEqual(try ByteSize.parse("1" + spelling), unit.multiplier, spelling)
            }
        }
    }

    func testFormatIsExactAndShortest() throws {
        XCTAssertEqual(ByteSize.format(0), "0")
        XCTAssertEqual(ByteSize.format(1 << 30), "1GiB")
        XCTAssertEqual(ByteSize.format(1 << 40), "1TiB")
        XCTAssertEqual(ByteSize.format(1536 << 20), "1536MiB")
        XCTAssertEqual(ByteSize.format(500_000_000), "500MB")
        XCTAssertEqual(ByteSize.format(1024_000), "1000KiB")
        XCTAssertEqual(ByteSize.format(1023), "1023")
        var generator = SystemRandomNumberGenerator()
        let samples: [UInt64] = [1, 1000, 1024, 4096, 999_999, .max, UInt64(Int64.max)] + (0..<200).map { _ in
            UInt64.random(in: 0...(1 << 50), using: &generator) << UInt64.random(in: 0...12, using: &generator)
        }
        for value in samples {
            XCTAssertEqual(try ByteSize.parse(ByteSize.format(value)), value, "\(value)")
        }
    }

    func testApproximate() {
        XCTAssertEqual(ByteSize.approximate(12), "12 bytes")
        XCTAssertEqual(ByteSize.approximate(1536), "1.5 KiB")
        XCTAssertEqual(ByteSize.approximate(274_747_881_472), "255.9 GiB")
        XCTAssertEqual(ByteSize.approximate(1 << 40), "1.0 TiB")
    }
}
