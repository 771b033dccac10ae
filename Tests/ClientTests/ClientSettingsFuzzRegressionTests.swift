// Inputs FuzzClientSettings found (docs/FUZZING.md, "Found"), kept as tests: each used to abort `ferry`.
import XCTest

@testable import FerryClient

final class ClientSettingsFuzzRegressionTests: XCTestCase {
    /// crash-92d1f2aa…: a byte order mark, then "[::1]:744…" (a server address written as a table header). toml++
    /// (inside TOMLKit) asserted in parse_key on a header starting with ":": `ferry` died of SIGABRT reading its
    /// client.toml instead of saying which line is wrong.
    func testAddressWrittenAsATableHeaderIsASyntaxError() throws {
        let input: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("[::1]:744:7443\"r = \": = 4alel = 4\n3\"r = \": = 4alel = 4\n".utf8)
        let context = ClientSettings.LoadContext(source: "client.toml", directory: "/home/fuzz", home: "/home/fuzz")
        do {
            let settings = try ClientSettings.parse(String(decoding: input, as: UTF8.self), context: context)
            XCTFail("loaded as \(settings)")
        } catch {
            XCTAssertEqual(error.kind, .syntax)
            XCTAssertEqual(error.path, "client.toml:1:2")
        }
        XCTAssertNotNil(ClientSettingsFuzzing.parse("[#\n"))
    }

    /// crash-f0592707…: "1server=[}" and more. toml++ asserted in parse_value on "}" where an array expects a value.
    func testClosingBraceWhereAnArrayExpectsAValueIsASyntaxError() throws {
        let input = "1server=[}\0\0\0\"\n[t \"fil~erotatatable] = 2\n"
        let context = ClientSettings.LoadContext(source: "client.toml", directory: "/home/fuzz", home: "/home/fuzz")
        do {
            let settings = try ClientSettings.parse(input, context: context)
            XCTFail("loaded as \(settings)")
        } catch {
            XCTAssertEqual(error.kind, .syntax)
            XCTAssertEqual(error.path, "client.toml:1:10")
        }
    }
}
