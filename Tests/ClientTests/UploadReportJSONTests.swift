// `ferry upload --json` is written by hand, file by file (UploadReport.write, JSONText): every string must come back
// exactly through a JSON parser, whatever it holds, the keys stay sorted and all present, and the pieces written for
// a large run make the same document as the whole.
import Foundation
import XCTest
@testable import FerryClient

final class UploadReportJSONTests: XCTestCase {
    private let awkward = ["plain.txt", "quote\"d", "back\\slash", "new\nline\ttab\r", "bell\u{07}\u{1F}\u{08}\u{0C}",
                           "dir/é/ü/日本語/🙂", "  spaced  ", "", "\u{7F}del", "\u{2028}separator", "slash/es/"]

    private func result(_ path: String, index: Int) -> FileResult {
        var result = FileResult(file: PlannedFile(localPath: path, remotePath: path, size: UInt64(index)),
                                stored: index % 3 == 0 ? nil : "stored/" + path, bytes: UInt64(index * 1000),
                                sha256: index % 2 == 0 ? String(repeating: "ab", count: 32) : nil,
                                seconds: Double(index) * 0.0117, rotations: index % 4,
                                error: index % 3 == 0 ? "cannot read \(path): \"denied\"" : nil)
        result.attempts = 1 + index % 2
        result.resumedBytes = UInt64(index * 7)
        result.sentBytes = UInt64(index * 13)
        result.alreadyStored = index % 5 == 1
        if index == 4 { result.skipped = "empty directory" }
        return result
    }

    func testEveryStringComesBackExactlyAndEveryKeyIsThere() throws {
        let results = awkward.enumerated().map { result($0.element, index: $0.offset) }
        let report = UploadReport(results: results, seconds: 12.3456)
        let text = report.json()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
        XCTAssertEqual(object["ok"] as? Bool, false)
        XCTAssertEqual(object["seconds"] as? Double, 12.346)
        XCTAssertEqual((object["bytes"] as? NSNumber)?.uint64Value, report.bytes)
        let files = try XCTUnwrap(object["files"] as? [[String: Any]])
        XCTAssertEqual(files.count, results.count)
        let keys = ["already_stored", "attempts", "bytes", "error", "ok", "path", "resumed_bytes", "rotations", "seconds",
                    "sent_bytes", "sha256", "skipped", "status", "stored"]
        for (file, expected) in zip(files, results) {
            XCTAssertEqual(Set(file.keys), Set(keys))
            XCTAssertEqual(file["path"] as? String, expected.file.localPath)
            XCTAssertEqual(file["stored"] as? String, expected.stored)
            XCTAssertEqual(file["error"] as? String, expected.error)
            XCTAssertEqual(file["sha256"] as? String, expected.sha256)
            XCTAssertEqual(file["skipped"] as? String, expected.skipped)
            XCTAssertEqual(file["status"] as? String, expected.status.rawValue)
            XCTAssertEqual(file["ok"] as? Bool, expected.ok)
            XCTAssertEqual(file["already_stored"] as? Bool, expected.alreadyStored)
            XCTAssertEqual((file["attempts"] as? NSNumber)?.intValue, expected.attempts)
            XCTAssertEqual((file["resumed_bytes"] as? NSNumber)?.uint64Value, expected.resumedBytes)
            XCTAssertEqual((file["sent_bytes"] as? NSNumber)?.uint64Value, expected.sentBytes)
            XCTAssertEqual(file["seconds"] as? Double, (expected.seconds * 1000).rounded() / 1000)
            for key in ["stored", "error", "sha256", "skipped"] where !(file[key] is NSNull) {
                XCTAssertTrue(file[key] is String, "\(key) is a string or null")
            }
        }
        // Sorted keys, as the document always had them (JSONEncoder's .sortedKeys): a script diffing runs sees order.
        let filesStart = try XCTUnwrap(text.range(of: "[{"))
        let firstObject = String(text[filesStart.upperBound...].prefix { $0 != "}" })
        let order = keys.map { firstObject.range(of: "\"\($0)\":")?.lowerBound }
        XCTAssertEqual(order.compactMap { $0 }, order.compactMap { $0 }.sorted(), firstObject)
        XCTAssertFalse(text.contains("\\/"), "slashes as they are")
        XCTAssertFalse(text.contains("\n"), "one line: a newline inside a name is escaped")
    }

    func testStringsMatchFoundationsEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        for text in awkward {
            let foundation = String(decoding: try encoder.encode(text), as: UTF8.self)
            let parsedOurs = try JSONSerialization.jsonObject(with: Data(JSONText.quoted(text).utf8), options: .fragmentsAllowed)
            XCTAssertEqual(parsedOurs as? String, text)
            if !text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                XCTAssertEqual(JSONText.quoted(text), foundation, "byte for byte where no control character is escaped")
            }
        }
    }

    func testThePiecesOfALargeRunMakeTheWholeDocument() throws {
        let results = (0..<3_000).map { result("tree/d\($0 % 10)/file-\($0).dat", index: $0) }
        let report = UploadReport(results: results, seconds: 4)
        var pieces: [String] = []
        report.write(chunk: 4096) { pieces.append($0) }
        XCTAssertGreaterThan(pieces.count, 20, "written in pieces, never as one string")
        XCTAssertTrue(pieces.dropLast().allSatisfy { $0.utf8.count < 4096 + 1024 }, "each about the chunk")
        XCTAssertEqual(pieces.joined(), report.json())
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(pieces.joined().utf8)) as? [String: Any])
        XCTAssertEqual((object["files"] as? [Any])?.count, 3_000)
    }
}
