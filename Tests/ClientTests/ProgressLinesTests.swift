// What the progress display of `ferry upload` shows per file and in all (issue #17, point 4): a file is never at
// 100 % before the server's Committed — it shows "committing" once its bytes and Close are written — and no line is
// wider than the terminal, nor are there more lines than it has rows.
import XCTest

@testable import FerryClient

final class ProgressLinesTests: XCTestCase {
    private let mib: UInt64 = 1 << 20

    func testTheStateShownFollowsWhatTheClientKnows() {
        func state(_ stage: FileInFlight.Stage, sealed: UInt64 = 0, accepted: UInt64 = 0, unwritten: UInt64 = 0,
                   cut: Bool = false) -> FileState {
            FileState(stage: stage, sealed: sealed, accepted: accepted, unwritten: unwritten, cut: cut)
        }
        XCTAssertEqual(state(.awaitingAccept), .opening)
        XCTAssertEqual(state(.opening), .opening)
        XCTAssertEqual(state(.opening, sealed: 8 * mib, accepted: 8 * mib), .hashing, "the resumed prefix is hashed")
        XCTAssertEqual(state(.askingStored), .hashing)
        // Sealed bytes still queued on the socket are not counted as sent...
        XCTAssertEqual(state(.sending, sealed: 10 * mib, unwritten: 4 * mib), .sending(bytes: 6 * mib))
        // ...but what the server held before this attempt is.
        XCTAssertEqual(state(.sending, sealed: 9 * mib, accepted: 8 * mib, unwritten: 4 * mib), .sending(bytes: 8 * mib))
        XCTAssertEqual(state(.checkingSource, sealed: 10 * mib), .sending(bytes: 10 * mib))
        // Close sent: still sending while it and the last Data are queued, then committing until Committed.
        XCTAssertEqual(state(.closed, sealed: 10 * mib, unwritten: mib), .sending(bytes: 9 * mib))
        XCTAssertEqual(state(.closed, sealed: 10 * mib), .committing)
        XCTAssertEqual(state(.sending, sealed: 3 * mib, unwritten: mib, cut: true), .stopping(bytes: 2 * mib))
    }

    func testNoFileIsAtOneHundredPercentBeforeCommitted() {
        let size = 10 * mib
        for state in [FileState.sending(bytes: size), .sending(bytes: size + 1), .committing, .stopping(bytes: size)] {
            XCTAssertLessThan(state.fraction(size: size), 1, "\(state)")
            let line = ProgressLines.fileLine(.init(path: "big.iso", size: size, state: state), width: 100)
            XCTAssertFalse(line.contains("100%"), line)
        }
        let committing = ProgressLines.fileLine(.init(path: "big.iso", size: size, state: .committing), width: 100)
        XCTAssertTrue(committing.contains("committing"), committing)
        let sent = ProgressLines.fileLine(.init(path: "big.iso", size: size, state: .sending(bytes: size)), width: 100)
        XCTAssertTrue(sent.contains(" 99%"), sent)
        XCTAssertEqual(FileState.committing.fraction(size: 0), FileState.nearlyDone, "an empty file too")
        XCTAssertEqual(FileState.opening.fraction(size: 0), 0)
    }

    func testAFileLineAtEachWidth() {
        let row = ProgressSnapshot.Row(path: "photos/2024/summer/img_0001.jpg", size: 4 * mib, state: .sending(bytes: mib))
        XCTAssertEqual(ProgressLines.fileLine(row, width: 99),
                       "[#####---------------]   25%  1.0/4.0 MiB  photos/2024/summer/img_0001.jpg")
        XCTAssertEqual(ProgressLines.fileLine(row, width: 41), " 25%  1.0/4.0 MiB  photos/…/img_0001.jpg",
                       "the bar goes first, then the path is shortened in the middle")
        XCTAssertEqual(ProgressLines.fileLine(row, width: 24), " 25%  …/img_0001.jpg")
    }

    func testEveryLineFitsAndTheLinesFitTheRows() {
        let rows = (0..<8).map {
            ProgressSnapshot.Row(path: "写真/2024/summer/holiday/img_000\($0)_with_a_long_name.jpg", size: 300 * mib,
                                 state: [.opening, .hashing, .sending(bytes: 120 * mib), .committing][$0 % 4])
        }
        let snapshot = ProgressSnapshot(rows: rows, finishedBytes: 900 * mib, totalBytes: 4000 * mib, filesFinished: 3,
                                        filesFailed: 1, fileCount: 11, elapsedSeconds: 12.5)
        for width in 1...160 {
            for line in ProgressLines.lines(snapshot, width: width, rows: 40) {
                XCTAssertLessThanOrEqual(TerminalText.columns(line), width, "at \(width): \(line)")
            }
        }
        let short = ProgressLines.lines(snapshot, width: 100, rows: 5)
        XCTAssertEqual(short.count, 4, "three file lines, the total, and a row for the cursor")
        XCTAssertTrue(short.last?.contains("(+5 in flight)") == true, short.last ?? "")
        XCTAssertTrue(short.last?.contains("files 3/11, 1 failed") == true, short.last ?? "")
        XCTAssertEqual(ProgressLines.lines(snapshot, width: 100, rows: nil).count, 9)
        XCTAssertEqual(ProgressLines.lines(snapshot, width: 100, rows: 1).count, 1, "only the total on one row")
    }

    func testTheTotalReachesOneHundredPercentOnlyWhenEveryFileIsOverAndWhole() {
        func total(moved: UInt64, finished: Int) -> String {
            ProgressLines.totalLine(ProgressSnapshot(rows: [], finishedBytes: moved, totalBytes: 8 * mib,
                                                     filesFinished: finished, filesFailed: 0, fileCount: 2,
                                                     elapsedSeconds: 2), hidden: 0, width: 100)
        }
        XCTAssertTrue(total(moved: 8 * mib, finished: 1).contains(" 99%"))
        XCTAssertTrue(total(moved: 8 * mib, finished: 2).contains("100%"))
        XCTAssertTrue(total(moved: 4 * mib, finished: 2).contains(" 50%"), "an interrupted run is not 100 %")
        XCTAssertEqual(total(moved: 4 * mib, finished: 1),
                       "[##########----------]   50%  4.0/8.0 MiB  2.0 MiB/s  ETA 0:02  files 1/2")
    }

    func testFigures() {
        XCTAssertEqual(Figures.bytes(512), "512 B")
        XCTAssertEqual(Figures.bytes(1536), "1.5 KiB")
        XCTAssertEqual(Figures.bytes(5 << 30), "5.0 GiB")
        XCTAssertEqual(Figures.bytes(UInt64.max), "16.0 EiB")
        XCTAssertEqual(Figures.bytes(1 << 30, of: 4 << 30), "1.0/4.0 GiB")
        XCTAssertEqual(Figures.bytes(512 << 10, of: 4 << 30), "512.0 KiB/4.0 GiB")
        XCTAssertEqual(Figures.rate(3 << 20, seconds: 2), "1.5 MiB/s")
        XCTAssertEqual(Figures.rate(3 << 20, seconds: 0), "0 B/s")
        XCTAssertEqual(Figures.clock(77), "1:17")
        XCTAssertEqual(Figures.clock(3723), "1:02:03")
        XCTAssertEqual(Figures.clock(.infinity), "99:59:59", "bounded, never a trap")
        XCTAssertEqual(Figures.clock(.nan), "0:00")
        XCTAssertEqual(Figures.duration(1.26), "1.3 s")
        XCTAssertEqual(Figures.duration(125), "2:05")
    }
}
