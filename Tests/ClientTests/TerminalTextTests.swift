// Text in terminal columns (issue #17, point 4): what `ferry upload` measures so that no line it writes to a terminal
// wraps — East Asian wide characters take two columns, combining marks none; paths are shortened in the middle
// ("dir/…/name.iso"); control characters in names are shown as "?"; lines fitted part by part.
import XCTest

@testable import FerryClient

final class TerminalTextTests: XCTestCase {
    func testColumnsCountWideCharactersTwiceAndCombiningMarksNever() {
        XCTAssertEqual(TerminalText.columns("big.iso"), 7)
        XCTAssertEqual(TerminalText.columns("東京.jpg"), 8, "two wide characters and four narrow ones")
        XCTAssertEqual(TerminalText.columns("한글"), 4)
        XCTAssertEqual(TerminalText.columns("ｆｕｌｌ"), 8, "fullwidth forms")
        XCTAssertEqual(TerminalText.columns("e\u{301}te\u{301}"), 3, "é as e and a combining acute: one column")
        XCTAssertEqual(TerminalText.columns("🎉"), 2)
        XCTAssertEqual(TerminalText.columns("👩\u{200D}💻"), 2, "a ZWJ sequence is one character, as wide as its widest")
        XCTAssertEqual(TerminalText.columns("…"), 1)
        XCTAssertEqual(TerminalText.columns(""), 0)
        XCTAssertNotEqual(TerminalText.columns("東京"), "東京".utf8.count, "columns are not bytes")
    }

    func testControlCharactersInNamesAreShownAsQuestionMarks() {
        XCTAssertEqual(TerminalText.printable("a\u{1B}[2Jb\nc\u{7F}d\u{9B}e"), "a?[2Jb?c?d?e")
        XCTAssertEqual(TerminalText.printable("plain 東京"), "plain 東京")
    }

    func testTruncationNeverSplitsACharacterNorExceedsTheWidth() {
        XCTAssertEqual(TerminalText.truncated("abcdef", to: 6), "abcdef")
        XCTAssertEqual(TerminalText.truncated("abcdef", to: 4), "abc…")
        XCTAssertEqual(TerminalText.truncated("東京東京", to: 4), "東…", "a wide character that does not fit is left out whole")
        XCTAssertEqual(TerminalText.truncated("abc", to: 0), "")
        for width in 0...10 {
            XCTAssertLessThanOrEqual(TerminalText.columns(TerminalText.truncated("東京の写真.jpg", to: width)), width)
        }
    }

    func testPathsAreShortenedInTheMiddleKeepingTheFirstDirectoryAndTheName() {
        let path = "photos/2024/summer/holiday/img_0001.jpg"
        XCTAssertEqual(TerminalText.shortenedPath(path, to: 60), path, "a path that fits is unchanged")
        XCTAssertEqual(TerminalText.shortenedPath(path, to: 30), "photos/…/holiday/img_0001.jpg")
        XCTAssertEqual(TerminalText.shortenedPath(path, to: 22), "photos/…/img_0001.jpg")
        XCTAssertEqual(TerminalText.shortenedPath(path, to: 14), "…/img_0001.jpg", "the directories go before the name")
        XCTAssertEqual(TerminalText.shortenedPath(path, to: 10), "…/img….jpg", "then the name keeps its start and end")
        XCTAssertEqual(TerminalText.shortenedPath("a_very_long_file_name.iso", to: 12), "a_ver…me.iso")
        XCTAssertEqual(TerminalText.shortenedPath("写真/東京/夏/とても長い名前の写真.jpg", to: 20), "…/とても長…写真.jpg")
        for width in 0...45 {
            let shortened = TerminalText.shortenedPath("写真/2024/東京/holiday/img_0001.jpg", to: width)
            XCTAssertLessThanOrEqual(TerminalText.columns(shortened), width, "\(shortened) at \(width)")
            XCTAssertEqual(shortened.isEmpty, width == 0)
        }
    }

    func testWrappingKeepsEveryLineWithinTheWidth() {
        let text = "the server could not be reached: connection refused (tried 127.0.0.1:7443, [::1]:7443)"
        let lines = TerminalText.wrapped(text, to: 30, indent: "  ")
        XCTAssertEqual(lines, ["the server could not be", "  reached: connection refused", "  (tried 127.0.0.1:7443,",
                               "  [::1]:7443)"])
        let long = TerminalText.wrapped("x " + String(repeating: "東", count: 25), to: 10, indent: "  ")
        XCTAssertEqual(long.first, "x")
        for line in long { XCTAssertLessThanOrEqual(TerminalText.columns(line), 10, line) }
        XCTAssertEqual(long.joined().filter { $0 == "東" }.count, 25, "a long word is cut into pieces, not lost")
        XCTAssertEqual(TerminalText.wrapped("anything", to: 0), [])
        XCTAssertEqual(TerminalText.wrapped("東", to: 1), [], "a character wider than the line is left out, not overflowing")
    }

    func testAFittedLineLeavesOutTheLeastImportantPartsThenShortensThePath() {
        let parts: [LinePart] = [
            .fixed("stored", 0), .path("photos/2024/summer/img_0001.jpg"), .fixed("4.2 MiB", 1), .fixed("1.3 s", 4),
            .fixed("3.2 MiB/s", 5), .fixed("sha256 3f2a9c0d1e4b", 3),
        ]
        XCTAssertEqual(FittedLine.fit(parts, width: nil),
                       "stored  photos/2024/summer/img_0001.jpg  4.2 MiB  1.3 s  3.2 MiB/s  sha256 3f2a9c0d1e4b")
        XCTAssertEqual(FittedLine.fit(parts, width: 90),
                       "stored  photos/2024/summer/img_0001.jpg  4.2 MiB  1.3 s  3.2 MiB/s  sha256 3f2a9c0d1e4b")
        XCTAssertEqual(FittedLine.fit(parts, width: 80),
                       "stored  photos/2024/summer/img_0001.jpg  4.2 MiB  1.3 s  sha256 3f2a9c0d1e4b",
                       "the rate goes first")
        XCTAssertEqual(FittedLine.fit(parts, width: 70), "stored  photos/2024/summer/img_0001.jpg  4.2 MiB  sha256 3f2a9c0d1e4b")
        XCTAssertEqual(FittedLine.fit(parts, width: 40), "stored  photos/…/img_0001.jpg  4.2 MiB",
                       "the digest goes before the path is cut below half the width")
        XCTAssertEqual(FittedLine.fit(parts, width: 22), "stored  …/img_0001.jpg")
        for width in 1...100 {
            XCTAssertLessThanOrEqual(TerminalText.columns(FittedLine.fit(parts, width: width)), width, "at \(width)")
        }
    }

    func testTwoPathsShareTheRoomOrTheLessImportantGoes() {
        let parts: [LinePart] = [.fixed("stored", 0), .path("/data/isos/ubuntu-24.04-desktop-amd64.iso"),
                                 .path("isos/ubuntu.iso", 2, lead: "-> "), .fixed("5.7 GiB", 1)]
        XCTAssertEqual(FittedLine.fit(parts, width: 70),
                       "stored  /…/ubuntu-24.04-desktop-amd64.iso  -> isos/ubuntu.iso  5.7 GiB",
                       "the shorter path whole, the longer one in the room left")
        XCTAssertEqual(FittedLine.fit(parts, width: 60), "stored  …/ubuntu-24.…-amd64.iso  -> isos/ubuntu.iso  5.7 GiB")
        XCTAssertEqual(FittedLine.fit(parts, width: 40), "stored  …/ubuntu-24.…-amd64.iso  5.7 GiB",
                       "rather than cut the paths below half the width in all, the stored name goes")
    }
}
