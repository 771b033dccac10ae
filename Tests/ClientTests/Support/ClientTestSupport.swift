// Helpers only the client tests use: file modes, whole-file reads, and assertions on errors that compare by kind.
// (Temporary directories and the `openssl` command line come from the shared TestSupport target.)
import Foundation
import XCTest

/// The permission bits of `path`.
func fileMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    guard let mode = attributes[.posixPermissions] as? NSNumber else {
        throw NSError(domain: "ClientTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "no mode for \(path)"])
    }
    return mode.intValue & 0o777
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Asserts that `body` throws an error equal to `expected` (errors compare by kind), and returns it.
@discardableResult
func assertThrows<E: Error & Equatable, R>(_ expected: E, file: StaticString = #filePath, line: UInt = #line,
                                           _ body: () throws -> R) -> E? {
    do {
        let value = try body()
        XCTFail("expected \(expected), got \(value)", file: file, line: line)
        return nil
    } catch let error as E {
        XCTAssertEqual(error, expected, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected \(expected), got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
