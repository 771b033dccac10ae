// One libuv loop, owned by one thread.
//
// Lifecycle (libuv docs/src/loop.rst, handle.rst):
//
//     init ──▶ ready ──run()──▶ running ──(stop() or no active handles)──▶ ready ──close()──▶ closed
//
// Every handle in this module (TCPListener, TCPConnection, LoopTimer, SignalWatcher, LoopWaker) holds the loop
// strongly, and the handle holds its owner through `handle.data` until its close callback. So an `EventLoop` cannot
// be deinitialised while any of its handles is open: `close()` (or each handle's own `close()`) is the way out.
//
// Everything here runs on the loop's thread. The only cross-thread entry point is `LoopWaker.wake()`.
internal import CLibUV
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

public final class EventLoop {
    /// The uv_loop_t, at a stable heap address; deallocated in deinit (after uv_loop_close succeeded).
    let raw: UnsafeMutablePointer<uv_loop_t>
    private var isRunning = false
    public private(set) var isClosed = false
    /// What every TCPConnection of this loop reads into (see TCPConnection.nextReadBuffer), allocated on first use.
    private var sharedReadBuffer: UnsafeMutableRawBufferPointer?
    /// Payload buffers of large socket writes, reused instead of freed (WriteRequest).
    let writeBuffers = WriteBufferPool()

    /// Bytes one socket read may return. 256 KiB: four 64 KiB records per read(2) at full speed (libuv reads up to 32
    /// times per wakeup), and one buffer per loop however many connections it serves.
    public static let readBufferSize = 256 * 1024

    var readBuffer: UnsafeMutableRawBufferPointer {
        if let sharedReadBuffer { return sharedReadBuffer }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.readBufferSize, alignment: 64)
        sharedReadBuffer = buffer
        return buffer
    }

    /// uv_loop_init on a heap-allocated uv_loop_t.
    public init() throws(UVError) {
        let raw = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        do {
            try uvCheck(uv_loop_init(raw), "uv_loop_init")
        } catch {
            raw.deallocate()
            throw error
        }
        self.raw = raw
        raw.pointee.data = nil
        EventLoop.ignoreBrokenPipeSignal()
    }

    /// libuv writes to sockets with write(2)/writev(2), which raise SIGPIPE when the peer has gone; on Linux it
    /// neither sets MSG_NOSIGNAL (too costly, joyent/libuv#1254) nor ignores the signal for the application
    /// (nikhilm/uvbook#4). A daemon must survive that and see EPIPE instead, as Redis does in setupSignalHandlers.
    /// So every loop init sets SIGPIPE to SIG_IGN unless the process installed a handler of its own (a disposition
    /// other than SIG_DFL is left alone). Process-wide, idempotent, no stored state. Without it the tests that
    /// close one end while the other writes die with signal 13.
    private static func ignoreBrokenPipeSignal() {
        var current = sigaction()
        guard sigaction(SIGPIPE, nil, &current) == 0 else { return }
        var ignore = sigaction()
        sigemptyset(&ignore.sa_mask)
        #if os(Linux)
        guard current.__sigaction_handler.sa_handler == nil else { return }  // SIG_DFL is the null handler
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        #else
        guard current.__sigaction_u.__sa_handler == nil else { return }
        ignore.__sigaction_u.__sa_handler = SIG_IGN
        #endif
        _ = sigaction(SIGPIPE, &ignore, nil)
    }

    deinit {
        sharedReadBuffer?.deallocate()
        // Handles retain the loop, so none of ours is open here. If uv_loop_close still fails (a handle that is
        // not ours), leaking the loop memory is safer than freeing memory libuv may still touch.
        if !isClosed {
            if uv_loop_close(raw) == 0 { raw.deallocate() }
        } else {
            raw.deallocate()
        }
    }

    /// uv_run(UV_RUN_DEFAULT): returns after `stop()` or when no active, referenced handles or requests remain.
    /// Not re-entrant: calling it from a callback of the same loop is a bug.
    public func run() {
        precondition(!isRunning, "EventLoop.run() called from inside the loop")
        precondition(!isClosed, "EventLoop.run() after close()")
        isRunning = true
        defer { isRunning = false }
        _ = uv_run(raw, UV_RUN_DEFAULT)
    }

    /// uv_stop: `run()` returns after the current iteration.
    public func stop() {
        guard !isClosed else { return }
        uv_stop(raw)
    }

    /// uv_now: the loop's cached time in milliseconds, updated at the start of each iteration.
    public var nowMilliseconds: UInt64 {
        isClosed ? 0 : uv_now(raw)
    }

    /// uv_update_time: refreshes `nowMilliseconds` (useful after a long callback).
    public func updateTime() {
        guard !isClosed else { return }
        uv_update_time(raw)
    }

    /// uv_hrtime: a monotonic clock in nanoseconds.
    public static var hrtimeNanoseconds: UInt64 { uv_hrtime() }

    /// Handles registered with the loop that are not closing (uv_walk count, internal handles excluded).
    /// A stopped timer counts: it is open, just not active. 0 after `close()`.
    public var activeHandleCount: Int {
        guard !isClosed else { return 0 }
        var count = 0
        withUnsafeMutablePointer(to: &count) { counter in
            uv_walk(raw, countOpenHandle, counter)
        }
        return count
    }

    /// Closes every remaining handle (uv_walk), runs the loop until their close callbacks and any pending requests
    /// have finished, then uv_loop_close. Returns true when the loop closed cleanly (MAKE_VALGRIND_HAPPY).
    /// A close or completion callback may open new handles; they are closed in the next round, up to a bound.
    /// Must not be called while `run()` is on the stack. Idempotent.
    @discardableResult
    public func close() -> Bool {
        precondition(!isRunning, "EventLoop.close() called from inside the loop")
        guard !isClosed else { return true }
        for _ in 0..<EventLoop.maximumCloseRounds {
            uv_walk(raw, closeWalkedHandle, nil)
            _ = uv_run(raw, UV_RUN_DEFAULT)
            if uv_loop_close(raw) == 0 {
                isClosed = true
                return true
            }
        }
        return false
    }

    /// How often `close()` walks and drains before giving up (each round handles callbacks that opened handles).
    static let maximumCloseRounds = 8

    /// Runs `body` on the loop thread in a later iteration, without a handle: a thread-pool job with no work, whose
    /// completion runs on the loop thread. Used to report errors that a libuv call returned synchronously, so that
    /// completions never run inside the call that started them.
    func enqueue(_ body: @escaping () -> Void) {
        precondition(!isClosed, "EventLoop used after close()")
        ThreadPool.run(self, {}, then: { body() })
    }
}

/// The protocol every handle owner in this module adopts, so that `EventLoop.close()` can close it via uv_walk
/// through its own `close()` (which releases its context in the close callback).
protocol LoopHandleOwner: AnyObject {
    func close()
}

private func countOpenHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ arg: UnsafeMutableRawPointer?) {
    guard let handle, let arg, uv_is_closing(handle) == 0 else { return }
    arg.assumingMemoryBound(to: Int.self).pointee += 1
}

private func closeWalkedHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ arg: UnsafeMutableRawPointer?) {
    guard let handle, uv_is_closing(handle) == 0 else { return }
    if let data = handle.pointee.data,
       let owner = Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue() as? LoopHandleOwner {
        owner.close()
    } else {
        uv_close(handle, nil)  // not ours: nothing to release
    }
}

// MARK: - Handle pointer casts (libuv's C "inheritance": every handle struct starts with the uv_handle_t fields).

@inline(__always)
func asHandle<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_handle_t.self)
}

@inline(__always)
func asStream<T>(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_stream_t.self)
}
