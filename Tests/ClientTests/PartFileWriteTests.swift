// A download's `.part` (PartFile, PartWriter): the bytes hashed and written off the calling thread, whole blocks past
// the page cache, land whole and in order at every size and from every resumed offset, on ext4 and on tmpfs; what
// arrived is on disk when the part is kept for later; a write that fails is an error, never a hang or a file with
// a hole.
import Foundation
import Platform
import Protocol
import TestSupport
import XCTest
@testable import FerryClient

final class PartFileWriteTests: XCTestCase {
    private static let RLIMIT_FSIZE_VALUE = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)

    /// The system's temporary directory, and /var/tmp and /dev/shm where they exist (ext4 and tmpfs on Debian).
    private func directories() throws -> [String] {
        var found = [try makeTemporaryDirectory("part").path]
        for base in ["/var/tmp", "/dev/shm"] where FileManager.default.isWritableFile(atPath: base) {
            let directory = base + "/ferry-part-\(UUID().uuidString.prefix(12))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
            found.append(directory)
        }
        return found
    }

    /// Whether a file under `directory` takes O_DIRECT (tmpfs before Linux 6.6 does not).
    static func directIOWorks(_ directory: String) -> Bool {
        let path = directory + "/.direct-probe"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | BlockingFileIO.directIOFlag, 0o600)
        defer { if fd >= 0 { close(fd) }; unlink(path) }
        return fd >= 0
    }

    private func header(_ content: [UInt8], offset: Int) -> GetHeader {
        GetHeader(size: UInt64(content.count), sha256: DigestContext.hash(.sha256, content),
                  modified: WireTime(seconds: 1_700_000_000, nanoseconds: 5), executable: false, offset: UInt64(offset))
    }

    func testEverySizeAndResumedOffsetLandsWhole() throws {
        let batch = PartWriter.batchSize
        // (bytes an earlier run left, the file's size): batch and block boundaries ± 1, an odd prefix, a prefix past a batch.
        let shapes = [(0, 0), (0, 1), (0, 4_095), (0, 4_096), (0, 4_097), (0, batch - 1), (0, batch), (0, batch + 1),
                      (0, 3 * batch + 5), (1_001, 3 * batch + 5), (4_096, 2 * batch), (batch + 7, 2 * batch + 9),
                      (5, 5), (batch, batch + 4_096)]
        var random = SystemRandomNumberGenerator()
        let longest = (0..<shapes.map(\.1).max()!).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) }
        for directory in try directories() {
            for (index, (prefix, size)) in shapes.enumerated() {
                let content = Array(longest[..<size])
                let destination = directory + "/f\(index).bin"
                if prefix > 0 { try Data(content[..<prefix]).write(to: URL(fileURLWithPath: destination + ".part")) }
                let part = try PartFile(destination: destination)
                XCTAssertEqual(part.length, UInt64(prefix))
                try part.keep(upTo: UInt64(prefix), expecting: UInt64(size - prefix))
                var offset = prefix
                while offset < size {  // the chunks a session hands over: any size up to a record's
                    let end = min(size, offset + Int.random(in: 1...65_536, using: &random))
                    try part.append(content[offset..<end])
                    offset = end
                }
                XCTAssertEqual(part.length, UInt64(size))
                XCTAssertTrue(try part.finish(header(content, offset: prefix)), "\(directory): \(prefix) of \(size)")
                if size - prefix >= 2 * 4_096 {  // whole blocks were written: past the page cache where it can be
                    XCTAssertEqual(part.writesDirectly, Self.directIOWorks(directory), "\(directory): \(prefix) of \(size)")
                }
                let stored = [UInt8](try Data(contentsOf: URL(fileURLWithPath: destination)))
                XCTAssertTrue(stored == content, "\(directory): \(prefix) of \(size)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: destination + ".part"))
            }
        }
    }

    func testAPartKeptForLaterHoldsEverythingThatArrived() throws {
        for directory in try directories() {
            let destination = directory + "/kept.bin"
            let content = (0..<(PartWriter.batchSize * 2 + 12_345)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let part = try PartFile(destination: destination)
            try part.keep(upTo: 0, expecting: UInt64(content.count + 1_000_000))
            try part.append(content[...])
            part.keepForLater()
            let kept = [UInt8](try Data(contentsOf: URL(fileURLWithPath: destination + ".part")))
            XCTAssertTrue(kept == content, directory)
            // The next run goes on from there.
            let again = try PartFile(destination: destination)
            XCTAssertEqual(again.length, UInt64(content.count))
            again.discard()
            XCTAssertFalse(FileManager.default.fileExists(atPath: destination + ".part"))
        }
    }

    func testAKeptPrefixIsCutToTheOffsetTheServerGives() throws {
        let directory = try makeTemporaryDirectory("part-cut").path
        let destination = directory + "/cut.bin"
        let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var foreign = content
        foreign[200_000] ^= 1  // past the offset the server starts at: cut away, never hashed
        try Data(foreign[..<250_000]).write(to: URL(fileURLWithPath: destination + ".part"))
        let part = try PartFile(destination: destination)
        try part.keep(upTo: 150_001, expecting: 149_999)
        XCTAssertEqual(part.length, 150_001)
        try part.append(content[150_001...])
        XCTAssertTrue(try part.finish(header(content, offset: 150_001)))
        XCTAssertTrue([UInt8](try Data(contentsOf: URL(fileURLWithPath: destination))) == content)
    }

    /// A retried Get the server starts below what arrived, after batches that all went past the page cache: the
    /// prefix is cut and hashed again through the same descriptor, which the writer left without O_DIRECT.
    func testACutAfterWholeDirectBatchesReadsThePrefixBack() throws {
        let batch = PartWriter.batchSize
        let content = (0..<(3 * batch + 77)).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ $0 >> 16) }
        for directory in try directories() {
            let destination = directory + "/retried.bin"
            let part = try PartFile(destination: destination)
            try part.keep(upTo: 0, expecting: UInt64(content.count))
            try part.append(content[..<(2 * batch)])
            try part.keep(upTo: 1_000_001, expecting: UInt64(content.count - 1_000_001))
            XCTAssertEqual(part.length, 1_000_001)
            try part.append(content[1_000_001...])
            XCTAssertTrue(try part.finish(header(content, offset: 1_000_001)), directory)
            XCTAssertTrue([UInt8](try Data(contentsOf: URL(fileURLWithPath: destination))) == content, directory)
        }
    }

    /// A file that cannot grow past 2 MiB (RLIMIT_FSIZE, as a full disk stops a file): the third batch fails, the
    /// error is the write's, the .part is the first 2 MiB whole, and nothing waits forever.
    func testAFileThatCannotGrowEndsInAnErrorWithTheWrittenPrefixKept() throws {
        let limit = 2 * PartWriter.batchSize
        var saved = rlimit()
        XCTAssertEqual(getrlimit(Self.RLIMIT_FSIZE_VALUE, &saved), 0)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)  // EFBIG instead of the signal's default: killing the process
        var small = rlimit(rlim_cur: rlim_t(limit), rlim_max: saved.rlim_max)
        XCTAssertEqual(setrlimit(Self.RLIMIT_FSIZE_VALUE, &small), 0)
        defer {
            _ = setrlimit(Self.RLIMIT_FSIZE_VALUE, &saved)
            signal(SIGXFSZ, previousHandler)
        }
        for directory in try directories() {
            let destination = directory + "/limited.bin"
            let content = (0..<(5 * PartWriter.batchSize)).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ $0 >> 20) }
            let part = try PartFile(destination: destination)
            try part.keep(upTo: 0, expecting: UInt64(content.count))
            var thrown: Error?
            do {
                var offset = 0
                while offset < content.count {
                    try part.append(content[offset..<(offset + 65_536)])
                    offset += 65_536
                }
                _ = try part.finish(header(content, offset: 0))
            } catch {
                thrown = error
            }
            XCTAssertTrue("\(String(describing: thrown))".contains("File too large"), "\(String(describing: thrown))")
            part.keepForLater()
            let kept = [UInt8](try Data(contentsOf: URL(fileURLWithPath: destination + ".part")))
            XCTAssertTrue(kept == Array(content[..<limit]), "\(directory): \(kept.count) bytes kept")
            XCTAssertFalse(FileManager.default.fileExists(atPath: destination))
        }
    }

    func testAFailingWriteIsAnErrorAndNothingAfterItIsWritten() throws {
        let directory = try makeTemporaryDirectory("part-fail").path
        let path = directory + "/ro.bin"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let readOnly = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(readOnly, 0)
        defer { close(readOnly) }
        let writer = PartWriter(descriptor: readOnly, offset: 0, digest: DigestContext(.sha256), expected: 1 << 30, direct: true)
        let chunk = [UInt8](repeating: 9, count: 65_536)
        var thrown: Error?
        do {
            for _ in 0..<(PartWriter.batchSize * (PartWriter.slots + 2) / chunk.count) {
                try chunk.withUnsafeBytes { try writer.append($0) }
            }
            try writer.drain()
        } catch {
            thrown = error
        }
        XCTAssertEqual((thrown as? SystemError)?.number, EBADF, "\(String(describing: thrown))")
        XCTAssertEqual(writer.failure?.number, EBADF)
        var info = stat()
        XCTAssertEqual(fstat(readOnly, &info), 0)
        XCTAssertEqual(info.st_size, 0)
    }
}
