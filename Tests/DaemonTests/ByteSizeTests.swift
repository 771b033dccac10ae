import XCTest

@testable import Daemon

final class ByteSizeTests: XCTestCase {
    func testParse() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0), ("1", 1), ("17B", 17), ("1KB", 1000), ("1kB", 1000), ("1KiB", 1024), ("64MiB", 64 << 20),
            ("500MB", 500_000_000), ("1GiB", 1 << 30), ("3GB", 3_000_000_000), ("2TiB", 2 << 40), ("5TB", 5_000_000_000_000),
            (" 8 MiB ", 8 << 20), ("\t1\tGiB", 1 << 30), ("18446744073709551615", .max), ("16777215TiB", 16_777_215 << 40),
        ]
        for (text, bytes) in cases {
            XCTAssertEqual(try ByteSize.parse(text), bytes, text)
        }
    }

    func testRefusals() {
        let cases: [(String, ByteSize.ParseError)] = [
            ("", .empty), ("   ", .empty), ("MiB", .noNumber("MiB")), ("-1", .noNumber("-1")), ("+1", .noNumber("+1")),
            ("1.5GiB", .noNumber("1.5GiB")), ("1,5GiB", .noNumber("1,5GiB")), ("1 2", .noNumber("1 2")),
            ("1_000", .unknownUnit("_000")), ("1mib", .unknownUnit("mib")), ("1Mb", .unknownUnit("Mb")),
            ("1PiB", .unknownUnit("PiB")), ("1 GiBs", .unknownUnit("GiBs")), ("0x10", .unknownUnit("x10")),
            ("18446744073709551616", .overflow("18446744073709551616")), ("16777216TiB", .overflow("16777216TiB")),
            ("١٢MiB", .noNumber("١٢MiB")),  // non-ASCII digits
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try ByteSize.parse(text), text) { error in
                XCTAssertEqual(error as? ByteSize.ParseError, expected, text)
            }
        }
        XCTAssertTrue(ByteSize.ParseError.unknownUnit("mib").description.contains("KiB, MiB, GiB, TiB"))
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
