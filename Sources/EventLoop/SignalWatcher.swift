// A uv_signal_t: runs a callback on the loop thread when the process receives `signal`.
//
// libuv installs one process-wide handler per signal and forwards through a pipe, so the callback runs in normal
// context (not in the signal handler). Exactly one component may own each signal (notes, Pitfall 5). After the last
// watcher for a signal closes, libuv restores the default disposition.
//
//     open (watching) ──close()──▶ closing ──close callback──▶ closed
internal import CLibUV

public final class SignalWatcher: LoopHandleOwner {
    private enum State { case open, closing, closed }

    private let loop: EventLoop
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private var state = State.open
    private var callback: ((Int32) -> Void)?
    public let signal: Int32

    /// uv_signal_init + uv_signal_start. Throws EINVAL for an invalid signal number.
    public init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(UVError) {
        precondition(!loop.isClosed, "SignalWatcher on a closed EventLoop")
        let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
        let initRC = uv_signal_init(loop.raw, handle)
        if initRC < 0 {
            handle.deallocate()  // uv_signal_init registers the handle only on success
            throw uvError(initRC, "uv_signal_init")
        }
        self.loop = loop
        self.handle = handle
        self.signal = signal
        self.callback = callback
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in signalWatcherDidClose
        do {
            try uvCheck(uv_signal_start(handle, signalWatcherDidFire, signal), "uv_signal_start")
        } catch {
            close()
            throw error
        }
    }

    /// uv_ref / uv_unref: a daemon's SIGHUP/SIGTERM watchers usually should not keep the loop alive by themselves.
    public var keepsLoopAlive: Bool {
        get { state == .open && uv_has_ref(asHandle(handle)) != 0 }
        set {
            guard state == .open else { return }
            if newValue { uv_ref(asHandle(handle)) } else { uv_unref(asHandle(handle)) }
        }
    }

    /// Idempotent; stops watching and frees the handle in its close callback.
    public func close() {
        guard state == .open else { return }
        state = .closing
        uv_close(asHandle(handle), signalWatcherDidClose)
    }

    fileprivate func fire(_ signal: Int32) {
        guard state == .open, let callback else { return }
        callback(signal)
    }

    fileprivate func didClose() {
        state = .closed
        callback = nil
        handle.deallocate()
    }
}

private func signalWatcherDidFire(_ handle: UnsafeMutablePointer<uv_signal_t>?, _ signal: Int32) {
    Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data!).takeUnretainedValue().fire(signal)
}

private func signalWatcherDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    Unmanaged<SignalWatcher>.fromOpaque(handle!.pointee.data!).takeRetainedValue().didClose()
}
