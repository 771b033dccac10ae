// A lock for the store's bookkeeping, which the thread pool's threads take many times a second for a few
// dictionary updates: glibc's default pthread mutex. Not Synchronization.Mutex: on Linux that one is a
// priority-inheritance futex, which hands a released lock to the waiter the kernel woke — on a machine with fewer
// cores than threads, often a thread not yet running — and spins meanwhile; with four pool threads on two cores a
// small-file upload spent a tenth of the daemon's CPU spinning there. This one neither spins nor hands over: the
// woken waiter competes like any other thread.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class PlainMutex<Value>: @unchecked Sendable {
    // @unchecked: `value` is only reached under `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // A default mutex: glibc's init cannot fail (no attributes, no allocation).
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
