// Inputs FuzzDaemonConfig found (docs/FUZZING.md, "Found"), kept as tests: each used to abort the process.
import Foundation
import XCTest

@testable import FerrydConfig
import TOMLPreflight

final class ConfigFuzzRegressionTests: XCTestCase {
    /// crash-46038a9e…: "[# ferryd". toml++ (inside TOMLKit) asserted in parse_key on a table header starting with
    /// "#": `ferryd check-config` died of SIGABRT, and so did a running ferryd reloading such a file on SIGHUP.
    func testHeaderStartingWithACommentIsASyntaxError() {
        assertSyntaxError("[# ferryd", line: 1, column: 2)
    }

    /// The same path in toml++ by other bytes: anything but a key's first character after "[" (and "[[").
    func testEveryHeaderThatAbortedTheParserIsASyntaxError() {
        assertSyntaxError("[\nx = 1\n", line: 1, column: 2)
        assertSyntaxError("[server]\nworkers = 1\n[ #x]\n", line: 3, column: 3)
        assertSyntaxError("[[=]]\n", line: 1, column: 3)
        assertSyntaxError("\u{FEFF}[:\n", line: 1, column: 2)
        assertSyntaxError("[\u{E9}]\n", line: 1, column: 2)
        assertSyntaxError("s = \"\"\"\n[#x\"\"\"\n\t[#\n", line: 3, column: 3)
    }

    /// crash-f0592707… (FuzzClientSettings): "server=[}". toml++ asserted in parse_value on "}" where an array
    /// expects a value; the same after a comma, a newline or a comment, and in nested arrays.
    func testClosingBraceWhereAnArrayExpectsAValueIsASyntaxError() {
        assertSyntaxError("a = [}", line: 1, column: 6)
        assertSyntaxError("a = [1,}", line: 1, column: 8)
        assertSyntaxError("a = [\n}", line: 2, column: 1)
        assertSyntaxError("a = [#c\n }", line: 2, column: 2)
        assertSyntaxError("a = [[}]]", line: 1, column: 7)
        assertSyntaxError("a = { b = [}] }", line: 1, column: 12)
    }

    /// What the check must not refuse: a "[" that toml++ does not read as a header.
    func testBracketsThatAreNoHeadersPass() {
        for text in ["a = [\n[#c\n1]]\n", "s = \"\"\"\n[#x\"\"\"\n", "s = '[#x'\n", "# [#x\n", "[ \"quoted\" ]\n", "[a.b]\n",
                     "a = [{}, {b = 1}]\n", "a = [\"}\", '}']\n", "a = [1, # }\n 2]\n"] {
            XCTAssertNil(TOMLPreflight.unparseableTableHeader(in: text), text.debugDescription)
        }
    }

    private func assertSyntaxError(_ text: String, line: Int, column: Int, file: StaticString = #filePath, lineNumber: UInt = #line) {
        do {
            let config = try DaemonConfig.parse(toml: text, baseDirectory: ConfigFixture.base, environment: [:])
            XCTFail("\(text.debugDescription) loaded as \(config)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.kind, .syntax, file: file, line: lineNumber)
            XCTAssertEqual(error.line, line, "\(text.debugDescription)", file: file, line: lineNumber)
            XCTAssertEqual(error.column, column, "\(text.debugDescription)", file: file, line: lineNumber)
        }
    }
}
