// SourceFingerprint, the check that keeps a file changed during its upload from being stored (issue #15, point 6): on a
// real file, each kind of change between two fstat calls on one descriptor is seen, and no change is none.
import Foundation
import TestSupport
import XCTest

@testable import Client
@testable import FerryClient

final class SourceFingerprintTests: XCTestCase {
    private func fingerprint(_ fd: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> SourceFingerprint {
        switch SourceFingerprint.of(fd: fd) {
        case .success(let found): return found
        case .failure(let error): throw error
        }
    }

    /// A file of 4096 bytes, open for reading and writing; `body` gets the descriptor and the file's path.
    private func withFile(_ body: (Int32, String) throws -> Void) throws {
        let directory = try makeTemporaryDirectory("fingerprint")
        let path = try directory.write("source.bin", String(repeating: "a", count: 4096))
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        try body(fd, path)
    }

    /// Writes a byte at `offset` through another descriptor (as another program would).
    private func write(_ path: String, _ byte: UInt8, at offset: off_t) {
        let fd = open(path, O_WRONLY)
        var byte = byte
        XCTAssertEqual(pwrite(fd, &byte, 1, offset), 1)
        close(fd)
    }

    func testAnUntouchedFileIsUnchanged() throws {
        try withFile { fd, path in
            let first = try fingerprint(fd)
            var buffer = [UInt8](repeating: 0, count: 4096)
            XCTAssertEqual(pread(fd, &buffer, 4096, 0), 4096)  // reading changes nothing that is compared
            XCTAssertNil(try fingerprint(fd).change(since: first))
            XCTAssertEqual(first.size, 4096)
            XCTAssertNil(first.change(sincePlannedSize: 4096))
            XCTAssertEqual(first.change(sincePlannedSize: 4000), "its size went from 4000 to 4096 bytes")
            _ = path
        }
    }

    func testAnAppendIsSeen() throws {
        try withFile { fd, path in
            let first = try fingerprint(fd)
            write(path, 0x62, at: 4096)
            XCTAssertEqual(try fingerprint(fd).change(since: first), "its size went from 4096 to 4097 bytes")
        }
    }

    func testATruncationIsSeen() throws {
        try withFile { fd, path in
            let first = try fingerprint(fd)
            XCTAssertEqual(truncate(path, 100), 0)
            XCTAssertEqual(try fingerprint(fd).change(since: first), "its size went from 4096 to 100 bytes")
        }
    }

    func testAnOverwriteInPlaceIsSeen() throws {
        try withFile { fd, path in
            let first = try fingerprint(fd)
            // Timestamps have nanoseconds here, but a coarse clock tick could still fall within the same one: wait
            // a little so the test does not depend on the tick.
            usleep(20_000)
            write(path, 0x62, at: 10)
            let after = try fingerprint(fd)
            XCTAssertEqual(after.size, first.size)
            XCTAssertEqual(after.change(since: first), "it was modified")
        }
    }

    func testAnotherFileAtThePathIsSeen() throws {
        try withFile { fd, path in
            let first = try fingerprint(fd)
            let replacement = path + ".new"
            try Data(String(repeating: "a", count: 4096).utf8).write(to: URL(fileURLWithPath: replacement))
            XCTAssertEqual(rename(replacement, path), 0)
            let other = open(path, O_RDONLY)
            defer { close(other) }
            XCTAssertEqual(try fingerprint(other).change(since: first), "another file is now at its path")
        }
    }

    func testTheMessageNamesThePathAndTheChange() {
        XCTAssertEqual(SourceFingerprint.changedMessage("a/b.bin", "it was modified"),
                       "a/b.bin changed while it was being uploaded (it was modified)")
    }
}
