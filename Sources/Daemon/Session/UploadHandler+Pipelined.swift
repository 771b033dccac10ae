// The pipelined uploads of a session (PROTOCOL.md §8.10): each file received whole into memory (WholeFileUpload),
// stored by one thread-pool job while the next ones arrive, and answered through ServerConnection, which sends the
// answers in the order of the Opens whatever order the stores end in.
//
//   Open ──admit──► receiving ──Close──► storing (the driver runs the job) ──outcome──► answered
//     │                 └──Abort──► dropped (answered aborted by the protocol)
//     └──refused──► answered at once (sent after its Close); its Data is dropped
//
// Memory: the session stops reading while it holds `maximumHeldBytes` of such files or `maximumUnanswered` uploads
// are unanswered on the wire (ServerSession.pauseForPipelining); the client is then held back by TCP (§8.10 has no
// window). Each Open takes its file's whole size at once, bounded by the protocol's 1 MiB.
import Logging
import Protocol
import Store

struct PipelinedUploads {
    /// The upload whose Data is arriving: its file, or nil when it was refused at Open (its Data is then dropped).
    var receiving: (id: UInt64, request: UploadRequest, file: WholeFileUpload?)?
    /// Uploads whose store job runs, and probes whose lookup runs, by id.
    var storing: [UInt64: UploadRequest] = [:]
    var probing: [UInt64: UploadRequest] = [:]
    /// Bytes of pipelined files held in memory (receiving or being stored).
    var heldBytes: UInt64 = 0

    /// Eight 1 MiB files, or about two thousand of 4 KiB: enough to keep the pool's threads and the disk busy.
    static let maximumHeldBytes: UInt64 = 8 << 20
    /// Unanswered uploads (received, stored, or waiting for an earlier one's answer) before the session stops
    /// reading: bounds the protocol's queue and the jobs one session puts on the pool.
    static let maximumUnanswered = 64

    var isBusy: Bool { receiving != nil || !storing.isEmpty || !probing.isEmpty }
}

extension UploadHandler {
    /// A pipelined Open: refused at once (the answer waits for its Close in the protocol), or received into memory.
    mutating func pipelinedRequested(_ request: UploadRequest, id: UInt64, identity: String) -> PipelinedAnswer? {
        switch admit(request, identity: identity) {
        case .failure(let failure):
            _ = refuse(request, failure)
            pipelined.receiving = (id, request, nil)
            return .failed(failure)
        case .success(let path):
            opened += 1
            let settings = environment.settings
            let file = WholeFileUpload(store: environment.store, path: path, size: request.size,
                                       expectedDigest: request.expectedDigest, overwrite: request.overwrite,
                                       durable: settings.fsync, reserve: settings.reserve, buffers: environment.buffers,
                                       uploader: path.identity == identity ? nil : identity,
                                       quota: settings.quotas.quota(for: path.identity))
            pipelined.heldBytes += request.size
            pipelined.receiving = (id, request, file)
            return nil
        }
    }

    /// Room for the next Data chunk of the pipelined upload, decrypted straight into its file's memory.
    func pipelinedReserve(_ length: Int) -> UnsafeMutableRawBufferPointer? { pipelined.receiving?.file?.reserve(length) }

    var isReceivingPipelined: Bool { pipelined.receiving != nil }

    /// A Data chunk of the pipelined upload: written into `pipelinedReserve`'s room (`chunk` nil) or a copy.
    mutating func pipelinedReceived(_ length: Int, chunk: ArraySlice<UInt8>?) {
        metrics.received(bytes: length)
        guard let file = pipelined.receiving?.file else { return }
        if let chunk { file.append(chunk) } else { file.appendWritten(length) }
    }

    /// Close: the file to store, or nil when the upload was refused at Open (answered already).
    mutating func pipelinedFinished(id: UInt64) -> WholeFileUpload? {
        guard let receiving = pipelined.receiving, receiving.id == id else { return nil }
        pipelined.receiving = nil
        guard let file = receiving.file else { return nil }
        pipelined.storing[id] = receiving.request
        return file
    }

    /// Abort: the file is dropped (nothing of it reached the disk).
    mutating func pipelinedAborted(id: UInt64) {
        guard let receiving = pipelined.receiving, receiving.id == id else { return }
        pipelined.receiving = nil
        guard let file = receiving.file else { return }
        pipelined.heldBytes -= file.size
        file.release()
        logger.notice("upload aborted by the client", metadata: ["path": "\(receiving.request.path)"])
        metrics.uploadFailed(.aborted)
    }

    /// The store job's outcome: logged and counted, and the answer for the client.
    mutating func pipelinedStored(id: UInt64, _ file: WholeFileUpload, _ outcome: WholeFileUpload.Outcome) -> PipelinedAnswer {
        pipelined.heldBytes -= file.size
        file.release()
        let request = pipelined.storing.removeValue(forKey: id) ?? UploadRequest(path: file.path.relativePath, size: file.size)
        switch outcome {
        case .committed(let receipt):
            logger.info("upload committed", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            metrics.uploadCommitted()
            return .committed(receipt)
        case .alreadyStored(let receipt):
            logger.info("upload already stored", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            return .committed(receipt)
        case .failed(let failure):
            return .failed(logRefusal(request, failure))
        }
    }

    /// A probe (§8.10): refused at once by this session's own checks, or looked up in the store.
    mutating func pipelinedProbe(_ request: UploadRequest, id: UInt64, identity: String) -> Result<StoredFileProbe, UploadFailure> {
        switch admit(request, identity: identity) {
        case .failure(let failure):
            _ = refuse(request, failure)
            return .failure(failure)
        case .success(let path):
            pipelined.probing[id] = request
            return .success(StoredFileProbe(store: environment.store, path: path, size: request.size,
                                            digest: request.expectedDigest ?? []))
        }
    }

    /// The probe's outcome, logged (a refusal as for an upload) and worded for the client.
    mutating func pipelinedProbed(id: UInt64, _ probe: StoredFileProbe, _ outcome: StoredFileProbe.Outcome) -> PipelinedAnswer {
        let request = pipelined.probing.removeValue(forKey: id) ?? UploadRequest(path: probe.path.relativePath, size: 0)
        switch outcome {
        case .stored(let receipt):
            logger.info("upload already stored", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            return .committed(receipt)
        case .absent:
            return .failed(UploadFailure(.absent, "'\(probe.path.relativePath)' is not stored yet"))
        case .refused(let failure):
            return .failed(logRefusal(request, failure))
        }
    }

    private mutating func logRefusal(_ request: UploadRequest, _ failure: StoreFailure) -> UploadFailure {
        if failure.isSuspicious {
            refused += 1
            refusalLog.log(logger, .warning, kind: "suspicious-\(failure.failure.code)", "upload refused",
                           metadata: Self.metadata(request, failure))
            metrics.uploadFailed(failure.failure.code)
        } else {
            _ = refuse(request, failure.failure, detail: failure.detail == failure.failure.message ? nil : failure.detail)
        }
        return failure.failure
    }

    /// The connection ended: the file being received is dropped (the stores running complete, and are logged).
    mutating func pipelinedConnectionEnded() {
        if let file = pipelined.receiving?.file {
            pipelined.heldBytes -= file.size
            file.release()
        }
        pipelined.receiving = nil
    }
}
