// Reusable IOBuffers of one loop (single-threaded, no locking): an upload takes its buffers when it starts and gives
// them back when it ends, so back-to-back and concurrent uploads reuse memory that is already paged in instead of
// page-faulting fresh multi-hundred-KiB blocks per file (glibc serves those with mmap and unmaps them at free).
//
// Bounded twice: at most `maximumKept` buffers wait in the pool, and a buffer that grew beyond `maximumCapacity` is
// freed rather than kept. `trimIfUnused()`, called periodically by the owner, frees everything kept when nothing was
// taken since the previous call, so an idle daemon holds no upload buffers.
public final class IOBufferPool {
    public let bufferCapacity: Int
    public let maximumKept: Int
    public let maximumCapacity: Int
    private var kept: [IOBuffer] = []
    private var takenSinceTrim = false
    /// Buffers taken and not given back yet.
    public private(set) var outstanding = 0

    public init(bufferCapacity: Int, maximumKept: Int, maximumCapacity: Int) {
        precondition(bufferCapacity > 0 && maximumKept >= 0 && maximumCapacity >= bufferCapacity, "IOBufferPool bounds")
        self.bufferCapacity = bufferCapacity
        self.maximumKept = maximumKept
        self.maximumCapacity = maximumCapacity
    }

    /// An empty buffer of at least `bufferCapacity` bytes.
    public func take() -> IOBuffer {
        takenSinceTrim = true
        outstanding += 1
        return kept.popLast() ?? IOBuffer(capacity: bufferCapacity)
    }

    /// Returns a buffer no operation uses any more.
    public func give(_ buffer: IOBuffer) {
        buffer.removeAll()
        outstanding -= 1
        if kept.count < maximumKept, buffer.capacity <= maximumCapacity { kept.append(buffer) }
    }

    /// Buffers waiting in the pool.
    public var keptCount: Int { kept.count }

    /// Frees the kept buffers if none was taken since the last call.
    public func trimIfUnused() {
        if !takenSinceTrim { kept.removeAll() }
        takenSinceTrim = false
    }
}
