// Get's reads of a stored file (StoredFileReader): every block from any offset is the file's bytes, read past the page
// cache (O_DIRECT) for a large file when asked — whole aligned blocks after a first one that ends on the alignment,
// the end of the file short — and through it otherwise.
import Foundation
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Store

final class StoredFileReaderTests: StoreTestCase {
    private func opened(_ store: Store, _ relativePath: String, directIO: Bool) throws -> StoredFileReader {
        let reader = StoredFileReader(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: relativePath),
                                      directIO: directIO)
        var outcome: StoredFileReader.OpenOutcome?
        reader.open(executor: executor) { outcome = $0 }
        while executor.runNext() {}
        guard case .opened = outcome else { throw TestError("not opened: \(String(describing: outcome))") }
        return reader
    }

    /// The file from `start` to its end, block by block as the daemon reads it; the offsets each read started at.
    private func readAll(_ reader: StoredFileReader, from start: UInt64, size: UInt64) throws -> (bytes: [UInt8], offsets: [UInt64]) {
        var bytes: [UInt8] = [], offsets: [UInt64] = [], offset = start
        let buffer = IOBuffer(capacity: 1 << 20)
        while offset < size {
            let expected = reader.blockLength(at: offset, capacity: buffer.capacity)
            var result: Result<Int, SystemError>?
            reader.read(at: offset, into: buffer, executor: executor) { result = $0 }
            while executor.runNext() {}
            let count = try XCTUnwrap(result).get()
            XCTAssertEqual(count, expected, "at \(offset)")
            guard count > 0 else { throw TestError("nothing read at \(offset)") }
            buffer.withUnsafeBytes { bytes += $0 }
            offsets.append(offset)
            offset += UInt64(count)
        }
        return (bytes, offsets)
    }

    func testEveryOffsetReadsTheFileDirectOrThroughThePageCache() throws {
        let store = try makeStore()
        let size = Int(StoredFileReader.directFrom) + 4_097
        let content = pattern(size, seed: 3)
        let small = pattern(10_000, seed: 4)
        drive([try upload(store, "big.bin", content, chunk: 1 << 20), try upload(store, "small.bin", small)], on: executor)
        for directIO in [true, false] {
            let reader = try opened(store, "big.bin", directIO: directIO)
            // O_DIRECT where this file system has it (ext4, and tmpfs since Linux 6.6), never when not asked.
            XCTAssertEqual(reader.readsDirectly, directIO && BlockingFileIO.directIOFlag != 0 && Self.directIOWorks(rootPath))
            for start in [0, 4_096, 5_000, UInt64(size) - 4_097, UInt64(size) - 1] as [UInt64] {
                let (bytes, offsets) = try readAll(reader, from: start, size: UInt64(size))
                XCTAssertTrue(bytes == Array(content[Int(start)...]), "from \(start), direct \(directIO)")
                XCTAssertTrue(offsets.dropFirst().allSatisfy { $0 % 4_096 == 0 }, "\(offsets.prefix(3)) from \(start)")
                // An odd first block went through the page cache; the descriptor is direct again after it.
                XCTAssertEqual(reader.descriptorIsDirect, reader.readsDirectly, "from \(start)")
            }
            XCTAssertEqual(reader.readsDirectly, directIO && BlockingFileIO.directIOFlag != 0 && Self.directIOWorks(rootPath),
                           "no read fell back to the page cache")
            XCTAssertEqual(reader.blockLength(at: UInt64(size), capacity: 1 << 20), 0)
            reader.close()
            let smallReader = try opened(store, "small.bin", directIO: directIO)
            XCTAssertFalse(smallReader.readsDirectly, "a file below directFrom is read through the page cache")
            XCTAssertTrue(try readAll(smallReader, from: 1, size: 10_000).bytes == Array(small[1...]))
            smallReader.close()
        }
    }

    /// Whether a file under `directory` opens with O_DIRECT (tmpfs before Linux 6.6 refuses it).
    private static func directIOWorks(_ directory: String) -> Bool {
        let path = directory + "/.direct-probe"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | BlockingFileIO.directIOFlag, 0o600)
        defer { if fd >= 0 { close(fd) }; unlink(path) }
        return fd >= 0
    }
}
