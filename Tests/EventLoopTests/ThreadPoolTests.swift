// ThreadPool (uv_queue_work) and BlockingFileIO, and the loop-wide buffers: the shared read buffer under many
// concurrent connections, and pooled blocks for large writes.
import EventLoop
import Foundation
import Platform
import TestSupport
import XCTest

final class ThreadPoolTests: XCTestCase {
    /// Work runs on a pool thread, the completion on the loop thread, exactly once each, with the work's result.
    func testWorkRunsOffTheLoopThreadAndCompletesOnIt() throws {
        let loop = try EventLoop()
        let loopThread = pthread_self()
        var completions: [Int: Int] = [:]
        var completedOnLoop = true
        let workThreads = ThreadIDs()
        for index in 0..<64 {
            ThreadPool.run(loop, { () -> Int in
                workThreads.record(pthread_self())
                return index * index
            }, then: { result in
                completedOnLoop = completedOnLoop && pthread_equal(pthread_self(), loopThread) != 0
                completions[index, default: 0] += result == index * index ? 1 : 1000
            })
        }
        XCTAssertTrue(completions.isEmpty, "a completion ran inside ThreadPool.run")
        runLoop(loop)
        XCTAssertEqual(completions.count, 64)
        XCTAssertTrue(completions.values.allSatisfy { $0 == 1 }, "each completion once, with its own result: \(completions)")
        XCTAssertTrue(completedOnLoop, "a completion ran off the loop thread")
        XCTAssertFalse(workThreads.contains(loopThread), "work ran on the loop thread")
        XCTAssertTrue(loop.close())
    }

    /// pwrite then pread through BlockingFileIO on the pool; a read past the end is short; a bad descriptor is an
    /// error with the call's name, not a crash.
    func testBlockingFileIOWritesReadsAndReportsErrors() throws {
        let loop = try EventLoop()
        let path = try makeTemporaryDirectory("blocking").appending("file").path
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let data = Pattern.bytes(from: 7, count: 300_001)
        let buffer = IOBuffer(capacity: 1 << 20)
        var written: Result<Int, SystemError>?
        var read: Result<Int, SystemError>?
        var readPastEnd: Result<Int, SystemError>?
        var badFD: Result<Int, SystemError>?
        let payload = IOBuffer(capacity: data.count)
        data.withUnsafeBytes { payload.append($0) }
        ThreadPool.run(loop, { payload.withUnsafeBytes { BlockingFileIO.write(fd: fd, $0, offset: 5) } }, then: { result in
            written = result
            ThreadPool.run(loop, { BlockingFileIO.read(fd: fd, into: buffer, count: data.count, offset: 5) }, then: {
                read = $0
                let copy = buffer.withUnsafeBytes { Array($0) }
                XCTAssertEqual(copy, data, "read back differs")
                let tail = IOBuffer(capacity: 4096)
                ThreadPool.run(loop, { BlockingFileIO.read(fd: fd, into: tail, count: 4096, offset: Int64(data.count)) },
                               then: { readPastEnd = $0 })
            })
        })
        ThreadPool.run(loop, { BlockingFileIO.read(fd: -1, into: IOBuffer(capacity: 16), count: 16, offset: 0) },
                       then: { badFD = $0 })
        runLoop(loop)
        XCTAssertEqual(try written?.get(), data.count)
        XCTAssertEqual(try read?.get(), data.count)
        XCTAssertEqual(try readPastEnd?.get(), 5, "a read at the end of the data returns the 5 bytes the offset shifted past it")
        guard case .failure(let error)? = badFD else { return XCTFail("read of fd -1: \(String(describing: badFD))") }
        XCTAssertEqual(error.name, "EBADF")
        XCTAssertEqual(error.function, "pread")
        XCTAssertTrue(loop.close())
    }

    /// Eight connections send 1 MiB each at once, in large writes (the pooled path) and small ones, to eight
    /// accepted connections that all read into the loop's one read buffer: every stream arrives byte-exact.
    func testConcurrentConnectionsShareTheReadBufferWithoutMixingStreams() throws {
        let loop = try EventLoop()
        let connections = 8
        let total = 1 << 20
        var offsets: [Int: Int?] = [:]  // stream id → next expected offset (nil after a mismatch)
        var ended = 0
        var delegates: [RecordingDelegate] = []
        var accepted = 0
        var listener: TCPListener?
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { connection in
            let delegate = RecordingDelegate()
            delegate.keepsBytes = false
            // The first 4 bytes of each stream name it; the rest is Pattern from that stream's own start.
            var header: [UInt8] = []
            var stream = -1
            delegate.onRead = { _, _, bytes in
                var rest = bytes[...]
                if header.count < 4 {
                    let take = min(4 - header.count, rest.count)
                    header += rest.prefix(take)
                    rest = rest.dropFirst(take)
                    if header.count == 4 {
                        stream = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
                        offsets[stream] = stream * 1000
                    }
                }
                guard stream >= 0, !rest.isEmpty, let expected = offsets[stream] ?? nil else { return }
                offsets[stream] = Pattern.check(UnsafeRawBufferPointer(rebasing: rest), at: expected)
            }
            delegate.onEnd = { _, connection in
                ended += 1
                connection.close()
            }
            delegates.append(delegate)
            connection.delegate = delegate
            connection.startReading()
            accepted += 1
            if accepted == connections { listener?.close() }
        }
        let senders = RecordingDelegate()
        senders.onDrain = { _, connection in connection.closeAfterPendingWrites() }
        for stream in 0..<connections {
            TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener!.localPort) { result in
                guard case .success(let connection) = result else { return XCTFail("connect failed") }
                connection.delegate = senders
                connection.write([0, 0, UInt8(stream >> 8), UInt8(stream & 0xff)])
                var offset = 0
                var piece = stream
                while offset < total {
                    // Alternate big (≥ 64 KiB: pooled block) and small writes.
                    let count = min(piece % 2 == 0 ? 200_000 + piece * 17 : 1 + piece * 131 % 9000, total - offset)
                    connection.write(Pattern.bytes(from: stream * 1000 + offset, count: count))
                    offset += count
                    piece += 1
                }
            }
        }
        runLoop(loop, timeoutMilliseconds: 20_000)
        XCTAssertEqual(ended, connections)
        XCTAssertEqual(offsets.count, connections)
        for stream in 0..<connections {
            XCTAssertEqual(offsets[stream] ?? nil, stream * 1000 + total, "stream \(stream) arrived damaged or short")
        }
        XCTAssertTrue(loop.close())
    }
}

/// Thread ids seen by pool work (appended from several threads).
private final class ThreadIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [pthread_t] = []
    func record(_ id: pthread_t) { lock.lock(); ids.append(id); lock.unlock() }
    func contains(_ id: pthread_t) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return ids.contains { pthread_equal($0, id) != 0 }
    }
}

final class IOBufferPoolTests: XCTestCase {
    /// A given-back buffer is the next one taken (emptied); the pool keeps at most `maximumKept`, never one that grew
    /// past `maximumCapacity`, and `trimIfUnused` empties it only after a period in which nothing was taken.
    func testReuseBoundsAndIdleTrim() {
        let pool = IOBufferPool(bufferCapacity: 1024, maximumKept: 2, maximumCapacity: 4096)
        let first = pool.take()
        [UInt8](repeating: 1, count: 100).withUnsafeBytes { first.append($0) }
        pool.give(first)
        let again = pool.take()
        XCTAssertTrue(again === first, "the kept buffer is reused")
        XCTAssertEqual(again.count, 0, "and handed out empty")

        let grown = pool.take()
        [UInt8](repeating: 2, count: 5000).withUnsafeBytes { grown.append($0) }  // grows past maximumCapacity
        pool.give(grown)
        XCTAssertEqual(pool.keptCount, 0, "a buffer that grew past the cap is freed, not kept")

        let buffers = (0..<3).map { _ in pool.take() } + [again]
        XCTAssertEqual(pool.outstanding, 4, "three taken and the reused one still out")
        for buffer in buffers { pool.give(buffer) }
        XCTAssertEqual(pool.outstanding, 0)
        XCTAssertEqual(pool.keptCount, 2, "at most maximumKept")

        pool.trimIfUnused()  // buffers were taken since the pool was made: kept
        XCTAssertEqual(pool.keptCount, 2)
        pool.trimIfUnused()  // a whole period without a take: freed
        XCTAssertEqual(pool.keptCount, 0)
    }

    /// Large buffers do not pile up: what is kept is bounded in bytes too, and taking gives the bytes back.
    func testKeptCapacityIsBoundedInBytes() {
        let pool = IOBufferPool(bufferCapacity: 1024, maximumKept: 8, maximumCapacity: 16384, maximumKeptBytes: 20000)
        let buffers = (0..<3).map { _ in pool.take() }
        for buffer in buffers { [UInt8](repeating: 3, count: 8000).withUnsafeBytes { buffer.append($0) } }  // ≥ 8000 each
        for buffer in buffers { pool.give(buffer) }
        XCTAssertEqual(pool.keptCount, 2, "a third 8 KiB-plus buffer would pass 20,000 bytes kept")
        XCTAssertLessThanOrEqual(pool.keptBytes, 20000)
        _ = pool.take()
        XCTAssertEqual(pool.keptCount, 1)
        XCTAssertEqual(pool.keptBytes, buffers[0].capacity, "the taken buffer's bytes left the count")
        pool.trimIfUnused()
        pool.trimIfUnused()
        XCTAssertEqual(pool.keptBytes, 0)
    }
}
