import XCTest
@testable import Client

final class ByteSizeTests: XCTestCase {
    func testGoodInputs() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0),
            ("1", 1),
            ("4096", 4096),
            ("0B", 0),
            ("10b", 10),
            ("1KB", 1_000),
            ("1kb", 1_000),
            ("500MB", 500_000_000),
            ("2GB", 2_000_000_000),
            ("3TB", 3_000_000_000_000),
            ("1KiB", 1_024),
            ("64MiB", 64 << 20),
            ("64mib", 64 << 20),
            ("64MIB", 64 << 20),
            ("1GiB", 1 << 30),
            ("2TiB", 2 << 40),
            ("64 MiB", 64 << 20),
            ("  1GiB\t", 1 << 30),
            ("007", 7),
            ("18446744073709551615", UInt64.max),
            ("18446744073709551615B", UInt64.max),
            ("16777215TiB", 16_777_215 << 40),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try ByteSize.parse(input), expected, input)
        }
    }

    func testBadInputs() {
        let cases: [(String, String)] = [
            ("", "empty"),
            ("   ", "empty"),
            ("-1", "negative"),
            ("-64MiB", "negative"),
            ("+5", "sign"),
            ("1.5GiB", "fractions"),
            ("1,000", "separators"),
            ("1_000", "separators"),
            ("MiB", "does not start with a number"),
            ("abc", "does not start with a number"),
            ("64M", "ambiguous"),
            ("1k", "ambiguous"),
            ("1G", "ambiguous"),
            ("64 XB", "unknown unit"),
            ("64MiBs", "unknown unit"),
            ("64 Mi B", "unknown unit"),
            ("1GiB1", "unknown unit"),
            ("0x10", "unknown unit"),
            ("١٢", "does not start with a number"),  // Arabic-Indic digits are not ASCII digits
            ("18446744073709551616", "too large"),
            ("99999999999999999999999", "too large"),
            ("16777216TiB", "too large"),
            ("18446744073709551615KB", "too large"),
            (String(repeating: "1", count: 65), "longer than"),
        ]
        for (input, fragment) in cases {
            do {
                let value = try ByteSize.parse(input)
                XCTFail("\(input.debugDescription) parsed as \(value)")
            } catch {
                XCTAssertTrue(error.description.contains(fragment), "\(input.debugDescription): \(error)")
                XCTAssertTrue(error.description.hasPrefix("invalid size \""), "\(error)")
            }
        }
    }

    func testUnitTableIsConsistent() {
        XCTAssertEqual(Set(ByteSize.units.map(\.name)).count, ByteSize.units.count, "each unit declared once")
        for unit in ByteSize.units {
            XCTAssertEqual(unit.name, unit.name.lowercased())
            XCTAssertEqual(try ByteSize.parse("1" + unit.name.uppercased()), unit.multiplier)
        }
    }
}
