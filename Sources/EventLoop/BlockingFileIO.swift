// Blocking file reads and writes for code already running on a thread-pool thread (ThreadPool.run), where a second
// uv_fs request would only add a hop. Never call these on a loop thread.
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
