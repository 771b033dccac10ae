// A uv_timer_t. Open from init until close(); start/stop any number of times in between.
//
//     open(stopped) ──start()──▶ open(armed) ──fires (one-shot) / stop()──▶ open(stopped)
//     any open state ──close()──▶ closing ──close callback──▶ closed (handle freed, callback dropped)
//
// An open timer that is never closed keeps its handle (and the loop object) alive until `EventLoop.close()`.
internal import CLibUV

public final class LoopTimer: LoopHandleOwner {
    private enum State { case open, closing, closed }

    private let loop: EventLoop
    private let timer: UnsafeMutablePointer<uv_timer_t>
    private var state = State.open
    private var callback: (() -> Void)?

    /// uv_timer_init (cannot fail). The timer is stopped until `start`.
    public init(loop: EventLoop) {
        precondition(!loop.isClosed, "LoopTimer on a closed EventLoop")
        self.loop = loop
        timer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        let rc = uv_timer_init(loop.raw, timer)
        precondition(rc == 0, "uv_timer_init failed: \(rc)")
        timer.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in timerDidClose
    }

    /// uv_timer_start: fires after `afterMilliseconds` (relative to the loop's cached `nowMilliseconds`), then every
    /// `repeatMilliseconds` if that is non-zero. Restarting replaces the callback and the schedule. No-op after close.
    public func start(afterMilliseconds: UInt64, repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void) {
        guard state == .open else { return }
        self.callback = callback
        let rc = uv_timer_start(timer, timerDidFire, afterMilliseconds, repeatMilliseconds)
        precondition(rc == 0, "uv_timer_start failed: \(rc)")  // only EINVAL for a closing handle, excluded above
    }

    /// uv_timer_stop: the callback does not run until the next `start`.
    public func stop() {
        guard state == .open else { return }
        _ = uv_timer_stop(timer)
    }

    /// Whether the timer is armed (uv_is_active).
    public var isActive: Bool {
        state == .open && uv_is_active(asHandle(timer)) != 0
    }

    /// uv_ref / uv_unref: an armed timer that does not keep the loop alive lets `run()` return once all other
    /// work is done (a test watchdog, a periodic status log).
    public var keepsLoopAlive: Bool {
        get { state == .open && uv_has_ref(asHandle(timer)) != 0 }
        set {
            guard state == .open else { return }
            if newValue { uv_ref(asHandle(timer)) } else { uv_unref(asHandle(timer)) }
        }
    }

    /// Idempotent; stops the timer and frees the handle in its close callback.
    public func close() {
        guard state == .open else { return }
        state = .closing
        uv_close(asHandle(timer), timerDidClose)
    }

    fileprivate func fire() {
        guard state == .open, let callback else { return }
        callback()  // may call start, stop or close
    }

    fileprivate func didClose() {
        state = .closed
        callback = nil  // breaks the cycle of a callback that captures the timer
        timer.deallocate()
    }
}

private func timerDidFire(_ timer: UnsafeMutablePointer<uv_timer_t>?) {
    Unmanaged<LoopTimer>.fromOpaque(timer!.pointee.data!).takeUnretainedValue().fire()
}

private func timerDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    Unmanaged<LoopTimer>.fromOpaque(handle!.pointee.data!).takeRetainedValue().didClose()
}
