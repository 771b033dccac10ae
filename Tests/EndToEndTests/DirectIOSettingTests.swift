// storage.direct_io: with true (the default) the daemon opens each .part file with O_DIRECT and writes it in whole
// 4 KiB blocks at block-aligned offsets, then the file's last partial block after clearing O_DIRECT; with false no
// O_DIRECT at all. Either way the stored file is exact. Observed from outside with strace on the real daemon:
// Linux quietly turns an unaligned O_DIRECT write into a buffered one on some file systems (ext4 does), so only the
// system calls show whether the daemon kept to the alignment.
import Foundation
import XCTest

final class DirectIOSettingTests: XCTestCase {
    func testDirectIOWritesWholeAlignedBlocksThenTheTail() throws {
        let env = try TestEnvironment(self)
        let source = try env.sourceDirectory("direct")
        let file = source.appendingPathComponent("data.bin")
        let size = (5 << 20) + 777  // several batches, and a partial last block
        let expected = try Content.write(Content.random(size), to: file)

        for directIO in [true, false] {
            let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["direct_io = \(directIO)"]])
            let lines = try SyscallTrace.lines(of: daemon, in: env, name: "direct-\(directIO)",
                                               arguments: ["-e", "trace=openat,fcntl,pwrite64", "-e", "abbrev=all", "-s", "0"]) {
                let outcome = try env.upload([file.path], to: daemon, dest: "direct-\(directIO)", timeout: 30)
                XCTAssertEqual(outcome.status, 0, "ferry upload: \(outcome.run.stderr)")
            }

            // The .part's open: O_DIRECT exactly when direct_io is on.
            let opens = lines.filter { $0.contains("openat(") && $0.contains(".part\"") && $0.contains("O_CREAT") }
            XCTAssertEqual(opens.count, 1, "one .part opened\n\(opens)")
            guard let open = opens.first, let fd = Self.result(of: open) else { return XCTFail("no .part open in\n\(lines)") }
            XCTAssertEqual(open.contains("O_DIRECT"), directIO, open)

            // The writes to that descriptor, in order: (offset, length).
            let writes = lines.compactMap { Self.pwrite(in: $0, fd: fd) }
            XCTAssertEqual(writes.map(\.length).reduce(0, +), size, "every byte written once\n\(writes)")
            if directIO {
                XCTAssertGreaterThan(writes.count, 2, "several batches")
                for write in writes.dropLast() {
                    XCTAssertEqual(write.offset % 4096, 0, "unaligned O_DIRECT offset: \(write)")
                    XCTAssertEqual(write.length % 4096, 0, "unaligned O_DIRECT length: \(write)")
                }
                let clears = lines.filter { $0.contains("fcntl(\(fd), F_SETFL") && !$0.contains("O_DIRECT") }
                XCTAssertEqual(clears.count, 1, "O_DIRECT cleared once, for the last partial block\n\(lines.filter { $0.contains("fcntl(") })")
                XCTAssertEqual(writes.last?.length, size % 4096, "the last write is the partial block")
            } else {
                XCTAssertFalse(lines.contains { $0.contains("fcntl(\(fd), F_SETFL") }, "no O_DIRECT to clear")
            }
            let stored = daemon.area("alice").appendingPathComponent("direct-\(directIO)/data.bin")
            XCTAssertEqual(try Content.sha256(of: stored), expected, "direct_io = \(directIO): stored copy differs")
            XCTAssertEqual(daemon.stagingEntries(), [])
            XCTAssertTrue(daemon.stop())
        }
    }

    /// The return value of a traced call ("... = 12").
    private static func result(of line: String) -> Int? {
        guard let range = line.range(of: " = ", options: .backwards) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// `pwrite64(fd, ..., length, offset) = written` on `fd`, as (offset, length written).
    private static func pwrite(in line: String, fd: Int) -> (offset: Int, length: Int)? {
        guard let start = line.range(of: "pwrite64(\(fd), "), let equals = line.range(of: " = ", options: .backwards),
              let written = result(of: line) else { return nil }
        let call = line[start.upperBound..<equals.lowerBound].trimmingCharacters(in: .whitespaces)
        guard call.hasSuffix(")") else { return nil }
        let arguments = call.dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard arguments.count >= 3, let offset = Int(arguments[arguments.count - 1]) else { return nil }
        return (offset, written)
    }
}
