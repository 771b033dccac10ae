// Helpers for the client tests: a temporary directory per test, the `openssl` command line, file modes.
import Foundation
import XCTest

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-client-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    func appending(_ component: String) -> URL { url.appendingPathComponent(component) }

    /// Writes `text` to `name` inside the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = appending(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }
}

/// Runs `openssl` with `arguments`; returns the exit status and stdout + stderr.
func runOpenSSL(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

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
