// A byte buffer at a stable heap address, for file I/O on libuv's thread pool (ThreadPool.run with BlockingFileIO):
// the job's closure holds the buffer until its completion, so the bytes are neither copied nor freed while a worker
// thread uses them. Reused for every batch (IOBufferPool): no allocation, and no page faults of fresh memory, per batch.

public final class IOBuffer: @unchecked Sendable {
    // @unchecked: used on one loop thread; while a thread-pool operation holds it the owner does not touch it (the
    // ThreadPool.run contract), and libuv's queue/complete hand-off orders the accesses.
    public private(set) var capacity: Int
    public private(set) var count = 0
    private var base: UnsafeMutableRawPointer

    public init(capacity: Int) {
        precondition(capacity > 0, "IOBuffer of \(capacity) bytes")
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { base.deallocate() }

    public var isEmpty: Bool { count == 0 }

    /// Appends `bytes`, growing the buffer if they do not fit (never while an operation uses it).
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, let source = bytes.baseAddress else { return }
        if count + bytes.count > capacity { grow(to: count + bytes.count) }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// Room for `length` more bytes after the current ones (the buffer grows if needed), for a producer that writes
    /// them in place (the daemon decrypts Data straight here); `didAppend` counts them in. Valid until the next call
    /// that may grow the buffer.
    public func reserveTail(_ length: Int) -> UnsafeMutableRawBufferPointer {
        precondition(length >= 0, "reserve of \(length) bytes")
        if count + length > capacity { grow(to: count + length) }
        return UnsafeMutableRawBufferPointer(start: base + count, count: length)
    }

    /// Counts in `length` bytes written into the room `reserveTail` gave.
    public func didAppend(_ length: Int) {
        precondition(length >= 0 && count + length <= capacity, "append of \(length) bytes after \(count) of \(capacity)")
        count += length
    }

    public func removeAll() { count = 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The storage for a read: `count` is set by `didFill`.
    var unsafeStorage: UnsafeMutableRawPointer { base }

    func didFill(_ bytes: Int) {
        precondition(bytes >= 0 && bytes <= capacity, "read of \(bytes) into \(capacity)")
        count = bytes
    }

    private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 4096)
        bigger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }
}
