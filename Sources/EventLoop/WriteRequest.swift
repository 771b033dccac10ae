// One queued uv_write: the request and a copy of its bytes in a single allocation, freed (or pooled) in the write
// callback.
//
//     ┌──────────────┬───────────────────────────┐
//     │ uv_write_t   │ payload (byteCount bytes) │    req.data = byteCount << 1 | pooled (a pointer-sized integer)
//     └──────────────┴───────────────────────────┘
//
// Departure from the brief ("keep the [UInt8] alive until its callback"): the pointer an Array hands out in
// withUnsafeBufferPointer must not outlive that closure (notes, "Write buffers"), so the bytes are copied once into
// memory whose lifetime we own. That costs one memcpy per write and saves a separate context object, so a write
// is exactly one allocation. `req.handle` (set by uv_write) leads back to the connection.
//
// Large writes (a client's batch of sealed records) take their block from the loop's WriteBufferPool: a fresh
// multi-hundred-KiB block each time comes from mmap (glibc's threshold is 128 KiB) and is page-faulted in on every
// write, which cost more than the copy itself (docs/PERFORMANCE.md, "batched client writes").
//
// A sender that produces its bytes anyway (the client sealing Data records) writes them straight into the payload
// (`make(capacity:)` + `finish`): no copy at all.
internal import CLibUV

enum WriteRequest {
    static let payloadOffset: Int = {
        let alignment = 64
        return (MemoryLayout<uv_write_t>.stride + alignment - 1) / alignment * alignment
    }()

    static let alignment = max(64, MemoryLayout<uv_write_t>.alignment)

    /// Allocates the request (from `pool` when it is large) and copies `bytes` after it. `bytes` must not be empty.
    static func make(copying bytes: UnsafeRawBufferPointer, pool: WriteBufferPool)
        -> (request: UnsafeMutablePointer<uv_write_t>, buffer: uv_buf_t) {
        precondition(!bytes.isEmpty && bytes.count <= Int(UInt32.max), "write of \(bytes.count) bytes")
        let (request, payload) = make(capacity: bytes.count, pool: pool)
        payload.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return (request, finish(request, byteCount: bytes.count))
    }

    /// Allocates a request with room for `capacity` payload bytes (a pooled block when `capacity` is large), for the
    /// caller to fill and then `finish`.
    static func make(capacity: Int, pool: WriteBufferPool)
        -> (request: UnsafeMutablePointer<uv_write_t>, payload: UnsafeMutableRawBufferPointer) {
        precondition(capacity > 0 && capacity <= Int(UInt32.max), "write of \(capacity) bytes")
        let pooled = WriteBufferPool.isPooled(capacity)
        let raw = pooled ? pool.take() : UnsafeMutableRawPointer.allocate(byteCount: payloadOffset + capacity, alignment: alignment)
        let request = raw.bindMemory(to: uv_write_t.self, capacity: 1)
        request.pointee.data = UnsafeMutableRawPointer(bitPattern: UInt(pooled ? 1 : 0))
        return (request, UnsafeMutableRawBufferPointer(start: raw + payloadOffset, count: capacity))
    }

    /// Records how many payload bytes were filled and returns the uv_buf_t for uv_write.
    static func finish(_ request: UnsafeMutablePointer<uv_write_t>, byteCount: Int) -> uv_buf_t {
        let pooled = UInt(bitPattern: request.pointee.data) & 1
        request.pointee.data = UnsafeMutableRawPointer(bitPattern: UInt(byteCount) << 1 | pooled)
        let payload = UnsafeMutableRawPointer(request) + payloadOffset
        return uv_buf_init(payload.assumingMemoryBound(to: CChar.self), UInt32(byteCount))
    }

    /// The byte count stored by `finish`.
    static func byteCount(of request: UnsafeMutablePointer<uv_write_t>) -> Int {
        Int(bitPattern: UInt(bitPattern: request.pointee.data) >> 1)
    }

    /// Frees the request and its payload, or returns a pooled block (in the write callback, or when uv_write failed
    /// synchronously).
    static func free(_ request: UnsafeMutablePointer<uv_write_t>, pool: WriteBufferPool) {
        let raw = UnsafeMutableRawPointer(request)
        if UInt(bitPattern: request.pointee.data) & 1 == 1 { pool.give(raw) } else { raw.deallocate() }
    }
}

/// Blocks of one size for large writes, kept by one loop (single-threaded, no locking). At most `maximumKept` free
/// blocks stay cached; the rest are freed, so a burst does not pin memory for ever.
final class WriteBufferPool {
    /// Payload bytes per pooled block: room for a client's write (ClientSession.recordsPerWrite sealed records:
    /// 16 × (64 KiB + header and tag) is a little over 1 MiB).
    static let blockPayload = (1 << 20) + (64 << 10)
    /// Writes from this size up use the pool; smaller ones (handshake, acknowledgements) are allocated exactly, so
    /// thousands of sessions sending a small message at once do not take a MiB each.
    static let minimumPooled = 64 << 10
    static let maximumKept = 8

    private var free: [UnsafeMutableRawPointer] = []

    static func isPooled(_ byteCount: Int) -> Bool { byteCount >= minimumPooled && byteCount <= blockPayload }

    func take() -> UnsafeMutableRawPointer {
        if let block = free.popLast() { return block }
        return .allocate(byteCount: WriteRequest.payloadOffset + Self.blockPayload, alignment: WriteRequest.alignment)
    }

    func give(_ block: UnsafeMutableRawPointer) {
        if free.count < Self.maximumKept { free.append(block) } else { block.deallocate() }
    }

    deinit { for block in free { block.deallocate() } }
}
