// The report `ferry upload` prints at the end (issue #17, point 4): one line per entry that fits the terminal — the
// path relative to the current directory, the stored name when it differs, size, time and rate, 12 hex digits of the
// SHA-256 — failures and interruptions with their reason below when it does not fit beside; what an interrupted
// file will do on the next run; the exit status and JSON status of an interrupted run.
import Foundation
import XCTest

@testable import FerryClient

final class SummaryLinesTests: XCTestCase {
    private let digest = "3f2a9c0d1e4b5a6978f0e1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a6978"

    private func stored(_ path: String, as name: String, size: UInt64 = 4_404_019, seconds: Double = 1.3) -> FileResult {
        var result = FileResult(file: PlannedFile(localPath: path, remotePath: name, size: size), stored: name,
                                bytes: size, sha256: digest, seconds: seconds, rotations: 0, error: nil)
        result.attempts = 1
        result.sentBytes = size
        return result
    }

    private func interrupted(_ path: String, size: UInt64, sent: UInt64, resumeFrom: UInt64?, started: Bool = true,
                             signal: Int32 = SIGINT) -> FileResult {
        var result = FileResult(file: PlannedFile(localPath: path, remotePath: path, size: size), stored: nil,
                                bytes: sent, sha256: nil, seconds: 1, rotations: 0, error: nil)
        let interruption = Interruption(signal: signal, started: started, resumeFrom: resumeFrom)
        result.interruption = interruption
        result.error = interruption.message
        return result
    }

    func testAStoredFileIsOneLineWithARelativePathAndAShortDigest() {
        let line = SummaryLines.lines(stored("/home/ana/photos/img_0001.jpg", as: "photos/img_0001.jpg"), width: nil,
                                      currentDirectory: "/home/ana")
        XCTAssertEqual(line, ["stored photos/img_0001.jpg  4.2 MiB  1.3 s  3.2 MiB/s  sha256 3f2a9c0d1e4b"],
                       "the stored name is the path shown: said once")
        XCTAssertFalse(line.joined().contains(digest), "the whole digest is --json's")

        let elsewhere = SummaryLines.lines(stored("/data/isos/ubuntu.iso", as: "isos/ubuntu.iso"), width: nil,
                                           currentDirectory: "/home/ana")
        XCTAssertEqual(elsewhere, ["stored /data/isos/ubuntu.iso  -> isos/ubuntu.iso  4.2 MiB  1.3 s  3.2 MiB/s  "
                                   + "sha256 3f2a9c0d1e4b"])

        var resumed = stored("big.iso", as: "big.iso")
        resumed.resumedBytes = 1 << 20
        resumed.attempts = 3
        XCTAssertEqual(SummaryLines.lines(resumed, width: nil, currentDirectory: "/"),
                       ["stored big.iso  4.2 MiB  1.3 s  3.2 MiB/s  sha256 3f2a9c0d1e4b  (resumed at 1.0 MiB, 3 attempts)"])

        var already = stored("notes.txt", as: "notes.txt", size: 1100)
        already.alreadyStored = true
        already.sentBytes = 0
        XCTAssertEqual(SummaryLines.lines(already, width: nil, currentDirectory: nil),
                       ["already stored notes.txt  1.1 KiB  sha256 3f2a9c0d1e4b"])
    }

    func testPathsAreRelativeToTheCurrentDirectoryOnlyWhenUnderIt() {
        XCTAssertEqual(SummaryLines.displayPath("/home/ana/a/b.jpg", currentDirectory: "/home/ana"), "a/b.jpg")
        XCTAssertEqual(SummaryLines.displayPath("/home/ana/a/b.jpg", currentDirectory: "/home/ana/"), "a/b.jpg")
        XCTAssertEqual(SummaryLines.displayPath("/home/anabel/b.jpg", currentDirectory: "/home/ana"), "/home/anabel/b.jpg",
                       "a sibling with the same prefix is not under it")
        XCTAssertEqual(SummaryLines.displayPath("/etc/hosts", currentDirectory: "/"), "etc/hosts")
        XCTAssertEqual(SummaryLines.displayPath("../x/b.jpg", currentDirectory: "/home/ana"), "../x/b.jpg", "as given")
        XCTAssertEqual(SummaryLines.displayPath("/home/ana", currentDirectory: "/home/ana"), ".")
        XCTAssertEqual(SummaryLines.displayPath("/a/b", currentDirectory: nil), "/a/b")
        XCTAssertEqual(SummaryLines.displayPath("/a/b", currentDirectory: ""), "/a/b")
    }

    func testAFailureKeepsItsWholeReasonWrappedBelowWhenItDoesNotFit() {
        var failed = FileResult(file: PlannedFile(localPath: "photos/raw", remotePath: "", size: 0), stored: nil, bytes: 0,
                                sha256: nil, seconds: 0, rotations: 0,
                                error: "cannot read photos/raw: permission denied")
        XCTAssertEqual(SummaryLines.lines(failed, width: nil, currentDirectory: nil),
                       ["FAILED photos/raw: cannot read photos/raw: permission denied"])
        XCTAssertEqual(SummaryLines.lines(failed, width: 30, currentDirectory: nil),
                       ["FAILED photos/raw", "  cannot read photos/raw:", "  permission denied"])
        failed.error = nil
        failed.skipped = "empty directory"
        XCTAssertEqual(SummaryLines.lines(failed, width: 80, currentDirectory: nil), ["skipped photos/raw: empty directory"])
    }

    func testAnInterruptedFileSaysWhatTheNextRunDoes() {
        let mib: UInt64 = 1 << 20
        XCTAssertEqual(SummaryLines.lines(interrupted("big.iso", size: 4096 * mib, sent: 1229 * mib,
                                                      resumeFrom: 1229 * mib), width: nil, currentDirectory: nil),
                       ["interrupted big.iso  1.2/4.0 GiB: will resume from 1.2 GiB when run again"])
        XCTAssertEqual(SummaryLines.lines(interrupted("big.iso", size: 4096 * mib, sent: 10, resumeFrom: nil), width: nil,
                                          currentDirectory: nil),
                       ["interrupted big.iso  10 B/4.0 GiB: will be sent again"])
        XCTAssertEqual(SummaryLines.lines(interrupted("later.iso", size: mib, sent: 0, resumeFrom: nil, started: false),
                                          width: nil, currentDirectory: nil),
                       ["not started later.iso: will be sent when run again"])
        XCTAssertEqual(SummaryLines.lines(interrupted("big.iso", size: 4096 * mib, sent: 1229 * mib,
                                                      resumeFrom: 1229 * mib), width: 40, currentDirectory: nil),
                       ["interrupted big.iso  1.2/4.0 GiB", "  will resume from 1.2 GiB when run", "  again"])
    }

    func testTheResumePointIsWhatFerrydKeepsAndTheMessagesSayIt() {
        XCTAssertNil(Interruption.resumePoint(sent: 0))
        XCTAssertNil(Interruption.resumePoint(sent: 4095), "less than a block: the server keeps nothing to resume from")
        XCTAssertEqual(Interruption.resumePoint(sent: 4096), 4096)
        XCTAssertEqual(Interruption.resumePoint(sent: 10_000), 8192)
        XCTAssertEqual(Interruption(signal: SIGINT, started: true, resumeFrom: 8192).message,
                       "interrupted by SIGINT: it will resume from byte 8192 when run again")
        XCTAssertEqual(Interruption(signal: SIGTERM, started: true, resumeFrom: nil).message,
                       "interrupted by SIGTERM: it will be sent again")
        XCTAssertEqual(Interruption(signal: SIGINT, started: false, resumeFrom: nil).message,
                       "interrupted by SIGINT before it was started: it will be sent when run again")
    }

    func testEveryReportLineFitsItsWidth() {
        let results = [
            stored("/home/ana/写真/2024/東京/とても長い名前の写真_0001.jpg", as: "写真/2024/東京/とても長い名前の写真_0001.jpg"),
            stored("/srv/elsewhere/a/rather/long/path/to/some/file.tar.gz", as: "backups/file.tar.gz"),
            interrupted("/home/ana/big/ubuntu-24.04-desktop-amd64.iso", size: 6 << 30, sent: 1 << 30,
                        resumeFrom: 1 << 30),
            FileResult(file: PlannedFile(localPath: "gone.bin", remotePath: "", size: 0), stored: nil, bytes: 0,
                       sha256: nil, seconds: 0, rotations: 0,
                       error: "cannot connect to files.example.com:7443: connection refused (--connect-timeout)"),
        ]
        for width in 1...140 {
            var lines = results.flatMap { SummaryLines.lines($0, width: width, currentDirectory: "/home/ana") }
            lines.append(SummaryLines.totals(results, seconds: 12.5, width: width))
            lines += SummaryLines.interruptedNote(results, width: width)
            for line in lines { XCTAssertLessThanOrEqual(TerminalText.columns(line), width, "at \(width): \(line)") }
        }
    }

    func testTheTotalsAndTheNoteAfterAnInterruption() {
        let results = [stored("a", as: "a", size: 3 << 20, seconds: 1),
                       interrupted("b", size: 1 << 20, sent: 0, resumeFrom: nil, started: true),
                       interrupted("c", size: 1 << 20, sent: 0, resumeFrom: nil, started: false),
                       interrupted("d", size: 1 << 20, sent: 0, resumeFrom: nil, started: false)]
        XCTAssertEqual(SummaryLines.totals(results, seconds: 2, width: nil), "1 of 4 files, 3.0 MiB in 2.00 s (1.5 MiB/s)")
        XCTAssertEqual(SummaryLines.totals(results, seconds: 2, width: 32), "1 of 4 files, 3.0 MiB in 2.00 s")
        XCTAssertEqual(SummaryLines.totals(results, seconds: 2, width: 20), "1 of 4 files")
        XCTAssertEqual(SummaryLines.interruptedNote(results, width: nil),
                       ["interrupted by SIGINT: 1 file interrupted, 2 not started; run the same command again to complete the set"])
        XCTAssertEqual(SummaryLines.interruptedNote([stored("a", as: "a")], width: nil), [])
    }

    func testAnInterruptedRunExitsWith128PlusTheSignalAndSaysSoInJSON() throws {
        let done = stored("a", as: "a")
        var failed = done
        failed.error = "refused"
        XCTAssertEqual(UploadExitStatus.of([done, interrupted("b", size: 1, sent: 0, resumeFrom: nil)]), 130)
        XCTAssertEqual(UploadExitStatus.of([failed, interrupted("b", size: 1, sent: 0, resumeFrom: nil, signal: SIGTERM)]),
                       143, "stopped is what a script must learn first")
        XCTAssertEqual(UploadExitStatus.of([done]), 0)

        let report = UploadReport(results: [done, interrupted("b", size: 8192, sent: 8192, resumeFrom: 8192)], seconds: 1)
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any]
        let files = json?["files"] as? [[String: Any]]
        XCTAssertEqual(json?["ok"] as? Bool, false)
        XCTAssertEqual(files?.map { $0["status"] as? String }, ["stored", "interrupted"])
        XCTAssertEqual(files?.last?["error"] as? String, "interrupted by SIGINT: it will resume from byte 8192 when run again")
        XCTAssertEqual(files?.first?["sha256"] as? String, digest, "--json keeps the whole digest")
        XCTAssertEqual(Set(files?.last?.keys.map { $0 } ?? []), Set(files?.first?.keys.map { $0 } ?? []),
                       "an interrupted entry has the keys of every other")
    }
}
