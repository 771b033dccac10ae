// Issue #7: "memory flat under a slow disk". The daemon is put in a cgroup (v1 blkio) that throttles writes to its
// storage device to 24 MB/s — a disk twenty times slower than the loopback network — and four uploads run at once.
// Back-pressure must hold the surplus in the clients (the session stops reading, TCP stops the sender), not in the
// daemon: its peak RSS may grow by the worker's write budget (16 MiB) plus each session's receive buffer, not by the
// hundreds of MiB that would otherwise queue. Needs root and the v1 blkio controller; skipped otherwise.
import Foundation
import TestSupport
import XCTest

final class SlowDiskTests: XCTestCase {
    static let throttleBytesPerSecond = 24 << 20
    static let files = 4
    static let fileSize = 48 << 20

    func testDaemonMemoryStaysFlatWhenTheDiskIsSlowerThanTheNetwork() throws {
        let blkio = URL(fileURLWithPath: "/sys/fs/cgroup/blkio")
        guard geteuid() == 0, FileManager.default.fileExists(atPath: blkio.appendingPathComponent("cgroup.procs").path) else {
            throw XCTSkip("needs root and the cgroup v1 blkio controller to throttle the daemon's disk")
        }
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let device = try Self.wholeDisk(of: daemon.root)
        let group = blkio.appendingPathComponent("ferry-slow-disk-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: group, withIntermediateDirectories: false)
        // Teardown blocks run last-registered first: stop the daemon (so the group is empty), then remove the group.
        addTeardownBlock {
            daemon.stop()
            _ = rmdir(group.path)
        }
        try "\(device) \(Self.throttleBytesPerSecond)".write(to: group.appendingPathComponent("blkio.throttle.write_bps_device"),
                                                           atomically: false, encoding: .utf8)
        try "\(daemon.pid)".write(to: group.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)

        let source = try env.sourceDirectory("slow")
        var digests: [String: String] = [:]
        for index in 0..<Self.files {
            let file = source.appendingPathComponent("slow-\(index).bin")
            digests[file.path] = try Content.writeLarge(size: UInt64(Self.fileSize), to: file)
        }
        let before = try daemon.memory()
        let outcome = try env.upload(digests.keys.sorted(), to: daemon, parallel: Self.files, timeout: 90)
        let after = try daemon.memory()

        XCTAssertEqual(outcome.status, 0, "\(outcome.run.stderr)")
        for (path, digest) in digests { XCTAssertEqual(outcome.file(path)?.sha256, digest, path) }
        let total = Double(Self.files * Self.fileSize)
        let floor = total / Double(Self.throttleBytesPerSecond)
        report(String(format: "%d × %d MiB through a %d MiB/s disk: %.1f s (the disk alone: %.1f s); ferryd RSS %.1f → peak %.1f MiB",
                      Self.files, Self.fileSize >> 20, Self.throttleBytesPerSecond >> 20, outcome.run.seconds, floor,
                      Double(before.rssKiB) / 1024, Double(after.peakKiB) / 1024))
        // Without this the test would prove nothing: the throttle must have made the disk the bottleneck.
        XCTAssertGreaterThan(outcome.run.seconds, floor * 0.8, "the uploads were not slowed down to the disk's pace")
        // Budget 16 MiB, four 512 KiB receive buffers, and the heap's own slack; an unbounded daemon would hold most of
        // the 192 MiB the clients could send while the disk took 8 s.
        let growthMiB = Double(after.peakKiB - before.rssKiB) / 1024
        XCTAssertLessThan(growthMiB, 40, "ferryd's peak RSS grew by \(growthMiB) MiB behind a slow disk")
        daemon.assertRunning("after the throttled uploads")
    }

    /// "MAJOR:MINOR" of the disk holding `url` (its partition's parent when it is on a partition: throttling rules
    /// take whole disks).
    static func wholeDisk(of url: URL) throws -> String {
        var status = stat()
        guard stat(url.path, &status) == 0 else { throw TestError("stat \(url.path): errno \(errno)") }
        let major = (status.st_dev >> 8) & 0xfff, minor = (status.st_dev & 0xff) | ((status.st_dev >> 12) & 0xfff00)
        let block = URL(fileURLWithPath: "/sys/dev/block/\(major):\(minor)").resolvingSymlinksInPath()
        guard FileManager.default.fileExists(atPath: block.path) else {
            throw XCTSkip("the storage root is not on a block device (\(major):\(minor))")
        }
        let isPartition = FileManager.default.fileExists(atPath: block.appendingPathComponent("partition").path)
        let disk = isPartition ? block.deletingLastPathComponent() : block
        return try String(contentsOf: disk.appendingPathComponent("dev"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
