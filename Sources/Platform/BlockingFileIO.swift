// Blocking file reads and writes for code already running on a thread-pool thread (ThreadPool.run), where a second
// uv_fs request would only add a hop. Never call these on a loop thread.
internal import CPlatform
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum BlockingFileIO {
    /// pwrite(2) of all of `bytes` at `offset`, continuing after short writes and EINTR.
    public static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64) -> Result<Int, SystemError> {
        var written = 0
        while written < bytes.count {
            let rc = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if rc < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError.last("pwrite"))
            }
            if rc == 0 { return .failure(SystemError(EIO, "pwrite")) }
            written += rc
        }
        return .success(written)
    }

    /// On a descriptor with O_DIRECT: the whole blocks of `bytes` (an aligned buffer, at an `offset` that is a multiple
    /// of `alignment`) straight to the device, then the partial block after them, if any (the end of the file), after
    /// clearing O_DIRECT. A write O_DIRECT refuses (EINVAL: this file system wants a bigger alignment, or none) is
    /// done again through the page cache, and `fellBack` says so (O_DIRECT is then cleared: a flag of the open file).
    public static func writeDirect(fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64,
                                   alignment: Int) -> (Result<Int, SystemError>, fellBack: Bool) {
        let whole = bytes.count / alignment * alignment
        if whole > 0 {
            let written = write(fd: fd, UnsafeRawBufferPointer(rebasing: bytes[..<whole]), offset: offset)
            switch written {
            case .failure(let error) where error.number == EINVAL:
                if let error = setDirectIO(fd: fd, false) { return (.failure(error), true) }
                return (write(fd: fd, bytes, offset: offset), true)
            case .failure:
                return (written, false)
            case .success:
                break
            }
        }
        guard whole < bytes.count else { return (.success(whole), false) }
        if let error = setDirectIO(fd: fd, false) { return (.failure(error), false) }
        let tail = UnsafeRawBufferPointer(rebasing: bytes[whole...])
        return (write(fd: fd, tail, offset: offset + Int64(whole)).map { whole + $0 }, false)
    }

    /// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: asks the kernel to start writing the range's dirty pages now.
    /// Best effort (a failure only means the final fsync has more to do); no durability guarantee by itself. A no-op
    /// where the call does not exist.
    public static func startWriteback(fd: Int32, offset: Int64, length: Int64) {
        #if os(Linux)
        _ = cplatform_start_writeback(fd, offset, length)
        #endif
    }

    /// O_DIRECT for `open` flags on this architecture; 0 where it is not known (then no direct I/O is attempted).
    public static let directIOFlag: Int32 = {
        #if os(Linux)
        cplatform_o_direct()
        #else
        0
        #endif
    }()

    /// Sets or clears O_DIRECT on an open file (fcntl F_SETFL); nil on success.
    public static func setDirectIO(fd: Int32, _ on: Bool) -> SystemError? {
        guard directIOFlag != 0 else { return nil }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return SystemError.last("fcntl(F_GETFL)") }
        let wanted = on ? flags | directIOFlag : flags & ~directIOFlag
        guard wanted != flags else { return nil }
        return fcntl(fd, F_SETFL, wanted) < 0 ? SystemError.last("fcntl(F_SETFL)") : nil
    }

    /// pread(2) of up to `count` bytes at `offset` into `buffer` (its count set to what was read; short only at end
    /// of file). The buffer must not be in use by the loop thread. On a descriptor with O_DIRECT, `alignment` is its
    /// block: `offset` is a multiple of it, the length asked is `count` rounded up to it (the buffer has room for
    /// that), and a read that ends off the alignment is the end of the file.
    public static func read(fd: Int32, into buffer: IOBuffer, count: Int, offset: Int64,
                            alignment: Int = 1) -> Result<Int, SystemError> {
        let asked = (count + alignment - 1) / alignment * alignment
        precondition(count > 0 && asked <= buffer.capacity && offset % Int64(alignment) == 0,
                     "read of \(count) bytes at \(offset) into \(buffer.capacity)")
        var total = 0
        while total < count {
            let rc = pread(fd, buffer.unsafeStorage + total, asked - total, off_t(offset) + off_t(total))
            if rc < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError.last("pread"))
            }
            if rc == 0 { break }
            total += rc
            if rc % alignment != 0 { break }  // the end of the file
        }
        let got = min(total, count)
        buffer.didFill(got)
        return .success(got)
    }
}
