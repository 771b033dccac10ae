// Get on the daemon's side (PROTOCOL.md §14.4): the file opened on the thread pool (StoredFileReader), its header
// sent, then blocks read ahead on the pool and sealed as GetData on the loop thread while the socket keeps up.
//
//   Get ──refused──► OperationError
//    └──► opening (pool) ──refused──► OperationError
//             └──opened──► GetHeader ──► streaming: read (pool) ⇄ seal ──last byte──► GetEnd, closed
//                                            └──a read error, a file gone short──► OperationError, closed
//
// Pacing: at most `readAhead` blocks read and not yet sealed, one read in flight (asked before the sealing of the
// block before it, so the two overlap); sealing stops while the socket's queue is above `outputHighWater` (the
// driver reports it after each flush, and when it drains) or a rotation holds the keys back (at most one round
// trip), and starts again on the next drain, read or received record. A client that stops reading therefore costs
// the daemon this much memory and no more. Every sealed block is progress for the idle timeout.
import Logging
import Platform
import Protocol
import Store

/// One Get being served.
final class GetTransfer {
    let request: GetRequest
    let reader: StoredFileReader
    /// The next offset to read, and the file's size once opened.
    var nextRead: UInt64 = 0
    var size: UInt64 = 0
    var startedAt: UInt64 = 0
    var ready: [(buffer: IOBuffer, count: Int)] = []
    /// Blocks sealed and free for the next reads (the transfer's own: `readAhead` + 1 at most).
    var spare: [IOBuffer] = []
    var reading = false
    /// The header went: blocks may be sealed.
    var opened = false
    /// The connection ended with a read in flight: close the file when it completes.
    var abandoned = false
    /// Its share of limits.max_downloads, held as long as the transfer is (nil without a DaemonShared: tests).
    let slot: GetSlot?

    init(request: GetRequest, reader: StoredFileReader, slot: GetSlot?) {
        self.request = request
        self.reader = reader
        self.slot = slot
    }
}

extension ServerSession {
    /// Blocks read ahead of the socket, and their size: 1 MiB, sixteen GetData records per job on the pool (256 KiB
    /// blocks cost a context switch every 256 KiB, a tenth of the daemon's CPU for a 2 GiB file). Up to two read and
    /// waiting while a third is read: a Get holds at most 3 MiB while it streams, and gives it back when it ends.
    static let readAhead = 2
    static let blockSize = 1 << 20
    /// Sealed bytes the socket may hold queued before sealing waits for it to drain.
    static let outputHighWater = 2 << 20

    /// A Get the session's own checks let through: the file is opened on the pool, in the namespace the Get names
    /// (the client's own when it names none).
    func startGet(_ request: GetRequest, identity: String, now: Now) -> [SessionAction] {
        let path: StoredPath
        let namespace = StoreRequest.get(request).namespace(of: identity)
        do throws(StorageNameError) {
            path = try upload.environment.store.rules.storedPath(identity: namespace, relativePath: request.path)
        } catch {
            return refuseGet(request, UploadFailure(.badPath, "\(error)"))
        }
        var slot: GetSlot?
        if let shared {
            guard let reserved = shared.reserveGet(limit: settings.maxDownloads) else {
                return refuseGet(request, UploadFailure(.busy, "the server is sending as many files as it may at once "
                    + "(limits.max_downloads = \(settings.maxDownloads)); try again shortly"))
            }
            slot = reserved
        }
        let reader = StoredFileReader(store: upload.environment.store, path: path, directIO: upload.environment.settings.directIO)
        let transfer = GetTransfer(request: request, reader: reader, slot: slot)
        getTransfer = transfer
        return [.openForGet(transfer.reader)]
    }

    func refuseGet(_ request: GetRequest, _ failure: UploadFailure, detail: String? = nil) -> [SessionAction] {
        storeRequests.refused(.get(request), failure, detail: detail, logger: logger)
        metrics.storeRequest(.get(request), .failed(failure))
        connection.answerStore(.failed(failure), now: Clock.now())
        return flush()
    }

    /// The file's open ended: its header and the first reads, or the refusal.
    func getOpened(_ reader: StoredFileReader, _ outcome: StoredFileReader.OpenOutcome, now: Now) -> [SessionAction] {
        guard let transfer = getTransfer, transfer.reader === reader else {
            reader.close()
            return []
        }
        if transfer.abandoned || closing {
            endGet(transfer)
            return []
        }
        progress &+= 1
        switch outcome {
        case .refused(let failure):
            getTransfer = nil
            return refuseGet(transfer.request, failure.failure, detail: failure.detail == failure.failure.message ? nil : failure.detail)
                + drainedNow(now)
        case .opened(let opened):
            metrics.storeRequest(.get(transfer.request), result: .ok)
            let offset = transfer.request.offset <= opened.size ? transfer.request.offset : 0
            connection.startGet(GetHeader(size: opened.size, sha256: opened.sha256, modified: opened.modified,
                                          executable: opened.executable, offset: offset), now: now)
            transfer.size = opened.size
            transfer.nextRead = offset
            transfer.startedAt = SystemClock.monotonicNanoseconds()
            transfer.opened = true
            logger.info("get started", metadata: ["path": "\(transfer.request.path)", "size": "\(opened.size)", "offset": "\(offset)"])
            return pumpGet(now: now)
        }
    }

    /// A block read: sealed when the socket keeps up, and the next read started.
    func getRead(_ reader: StoredFileReader, _ buffer: IOBuffer, _ result: Result<Int, SystemError>, now: Now) -> [SessionAction] {
        guard let transfer = getTransfer, transfer.reader === reader else {
            return []
        }
        transfer.reading = false
        if transfer.abandoned || closing {
            endGet(transfer)
            return []
        }
        let expected = reader.blockLength(at: transfer.nextRead, capacity: buffer.capacity)
        switch result {
        case .success(let count) where count == expected:
            transfer.ready.append((buffer, count))
            transfer.nextRead += UInt64(count)
            return pumpGet(now: now)
        case .success(let count):
            return failGet(transfer, detail: "read \(count) of \(expected) bytes at \(transfer.nextRead): the file changed size "
                + "on the server while it was sent", now: now)
        case .failure(let error):
            return failGet(transfer, detail: "\(error) at offset \(transfer.nextRead)", now: now)
        }
    }

    /// The socket's queue drained (the driver): seal what waits.
    func outputDrained(now: Now) -> [SessionAction] {
        outputBacklog = 0
        guard getTransfer != nil, !closing else { return [] }
        return pumpGet(now: now)
    }

    /// Reads ahead, and seals what was read while the socket and the keys allow. The next block's read is asked
    /// first and the sealing follows as an action after it, so the pool reads one block while this thread seals the
    /// one before (asked after the sealing, each read waited for the seal and each seal for the read: half of a
    /// 2 GiB Get's time, docs/PERFORMANCE.md).
    func pumpGet(now: Now) -> [SessionAction] {
        guard let transfer = getTransfer, transfer.opened, !closing else { return [] }
        var actions = readAhead(transfer)
        if transfer.ready.isEmpty ? isSent(transfer) : connection.canSendGetData && outputBacklog < Self.outputHighWater {
            actions.append(.sealForGet)
        }
        return actions
    }

    /// The blocks read, sealed while the socket and the keys allow (`.sealForGet`); the transfer ends after its last.
    func sealGet(now: Now) -> [SessionAction] {
        guard let transfer = getTransfer, transfer.opened, !closing else { return [] }
        var sealed = 0
        while let (buffer, count) = transfer.ready.first, connection.canSendGetData,
              outputBacklog + sealed < Self.outputHighWater {
            buffer.withUnsafeBytes { bytes in
                var start = 0
                while start < count {
                    let end = min(start + Limits.maxDataChunk, count)
                    connection.sendGetData(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), now: now)
                    start = end
                }
            }
            sealed += count
            metrics.sent(bytes: count)
            transfer.ready.removeFirst()
            transfer.spare.append(buffer)
            progress &+= 1
        }
        outputBacklog += sealed
        if isSent(transfer) {  // GetEnd went with the last byte
            let seconds = Double(SystemClock.monotonicNanoseconds() &- transfer.startedAt) / 1e9
            logger.info("get sent", metadata: ["path": "\(transfer.request.path)", "bytes": "\(transfer.size)",
                                               "seconds": "\(String(format: "%.3f", seconds))"])
            storeRequests.countAnswered()
            endGet(transfer)
            return flush() + drainedNow(now)
        }
        return (sealed > 0 ? flush() : []) + readAhead(transfer)
    }

    /// Every byte sealed, GetEnd with the last, and no read in flight.
    private func isSent(_ transfer: GetTransfer) -> Bool {
        connection.getRemaining == nil && transfer.ready.isEmpty && !transfer.reading
    }

    /// The next block's read, when none is in flight and fewer than `readAhead` wait to be sealed.
    private func readAhead(_ transfer: GetTransfer) -> [SessionAction] {
        guard !transfer.reading, transfer.nextRead < transfer.size, transfer.ready.count < Self.readAhead else { return [] }
        transfer.reading = true
        let buffer = transfer.spare.popLast() ?? IOBuffer(capacity: Self.blockSize)
        return [.readForGet(transfer.reader, offset: transfer.nextRead, buffer)]
    }

    private func failGet(_ transfer: GetTransfer, detail: String, now: Now) -> [SessionAction] {
        let failure = UploadFailure(.storageFailure, "the server could not read '\(transfer.request.path)' to its end; its log says why")
        logger.error("get failed", metadata: ["path": "\(transfer.request.path)", "detail": "\(detail)"])
        if connection.getRemaining != nil { connection.failGet(failure, now: now) }
        transfer.ready = []
        if transfer.reading { transfer.abandoned = true } else { endGet(transfer) }
        getTransfer = transfer.reading ? transfer : nil
        return flush() + drainedNow(now)
    }

    /// The transfer is over: its file closed (never with a read in flight), its buffers freed with it.
    func endGet(_ transfer: GetTransfer) {
        transfer.ready = []
        transfer.spare = []
        transfer.reader.close()
        if getTransfer === transfer { getTransfer = nil }
    }

    /// The connection ended: the file is closed now, or when its open or read in flight completes (never while a
    /// pool job may still use the reader).
    func getConnectionEnded() {
        guard let transfer = getTransfer else { return }
        if transfer.reading || !transfer.opened {
            transfer.abandoned = true
        } else {
            endGet(transfer)
        }
    }
}
