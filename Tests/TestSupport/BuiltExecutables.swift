// Where the repository is, and where `swift build` put `ferryd` and `ferry`: beside the test bundle.
import Foundation
import XCTest

public enum RepositoryPaths {
    /// The repository root (this file is Tests/TestSupport/BuiltExecutables.swift).
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

public enum Executables {
    private final class Marker {}

    /// The directory holding both executables, or nil with the places looked at when they were not built.
    /// FERRY_E2E_BIN_DIR overrides.
    public static func directory() -> (URL?, [String]) {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["FERRY_E2E_BIN_DIR"] {
            candidates.append(URL(fileURLWithPath: override, isDirectory: true))
        }
        // On Linux the bundle URL is the .xctest file itself or its directory, depending on the Foundation version.
        let bundle = Bundle(for: Marker.self).bundleURL
        candidates.append(bundle.deletingLastPathComponent())
        candidates.append(bundle)
        if let main = Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        let manager = FileManager.default
        for candidate in candidates {
            let daemon = candidate.appendingPathComponent("ferryd").path
            let client = candidate.appendingPathComponent("ferry").path
            if manager.isExecutableFile(atPath: daemon), manager.isExecutableFile(atPath: client) {
                return (candidate, [])
            }
        }
        return (nil, candidates.map(\.path))
    }

    /// Both executables, or a failed test saying what to run.
    public static func locate(file: StaticString = #filePath, line: UInt = #line) throws -> (ferryd: URL, ferry: URL) {
        let (found, searched) = directory()
        guard let found else {
            XCTFail("ferryd and ferry not found beside the test bundle (looked in \(searched.joined(separator: ", "))): "
                + "run `swift build --product ferryd && swift build --product ferry` first (with the same --scratch-path "
                + "as `swift test`), or set FERRY_E2E_BIN_DIR", file: file, line: line)
            throw TestError("executables not built")
        }
        return (found.appendingPathComponent("ferryd"), found.appendingPathComponent("ferry"))
    }
}
