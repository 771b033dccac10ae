// The log line's hand-written parts: the RFC 3339 timestamp (digits written in place) and logfmt's quoting.
import Foundation
import XCTest

@testable import Daemon

final class LogLineTests: XCTestCase {
    func testTheTimestampIsRFC3339InUTCWithMillisecondsAndNow() throws {
        let before = Date()
        let stamp = LineLogHandler.timestamp()
        let after = Date()
        XCTAssertNotNil(stamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), stamp)
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try XCTUnwrap(parser.date(from: stamp), stamp)
        XCTAssertGreaterThanOrEqual(parsed.timeIntervalSince(before), -0.001, "\(stamp) is not before the call")
        XCTAssertLessThanOrEqual(parsed.timeIntervalSince(after), 0.001, "\(stamp) is not after it")
    }

    func testRenderedLinesQuoteWhatLogfmtMust() {
        let handler = LineLogHandler(label: "test", settings: LogSettings(level: .info, format: .logfmt),
                                     environment: ["JOURNAL_STREAM": "8:1"])
        let line = handler.render(level: .info, message: "upload committed",
                                  fields: ["path": "a b/\"c\"", "size": "4096", "empty": ""])
        XCTAssertEqual(line, #"level=info msg="upload committed" empty="" path="a b/\"c\"" size=4096"#)
    }
}
