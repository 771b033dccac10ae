// Sealing a v1 upload's blocks into the socket (ClientSession.swift): one Data record at a time, straight into the
// socket's pooled write buffers, `recordsPerWrite` records per uv_write, paced by --bwlimit (BandwidthLimit) when set.
import EventLoop
import Platform
import Protocol

extension ClientSession {
    /// Seals ready blocks, one Data record at a time, straight into the socket's write buffers (`recordsPerWrite`
    /// records per uv_write), while the socket and the protocol allow. A chunk is read from the block and written
    /// once, encrypted: no copy into a record buffer, none into a write buffer.
    func sealReady(_ current: FileInFlight) {
        guard !current.ready.isEmpty, var connection, let tcp else { return }
        self.connection = nil
        let chunk = connection.maxDataChunk
        var sealedNow = 0
        /// Set when --bwlimit held the next record back: its length.
        var throttled: Int?
        while throttled == nil, let block = current.ready.first, connection.canSendData,
              tcp.pendingWriteBytes < Self.highWater, !connection.isClosed {
            // Whatever the protocol queued (a RotateInit or RotateCommit after the last record) goes out first, in order.
            connection.drainOutput { tcp.write($0) }
            let before = current.sealOffset
            tcp.write(capacity: Self.recordsPerWrite * connection.sealedDataLength(chunk)) { buffer in
                var used = 0
                block.withUnsafeBytes { bytes in
                    while current.sealOffset < bytes.count, connection.canSendData, !connection.hasPendingOutput {
                        let end = min(current.sealOffset + chunk, bytes.count)
                        guard used + connection.sealedDataLength(end - current.sealOffset) <= buffer.count else { break }
                        guard engine.takeBandwidth(end - current.sealOffset) else {
                            throttled = end - current.sealOffset
                            break
                        }
                        let written = connection.sendData(UnsafeRawBufferPointer(rebasing: bytes[current.sealOffset..<end]),
                                                          into: UnsafeMutableRawBufferPointer(rebasing: buffer[used...]),
                                                          now: Clock.now())
                        guard written > 0 else { break }  // the upload was failed meanwhile, or the session closed
                        used += written
                        current.sealOffset = end
                    }
                }
                return used
            }
            guard current.sealOffset > before else { break }
            sealedNow += current.sealOffset - before
            guard current.sealOffset == block.count else { continue }
            current.ready.removeFirst()
            current.sealOffset = 0
            block.removeAll()
            current.spare.append(block)
        }
        connection.drainOutput { tcp.write($0) }
        self.connection = connection
        if let throttled { resumeAfterBandwidth(throttled) }
        current.sent += UInt64(sealedNow)
    }

    /// --bwlimit held back a record of `bytes`: sealing goes on when the bucket has them (one timer per session).
    private func resumeAfterBandwidth(_ bytes: Int) {
        guard !bandwidthTimerArmed else { return }
        bandwidthTimerArmed = true
        bandwidthTimer.start(afterMilliseconds: engine.bandwidthDelay(bytes)) { [self] in
            bandwidthTimerArmed = false
            pump()
        }
    }
}
