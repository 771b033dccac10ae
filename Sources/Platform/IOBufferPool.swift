// Reusable IOBuffers of one loop (single-threaded, no locking): an upload takes its buffers when it starts and gives
// them back when it ends, so back-to-back and concurrent uploads reuse memory that is already paged in instead of
// page-faulting fresh multi-hundred-KiB blocks per file (glibc serves those with mmap and unmaps them at free).
//
// Bounded three ways: at most `maximumKept` buffers wait in the pool, together at most `maximumKeptBytes` of capacity
// (buffers grow with their use, so a count alone would let a few large ones pile up), and a buffer that grew beyond
// `maximumCapacity` is freed rather than kept. `trimIfUnused()`, called periodically by the owner, frees everything
// kept when nothing was taken since the previous call, so an idle daemon holds no upload buffers.
public final class IOBufferPool {
    public let bufferCapacity: Int
    public let maximumKept: Int
    public let maximumCapacity: Int
    public let maximumKeptBytes: Int
    private var kept: [IOBuffer] = []
    /// The capacity of the buffers in `kept`.
    public private(set) var keptBytes = 0
    private var takenSinceTrim = false
    /// Buffers taken and not given back yet.
    public private(set) var outstanding = 0

    /// `maximumKeptBytes` defaults to no bound beyond `maximumKept` buffers of `maximumCapacity`.
    public init(bufferCapacity: Int, maximumKept: Int, maximumCapacity: Int, maximumKeptBytes: Int? = nil) {
        precondition(bufferCapacity > 0 && maximumKept >= 0 && maximumCapacity >= bufferCapacity, "IOBufferPool bounds")
        self.bufferCapacity = bufferCapacity
        self.maximumKept = maximumKept
        self.maximumCapacity = maximumCapacity
        self.maximumKeptBytes = maximumKeptBytes ?? maximumKept * maximumCapacity
    }

    /// An empty buffer of at least `bufferCapacity` bytes.
    public func take() -> IOBuffer {
        takenSinceTrim = true
        outstanding += 1
        guard let buffer = kept.popLast() else { return IOBuffer(capacity: bufferCapacity) }
        keptBytes -= buffer.capacity
        return buffer
    }

    /// Returns a buffer no operation uses any more.
    public func give(_ buffer: IOBuffer) {
        buffer.removeAll()
        outstanding -= 1
        guard kept.count < maximumKept, buffer.capacity <= maximumCapacity,
              keptBytes + buffer.capacity <= maximumKeptBytes else { return }
        kept.append(buffer)
        keptBytes += buffer.capacity
    }

    /// Buffers waiting in the pool.
    public var keptCount: Int { kept.count }

    /// Frees the kept buffers if none was taken since the last call.
    public func trimIfUnused() {
        if !takenSinceTrim {
            kept.removeAll()
            keptBytes = 0
        }
        takenSinceTrim = false
    }
}
