// Lines for people and logs written to a stream (stderr, stdout: a terminal, a pipe, a file) with write(2), from any
// thread, the loop's included: a log line or a progress line costs one system call and never blocks for long on the
// streams a daemon or a command line has.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum TextOutput {
    /// All of `text` to `descriptor`, or as much as goes before an error other than EINTR: an error has nowhere left to
    /// be reported. Not FileHandle: it traps on a failed write (stderr a pipe whose reader went away). False when an
    /// error stopped it (EPIPE: the reader went away, as `ferry ls | head` does; SIGPIPE is ignored, EventLoop).
    @discardableResult
    public static func writeAll(_ text: String, to descriptor: Int32) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return true }
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}
