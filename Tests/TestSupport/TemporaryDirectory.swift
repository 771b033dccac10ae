// A fresh directory per test under the system temporary directory: made on creation, removed by `remove()` or, with
// `makeTemporaryDirectory`, at the end of the test.
import Foundation
import XCTest

public struct TemporaryDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    /// `<tmp>/ferry-<label>-<12 random hex digits>`: short, so that socket paths inside stay far below sun_path's
    /// 108 bytes.
    public init(label: String = "tests") throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true)
            .appendingPathComponent("ferry-\(label)-\(UUID().uuidString.prefix(12))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(at: url) }

    public func appending(_ component: String) -> URL { url.appendingPathComponent(component) }

    /// Writes `text` to `name` inside the directory (parent directories made) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let file = appending(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }
}

extension XCTestCase {
    /// A fresh temporary directory, removed when the test ends (pass or fail).
    public func makeTemporaryDirectory(_ label: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(label: label)
        addTeardownBlock { directory.remove() }
        return directory
    }
}
