// The record layer's inbound bytes: received, not yet consumed. Memory we own, at a stable address, so the daemon can
// let the socket read straight into it (`space`, then `didWrite`) instead of reading into a shared buffer and copying
// (issue #7: no copy on the server's data path but the decryption).
//
//     0           start              end                  capacity
//     ├── consumed ──┼── unread bytes ──┼── space for reads ──┤
//
// A consumed prefix is reclaimed by moving the unread bytes (at most one incomplete record) to the front, only when the
// space behind them is too small: with reads of up to a few hundred KiB and records of 64 KiB, that moves a few
// percent of the bytes, where copying every read moved all of them. Single-threaded, like the connection that owns it.

final class ReceiveBuffer {
    private var base: UnsafeMutableRawPointer?
    private(set) var capacity = 0
    /// The first unread byte and the end of the unread bytes.
    private(set) var start = 0
    private(set) var end = 0

    deinit { base?.deallocate() }

    var unreadCount: Int { end - start }

    /// Appends a copy of `bytes` (reads that went to a shared buffer).
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        let room = space(minimum: bytes.count)
        room.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        end += bytes.count
    }

    /// At least `minimum` bytes of room after the unread bytes, for a read straight into the buffer: reclaims the
    /// consumed prefix when the room behind is short, grows (to `preferredCapacity` or more) when that is not enough.
    /// The room is valid until the next call that moves or grows the buffer; `didWrite` counts in what was read.
    func space(minimum: Int, preferredCapacity: Int = 0) -> UnsafeMutableRawBufferPointer {
        precondition(minimum >= 0, "space of \(minimum) bytes")
        if start == end { start = 0; end = 0 }  // everything consumed: free to restart at the front
        if capacity - end < minimum, start > 0 {
            let unread = end - start
            if unread > 0 { base!.copyMemory(from: base! + start, byteCount: unread) }  // regions may overlap: memmove
            start = 0
            end = unread
        }
        if capacity - end < minimum || base == nil {
            let newCapacity = max(end + minimum, preferredCapacity, capacity * 2, 4096)
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 64)
            if let base, end > start { bigger.copyMemory(from: base + start, byteCount: end - start) }
            base?.deallocate()
            base = bigger
            end -= start
            start = 0
            capacity = newCapacity
        }
        return UnsafeMutableRawBufferPointer(start: base! + end, count: capacity - end)
    }

    /// Counts in `count` bytes written into the room `space` returned.
    func didWrite(_ count: Int) {
        precondition(count >= 0 && end + count <= capacity, "wrote \(count) bytes into \(capacity - end)")
        end += count
    }

    /// Marks `count` unread bytes as consumed.
    func consume(_ count: Int) {
        precondition(count >= 0 && count <= end - start, "consumed \(count) of \(end - start) bytes")
        start += count
    }

    /// The unread bytes, mutable (records are opened in place).
    func withUnread<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base.map { $0 + start }, count: end - start))
    }

    /// Frees the memory when nothing is unread (an idle session keeps none).
    func releaseIfEmpty() {
        guard start == end, let base else { return }
        base.deallocate()
        self.base = nil
        capacity = 0
        start = 0
        end = 0
    }
}
