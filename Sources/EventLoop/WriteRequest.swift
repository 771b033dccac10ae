// One queued uv_write: the request and a copy of its bytes in a single allocation, freed in the write callback.
//
//     ┌──────────────┬───────────────────────────┐
//     │ uv_write_t   │ payload (byteCount bytes) │    req.data = byteCount (as a pointer-sized integer)
//     └──────────────┴───────────────────────────┘
//
// Departure from the brief ("keep the [UInt8] alive until its callback"): the pointer an Array hands out in
// withUnsafeBufferPointer must not outlive that closure (notes, "Write buffers"), so the bytes are copied once into
// memory whose lifetime we own. That costs one memcpy per write and saves a separate context object, so a write
// is exactly one allocation. `req.handle` (set by uv_write) leads back to the connection.
internal import CLibUV

enum WriteRequest {
    private static let payloadOffset: Int = {
        let alignment = 16
        return (MemoryLayout<uv_write_t>.stride + alignment - 1) / alignment * alignment
    }()

    /// Allocates the request and copies `bytes` after it. `bytes` must not be empty.
    static func make(copying bytes: UnsafeRawBufferPointer) -> (request: UnsafeMutablePointer<uv_write_t>, buffer: uv_buf_t) {
        precondition(!bytes.isEmpty && bytes.count <= Int(UInt32.max), "write of \(bytes.count) bytes")
        let raw = UnsafeMutableRawPointer.allocate(byteCount: payloadOffset + bytes.count,
                                                   alignment: max(16, MemoryLayout<uv_write_t>.alignment))
        let payload = raw + payloadOffset
        payload.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        let request = raw.bindMemory(to: uv_write_t.self, capacity: 1)
        request.pointee.data = UnsafeMutableRawPointer(bitPattern: UInt(bytes.count))
        let buffer = uv_buf_init(payload.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        return (request, buffer)
    }

    /// The byte count stored by `make`.
    static func byteCount(of request: UnsafeMutablePointer<uv_write_t>) -> Int {
        Int(bitPattern: UInt(bitPattern: request.pointee.data))
    }

    /// Frees the request and its payload (in the write callback, or when uv_write failed synchronously).
    static func free(_ request: UnsafeMutablePointer<uv_write_t>) {
        UnsafeMutableRawPointer(request).deallocate()
    }
}
