// The storage root's id (`<root>/.index/root-id`, what a PostgreSQL schema is taken by): daemons sharing the root that
// start at once on a fresh one all read the one id that was linked into place, never two; a damaged file is refused.
import Foundation
import TestSupport
import XCTest

@testable import Daemon

final class RootIDTests: XCTestCase {
    func testDaemonsStartingAtOnceAllGetTheOneIdOnDisk() throws {
        let directory = try makeTemporaryDirectory("root-id").url.path
        for round in 0..<20 {
            let index = directory + "/r\(round)"
            try FileManager.default.createDirectory(atPath: index, withIntermediateDirectories: true)
            let ids = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                if let id = try? IndexOpening.rootID(in: index) { ids.mutate { $0.append(id) } }
            }
            let onDisk = try String(contentsOfFile: index + "/root-id", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(ids.value.count, 8, "round \(round): a start failed")
            XCTAssertEqual(Set(ids.value), [onDisk], "round \(round)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: index), ["root-id"], "no temporary file left")
        }
    }

    func testADamagedIdIsRefusedWithWhatToDo() throws {
        let index = try makeTemporaryDirectory("root-id").url.path
        try "not an id!\n".write(toFile: index + "/root-id", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try IndexOpening.rootID(in: index)) { error in
            XCTAssertTrue("\(error)".contains("is damaged (not an id)"), "\(error)")
        }
    }
}

/// A value several threads change under a lock.
private final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `stored` is only reached under `lock`.
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&stored)
        lock.unlock()
    }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
