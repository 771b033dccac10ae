// --exclude / --include (PathFilter): the wildcards on their own, and the files an upload plan keeps compared with what
// rsync itself transfers for the same patterns on the same tree (rsync -rn --out-format=%n), so "rsync-style" is
// checked against rsync, not against our reading of its manual.
import Foundation
import TestSupport
import XCTest
@testable import FerryClient

final class PathFilterTests: XCTestCase {
    private func glob(_ pattern: String, _ name: String) -> Bool {
        Glob.matches(Array(pattern.unicodeScalars), Array(name.unicodeScalars))
    }

    func testWildcards() {
        XCTAssertTrue(glob("*.tmp", "a.tmp"))
        XCTAssertTrue(glob("*.tmp", ".tmp"))
        XCTAssertFalse(glob("*.tmp", "a/b.tmp"), "a single star stops at '/'")
        XCTAssertTrue(glob("**.tmp", "a/b.tmp"))
        XCTAssertTrue(glob("a/**/z", "a/b/c/z"))
        XCTAssertTrue(glob("a/**", "a/b/c"))
        XCTAssertTrue(glob("?.txt", "x.txt"))
        XCTAssertFalse(glob("?.txt", "xy.txt"))
        XCTAssertFalse(glob("a?b", "a/b"), "'?' never matches '/'")
        XCTAssertTrue(glob("[a-c]x", "bx"))
        XCTAssertFalse(glob("[!a-c]x", "bx"))
        XCTAssertTrue(glob("[^a-c]x", "dx"))
        XCTAssertTrue(glob("[]]", "]"), "']' first in a set is a member")
        XCTAssertTrue(glob("\\*", "*"))
        XCTAssertFalse(glob("\\*", "a"))
        XCTAssertTrue(glob("[x", "[x"), "a '[' without ']' is literal")
        XCTAssertTrue(glob("été*", "été.txt"))
        XCTAssertTrue(glob("*", ""))
        XCTAssertFalse(glob("", "a"))
    }

    func testNoPatternIsExponential() {
        let pattern = String(repeating: "*a", count: 40) + "b"
        let name = String(repeating: "a", count: 4000)
        let started = Date()
        XCTAssertFalse(glob(pattern, name))
        // A bound for a wedge (backtracking would take astronomically long), not a timing assertion.
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    /// Patterns match the name as stored: NFC (a decomposed local name is left out by the pattern typed composed),
    /// components split at the byte "/" (a name beginning with a combining mark is still a component of its own).
    func testPatternsMatchTheStoredNameByScalarsAndBytes() throws {
        let filter = try PathFilter(excludes: ["*.key", "R\u{E9}sum\u{E9}.pdf", "*cache/"])
        XCTAssertTrue(filter.excludes("photos/\u{301}x.key", isDirectory: false))
        XCTAssertTrue(filter.excludes("docs/Re\u{301}sume\u{301}.pdf", isDirectory: false))
        XCTAssertTrue(filter.excludes("\u{301}cache", isDirectory: true))
        XCTAssertFalse(filter.excludes("photos/x.jpg", isDirectory: false))
    }

    func testPatternsAreChecked() {
        XCTAssertThrowsError(try PathFilter(excludes: [""]))
        XCTAssertThrowsError(try PathFilter(excludes: ["/"]))
        XCTAssertThrowsError(try PathFilter(excludes: [String(repeating: "a", count: PathFilter.maximumPatternLength + 1)]))
        XCTAssertEqual(try PathFilter.patterns(fromFileContents: "# comment\n; also\n\n*.o\r\nbuild/\n", path: "f"),
                       ["*.o", "build/"])
    }

    // MARK: Against rsync

    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(label: "filter")
        for file in ["a.jpg", "b.tmp", "raw/x.dng", "raw/y.jpg", "raw/deep/z.jpg", "build/out.o", "build/keep.jpg",
                     ".git/config", "docs/build/readme.txt", "sp ace.txt", "[x].txt", "photos/inner.jpg", "a.jpg.tmp"] {
            let url = directory.url.appendingPathComponent("photos/" + file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
    }

    override func tearDownWithError() throws { directory?.remove() }

    /// Files ferry would send, as stored ("photos/raw/x.dng").
    private func planned(includes: [String], excludes: [String]) throws -> Set<String> {
        let filter = try PathFilter(includes: includes, excludes: excludes)
        let plan = try UploadPlan.make(paths: [directory.url.appendingPathComponent("photos").path], destination: nil,
                                       filter: filter)
        return Set(plan.files.map(\.remotePath))
    }

    /// Files rsync would transfer with every --include before every --exclude (PathFilter's precedence).
    private func rsync(includes: [String], excludes: [String]) throws -> Set<String> {
        let destination = directory.url.appendingPathComponent("rsync-destination")
        let arguments = ["-rn", "--out-format=%n"] + includes.map { "--include=\($0)" } + excludes.map { "--exclude=\($0)" }
            + [directory.url.appendingPathComponent("photos").path, destination.path]
        let run = try runToCompletion(URL(fileURLWithPath: "/usr/bin/rsync"), arguments, outputDirectory: directory.url,
                                      name: "rsync", timeout: 60)
        XCTAssertEqual(run.status, 0, run.stderr)
        return Set(run.stdout.split(separator: "\n").map(String.init).filter { !$0.hasSuffix("/") })
    }

    func testTheSameFilesAsRsync() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync") else {
            throw XCTSkip("rsync is not installed (scripts/test installs it)")
        }
        let cases: [(includes: [String], excludes: [String])] = [
            ([], ["*.tmp"]),
            ([], ["build/"]),
            ([], ["build"]),
            ([], ["/photos/build/"]),
            ([], ["raw/*.jpg"]),
            ([], ["raw/**"]),
            ([], ["**/deep"]),
            ([], [".*"]),
            ([], ["[ab].*"]),
            ([], ["sp ace.txt", "\\[x\\].txt"]),
            ([], ["photos"]),
            ([], ["/photos/photos"]),
            ([], ["*.jpg*"]),
            (["*/", "*.jpg"], ["*"]),
            (["keep.jpg"], ["build/*"]),
            (["*.jpg"], ["*.tmp"]),
            (["raw/deep/"], ["deep/"]),
            ([], ["?.jpg"]),
            ([], ["a.jpg/"]),
        ]
        for (includes, excludes) in cases {
            XCTAssertEqual(try planned(includes: includes, excludes: excludes),
                           try rsync(includes: includes, excludes: excludes),
                           "--include \(includes) --exclude \(excludes)")
        }
        XCTAssertEqual(try planned(includes: [], excludes: ["*.tmp"]).count, 11, "the fixture still has files")
    }
}
