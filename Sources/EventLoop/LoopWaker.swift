// A uv_async_t: the only way another thread reaches a loop.
//
// `wake()` may be called from any thread; the callback runs on the loop thread. Several wakes before the loop gets
// to it coalesce into one callback (libuv docs, uv_async_send), so the callback must drain whatever queue the other
// thread filled, not assume one call per wake.
//
//     open ──close() (loop thread)──▶ closing ──close callback──▶ closed (handle freed)
//
// `wake()` and `close()` take one lock around the "open" flag, so no uv_async_send can hit a handle that is closing
// or already freed. That lock is why this class is `@unchecked Sendable`: every other member is touched only on the
// loop thread.
internal import CLibUV
import Synchronization

public final class LoopWaker: LoopHandleOwner, @unchecked Sendable {
    private let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_async_t>
    /// True from init until close(); guards uv_async_send against a closing handle.
    private let isOpen = Mutex(true)
    private var isClosed = false  // loop thread only
    private var callback: (() -> Void)?

    /// uv_async_init. Throws when the loop's wakeup descriptor cannot be created (EMFILE).
    public init(loop: EventLoop, _ callback: @escaping () -> Void) throws(UVError) {
        precondition(!loop.isClosed, "LoopWaker on a closed EventLoop")
        let handle = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        let rc = uv_async_init(loop.raw, handle, loopWakerDidWake)
        if rc < 0 {
            handle.deallocate()  // uv_async_init registers the handle only on success
            throw uvError(rc, "uv_async_init")
        }
        self.loop = loop
        self.handle = handle
        self.callback = callback
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in loopWakerDidClose
    }

    /// Thread-safe (uv_async_send). No-op after close.
    public func wake() {
        isOpen.withLock { open in
            if open { _ = uv_async_send(handle) }
        }
    }

    /// uv_ref / uv_unref (loop thread only): an open waker keeps `run()` from returning unless unreferenced.
    public var keepsLoopAlive: Bool {
        get { !isClosed && uv_has_ref(asHandle(handle)) != 0 }
        set {
            guard !isClosed else { return }
            if newValue { uv_ref(asHandle(handle)) } else { uv_unref(asHandle(handle)) }
        }
    }

    /// Loop thread only. Idempotent; later `wake()` calls from other threads do nothing.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        isOpen.withLock { $0 = false }
        uv_close(asHandle(handle), loopWakerDidClose)
    }

    fileprivate func fire() {
        guard !isClosed, let callback else { return }
        callback()
    }

    fileprivate func didClose() {
        callback = nil
        handle.deallocate()
    }
}

private func loopWakerDidWake(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    Unmanaged<LoopWaker>.fromOpaque(handle!.pointee.data!).takeUnretainedValue().fire()
}

private func loopWakerDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    Unmanaged<LoopWaker>.fromOpaque(handle!.pointee.data!).takeRetainedValue().didClose()
}
