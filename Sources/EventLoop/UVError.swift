// The one choke point for libuv return codes (STYLE.md item 13, after NIOPosix `syscall(blocking:)`).
//
// libuv reports failure as a negative errno-style integer (`UV_E*`). Every call in this module routes its return code
// through `uvCheck` (handle operations, which throw) or `uvResult` (request results such as `uv_fs_t.result`, which
// become a `Result`). Both build the error in one place, `UVError.make`, which traps on codes that can only mean a
// bug in this module:
//   - EFAULT: we passed libuv a bad pointer.
//   - EBADF, for handle operations only: every handle here owns its descriptor and every public method checks the
//     handle's lifecycle first, so EBADF means we used a closed handle. File descriptors passed to `FileIO` belong to
//     the caller, so there EBADF is reported as an error, not trapped.
// EINTR never reaches us: libuv retries it internally.
internal import CLibUV

public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The negative libuv error code (`UV_ECONNREFUSED`, `UV_EOF`, ...).
    public let code: Int32
    /// The libuv function that returned it, e.g. "uv_listen".
    public let function: String

    public init(code: Int32, function: String) {
        self.code = code
        self.function = function
    }

    /// `uv_err_name`, e.g. "ECONNREFUSED". Uses the `_r` variant so unknown codes do not leak a heap string.
    public var name: String {
        var buffer = [CChar](repeating: 0, count: 64)
        return String(cString: uv_err_name_r(code, &buffer, buffer.count))
    }

    /// `uv_strerror`, e.g. "connection refused".
    public var message: String {
        var buffer = [CChar](repeating: 0, count: 256)
        return String(cString: uv_strerror_r(code, &buffer, buffer.count))
    }

    public var description: String { "\(function): \(name) (\(message))" }

    // Codes callers branch on, so that they need not import CLibUV.
    public static let endOfFile = UV_EOF.rawValue
    public static let addressInUse = UV_EADDRINUSE.rawValue
    public static let connectionRefused = UV_ECONNREFUSED.rawValue
    public static let connectionReset = UV_ECONNRESET.rawValue
    public static let brokenPipe = UV_EPIPE.rawValue
    public static let cancelled = UV_ECANCELED.rawValue
    public static let noSuchFile = UV_ENOENT.rawValue
    public static let fileExists = UV_EEXIST.rawValue
    public static let invalidArgument = UV_EINVAL.rawValue
    public static let badFileDescriptor = UV_EBADF.rawValue
    public static let noBufferSpace = UV_ENOBUFS.rawValue
    public static let tooManyOpenFiles = UV_EMFILE.rawValue
    public static let tooManyOpenFilesInSystem = UV_ENFILE.rawValue

    /// Builds every `UVError` this module throws or reports; traps on our own misuse (see the file comment).
    @inline(never)
    static func make(_ code: Int32, _ function: StaticString, handleOperation: Bool) -> UVError {
        // EFAULT: a pointer we handed libuv was bad. That is a bug here, not a condition to handle.
        precondition(code != UV_EFAULT.rawValue, "\(function) returned EFAULT: invalid pointer passed by EventLoop")
        // EBADF on a handle: the handle's descriptor is ours and the lifecycle checks should have stopped the call.
        precondition(!handleOperation || code != UV_EBADF.rawValue,
                     "\(function) returned EBADF on a handle: used after close")
        return UVError(code: code, function: String(describing: function))
    }
}

/// For calls on handles (`uv_tcp_bind`, `uv_listen`, `uv_read_start`, ...): a negative `rc` throws.
@inline(__always)
func uvCheck(_ rc: Int32, _ function: StaticString) throws(UVError) {
    if rc < 0 { throw UVError.make(rc, function, handleOperation: true) }
}

/// For request results (`uv_fs_t.result`, a callback's `status`): negative is an error, anything else a value.
@inline(__always)
func uvResult(_ rc: Int, _ function: StaticString) -> Result<Int, UVError> {
    rc < 0 ? .failure(UVError.make(Int32(truncatingIfNeeded: rc), function, handleOperation: false)) : .success(rc)
}

/// A status that is an error but is reported, not thrown (read/write/connect callbacks).
@inline(__always)
func uvError(_ rc: Int32, _ function: StaticString) -> UVError {
    UVError.make(rc, function, handleOperation: false)
}
