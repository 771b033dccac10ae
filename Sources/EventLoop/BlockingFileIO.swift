// Blocking file reads and writes for code already running on a thread-pool thread (ThreadPool.run), where a second
// uv_fs request would only add a hop. Never call these on a loop thread.
internal import CLibUV
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

public enum BlockingFileIO {
    /// pwrite(2) of all of `bytes` at `offset`, continuing after short writes and EINTR.
    public static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64) -> Result<Int, UVError> {
        var written = 0
        while written < bytes.count {
            let rc = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if rc < 0 {
                if errno == EINTR { continue }
                return .failure(UVError(code: -errno, function: "pwrite"))  // libuv codes are -errno on Unix
            }
            if rc == 0 { return .failure(UVError(code: -EIO, function: "pwrite")) }
            written += rc
        }
        return .success(written)
    }

    /// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: asks the kernel to start writing the range's dirty pages now.
    /// Best effort (a failure only means the final fsync has more to do); no durability guarantee by itself. A no-op
    /// where the call does not exist.
    public static func startWriteback(fd: Int32, offset: Int64, length: Int64) {
        #if os(Linux)
        _ = clibuv_start_writeback(fd, offset, length)
        #endif
    }

    /// O_DIRECT for `open` flags on this architecture; 0 where it is not known (then no direct I/O is attempted).
    public static let directIOFlag: Int32 = {
        #if os(Linux)
        clibuv_o_direct()
        #else
        0
        #endif
    }()

    /// Sets or clears O_DIRECT on an open file (fcntl F_SETFL); nil on success.
    public static func setDirectIO(fd: Int32, _ on: Bool) -> UVError? {
        guard directIOFlag != 0 else { return nil }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return UVError(code: -errno, function: "fcntl(F_GETFL)") }
        let wanted = on ? flags | directIOFlag : flags & ~directIOFlag
        guard wanted != flags else { return nil }
        return fcntl(fd, F_SETFL, wanted) < 0 ? UVError(code: -errno, function: "fcntl(F_SETFL)") : nil
    }

    /// pread(2) of up to `count` bytes at `offset` into `buffer` (its count set to what was read; short only at end
    /// of file). The buffer must not be in use by the loop thread.
    public static func read(fd: Int32, into buffer: IOBuffer, count: Int, offset: Int64) -> Result<Int, UVError> {
        precondition(count > 0 && count <= buffer.capacity, "read of \(count) bytes into \(buffer.capacity)")
        var total = 0
        while total < count {
            let rc = pread(fd, buffer.unsafeStorage + total, count - total, off_t(offset) + off_t(total))
            if rc < 0 {
                if errno == EINTR { continue }
                return .failure(UVError(code: -errno, function: "pread"))
            }
            if rc == 0 { break }
            total += rc
        }
        buffer.didFill(total)
        return .success(total)
    }
}
