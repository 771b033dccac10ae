// Pipelined uploads (PROTOCOL.md §8.10) in a client session: with `pipelining` agreed, every file of at most 1 MiB is
// read whole (PipelinedFile), then sealed at once — Open, Data, Close — behind the previous one, without waiting for
// any answer; the answers come in the order of the Opens. A larger file waits until every pipelined one is answered and
// goes as a v1 upload (ClientSession.swift), after which pipelining goes on.
//
//   engine queue ─fillPipeline─► reading ─(the read job)─► ready ─sendPipelined─► sealing ─Close─► unanswered ─answer─► done
//                                   └─ unreadable or changed: the file fails, nothing sent
//
// Not under --bwlimit: its pacing is per Data record, and a pipelined file is sealed in one go.
import EventLoop
import Platform
import Protocol

extension ClientSession {
    /// Pipelining is agreed for this session and usable (a dry run sends no Data: --bwlimit has nothing to pace).
    var pipelines: Bool {
        (engine.bandwidth == nil || engine.target.dryRun)
            && connection?.parameters?.uploadFeatures.contains(.pipelining) == true
    }

    /// Takes files from the engine's queue while the pipeline has room, and starts reading them, small ones up to
    /// `readBatch` per job; a file too large to pipeline is held until the pipeline is empty (then `startNextFile`
    /// sends it as a v1 upload).
    func fillPipeline() {
        var batch: [PipelinedFile] = []
        defer { read(batch) }
        while pipeline.heldForV1 == nil, let size = engine.nextFileSize(),
              pipeline.hasRoom(for: min(size, Limits.maxPipelinedFileSize)), let index = engine.nextFile() {
            let file = engine.files[index]
            if let problem = Self.pathProblem(file) {
                engine.opening(index)
                engine.finished(index, result: failedResult(file, problem), sent: 0, slot: slot)
                continue
            }
            // A dry run probes every file, whatever its size: nothing of it is sent.
            guard file.size <= Limits.maxPipelinedFileSize || engine.target.dryRun else {
                pipeline.heldForV1 = index
                return
            }
            let pipelined = PipelinedFile(index: index, file: file)
            guard file.size < Self.pooledSize else {
                read([pipelined])
                continue
            }
            batch.append(pipelined)
            if batch.count == Self.readBatch {
                read(batch)
                batch = []
            }
        }
    }

    /// Files from this size up are read into the engine's pooled 1 MiB blocks and sealed straight into the socket's
    /// write buffers, as v1 Data is: a fresh MiB per file cost a page fault per 4 KiB on both copies, more than the
    /// copies themselves (1.9 ms of kernel time per 1 MiB file here). Smaller ones get a buffer of their size, and
    /// their records go out with the next flush, many files per write.
    static let pooledSize: UInt64 = 64 << 10

    /// Small files read by one thread-pool job: each job is a hand-off to a pool thread and back to the loop, which
    /// cost about as much CPU as reading a 4 KiB file.
    static let readBatch = 8

    /// Reads the files whole on the thread pool, in one job; a failure is that file's outcome at once (no Open was
    /// sent for it), the others go on. A dry run only hashes them (its probes carry the digest, no Data).
    func read(_ files: [PipelinedFile]) {
        guard !files.isEmpty else { return }
        var reads: [(path: String, size: UInt64, earlier: SourceFingerprint?, buffer: IOBuffer, pooled: Bool)] = []
        for file in files {
            pipeline.startReading(file)
            let size = file.file.size, pooled = size >= Self.pooledSize
            reads.append((file.file.localPath, size, engine.fingerprint(file.index),
                          pooled ? engine.blocks.take() : IOBuffer(capacity: max(Int(size), 1)), pooled))
        }
        let jobs = reads.map { ($0.path, $0.size, $0.earlier, $0.buffer) }
        let keepingBytes = !engine.target.dryRun
        ThreadPool.run(engine.loop, {
            jobs.map { PipelinedFile.read(path: $0.0, plannedSize: $0.1, earlier: $0.2, into: $0.3, keepingBytes: keepingBytes) }
        }, then: { [self] results in
            for (file, (read, result)) in zip(files, zip(reads, results)) {
                finishRead(file, result, buffer: read.buffer, pooled: read.pooled)
            }
            startNextFile()
        })
    }

    private func finishRead(_ pipelined: PipelinedFile, _ result: Result<PipelinedFile.Read, SourceProblem>,
                           buffer: IOBuffer, pooled: Bool) {
        guard !pipelined.abandoned, pipeline.readEnded(pipelined) else {
            if pooled { engine.blocks.give(buffer) }
            return
        }
        switch result {
        case .failure(let problem):
            if pooled { engine.blocks.give(buffer) }
            pipeline.release(pipelined)
            engine.opening(pipelined.index)
            engine.finished(pipelined.index, result: failedResult(pipelined.file, problem.message), sent: 0, slot: slot)
        case .success(let read) where engine.target.dryRun:
            if pooled { engine.blocks.give(buffer) }
            pipelined.digest = read.digest
            pipelined.fingerprint = read.fingerprint
            engine.opened(pipelined.index, fingerprint: read.fingerprint)
            pipeline.ready.append(pipelined)
        case .success(let read):
            pipelined.bytes = read.bytes
            pipelined.pooled = pooled
            pipelined.digest = read.digest
            pipelined.fingerprint = read.fingerprint
            engine.opened(pipelined.index, fingerprint: read.fingerprint)
            pipeline.ready.append(pipelined)
        }
    }

    /// Seals the files read — Open, Data, Close each, or a probe — while a pipelined Open may go and the socket's queue
    /// is under the high-water mark. A rotation that holds Data back leaves a file half-sealed until it completes.
    func sendPipelined() {
        guard let tcp, !closing, engine.stoppedBy == nil else { return }
        // `self.connection?.` throughout, never a `let connection` binding: that copies the whole connection (a
        // retain of each of its references) once per file.
        while tcp.pendingWriteBytes < Self.highWater, self.connection != nil {
            if let sealing = pipeline.sealing {
                guard seal(sealing.file, from: sealing.offset) else { break }
                continue
            }
            guard let next = pipeline.ready.first, self.connection?.canStartPipelinedUpload == true else { break }
            pipeline.ready.removeFirst()
            let file = next.file
            if !next.counted {
                next.counted = true
                next.rotationsAtStart = self.connection?.rotations.sent ?? 0
                engine.opening(next.index)
            }
            if engine.target.dryRun || !engine.target.overwrite && !next.probed && (engine.probeFirst || next.existsOnServer) {
                self.connection?.probe(UploadRequest(path: file.remotePath, size: file.size, expectedDigest: next.digest,
                                                     pipelined: true, probe: true, namespace: engine.target.namespace),
                                       now: Clock.now())
                engine.detail(2, "session \(slot + 1): Probe \(file.remotePath) (\(file.size) bytes, SHA-256 "
                    + "\(hex(next.digest).prefix(12))…)")
                next.probing = true
                pipeline.sent(next)
                continue
            }
            guard next.bytes != nil else {
                pipeline.release(next)  // read(_:) counts it again
                read([next])  // sent once before (then answered `exists`, then `absent` to a probe): read it again
                continue
            }
            self.connection?.startUpload(
                UploadRequest(path: file.remotePath, size: file.size, overwrite: engine.target.overwrite, pipelined: true,
                              namespace: engine.target.namespace),
                now: Clock.now())
            engine.detail(2, "session \(slot + 1): Open \(file.remotePath) (\(file.size) bytes, pipelined)")
            pipeline.sealing = (next, 0)
        }
        flush()  // small files' records, many per write
    }

    /// Seals `file`'s Data from `offset` on, then its Close; false when the protocol holds Data back (a rotation at
    /// its key's usage limit: one round trip).
    private func seal(_ file: PipelinedFile, from start: Int) -> Bool {
        guard var connection, let bytes = file.bytes, let tcp else { return false }
        self.connection = nil
        var offset = start
        let chunk = connection.maxDataChunk
        bytes.withUnsafeBytes { all in
            guard file.pooled else {
                // Small: into the connection's output, behind the Open, written with the next flush.
                while offset < all.count, connection.canSendData, !connection.isClosed {
                    let end = min(offset + chunk, all.count)
                    connection.sendData(UnsafeRawBufferPointer(rebasing: all[offset..<end]), now: Clock.now())
                    offset = end
                }
                return
            }
            // Large: the Open (and whatever else is queued) first, then the records sealed in place, as v1 Data.
            connection.drainOutput { tcp.write($0) }
            while offset < all.count, connection.canSendData, !connection.isClosed {
                let before = offset
                tcp.write(capacity: Self.recordsPerWrite * connection.sealedDataLength(chunk)) { buffer in
                    var used = 0
                    while offset < all.count, connection.canSendData, !connection.hasPendingOutput {
                        let end = min(offset + chunk, all.count)
                        guard used + connection.sealedDataLength(end - offset) <= buffer.count else { break }
                        let written = connection.sendData(UnsafeRawBufferPointer(rebasing: all[offset..<end]),
                                                          into: UnsafeMutableRawBufferPointer(rebasing: buffer[used...]),
                                                          now: Clock.now())
                        guard written > 0 else { break }
                        used += written
                        offset = end
                    }
                    return used
                }
                connection.drainOutput { tcp.write($0) }  // a rotation message sealed meanwhile, in order
                if offset == before { break }
            }
        }
        guard offset == bytes.count else {
            self.connection = connection
            pipeline.sealing = (file, offset)
            flush()
            return false
        }
        connection.finishUpload(digest: file.digest, times: engine.target.keepTimes ? file.fingerprint?.times : nil,
                                now: Clock.now())
        self.connection = connection
        if file.pooled { engine.blocks.give(bytes) }
        file.bytes = nil
        file.dataSent += file.file.size
        pipeline.sealing = nil
        pipeline.sent(file)
        if file.pooled { flush() }
        return true
    }

    /// The answer to the oldest pipelined upload or probe (the protocol checked it is that one's: its size, its digest).
    func pipelinedAnswered(_ answer: PipelinedAnswer) {
        guard let file = pipeline.popOldest() else { return }
        let wasProbe = file.probing
        file.probing = false
        if engine.target.dryRun { return dryRunAnswered(file, answer) }
        switch answer {
        case .committed(let receipt):
            if wasProbe { engine.probeFirst = true }  // a re-run: probe the next files too
            let mismatch = receipt.digest == file.digest ? nil : "the server committed the file with SHA-256 "
                + "\(hex(receipt.digest)), not the file's \(hex(file.digest))"
            completePipelined(file, stored: receipt.storedName, error: mismatch, alreadyStored: wasProbe,
                              sent: wasProbe ? 0 : file.file.size)
        case .failed(let failure):
            switch failure.code {
            case .aborted:
                break  // never sent: a pipelined file is read whole before its Open, so it is never aborted
            case .absent where wasProbe:
                // Not there: send it, and send the next files without asking (a fresh run, it seems).
                engine.probeFirst = false
                file.probed = true
                engine.detail(2, "session \(slot + 1): \(file.file.remotePath): not stored yet")
                pipeline.requeue(file)
            case .busy:
                // As for a v1 upload: the session ends, and the engine tries this file and the others again later.
                answeredBusy.append(file)
                return endPolitely(SessionFailure(.busy, "server busy: \(failure.message)"))
            case .exists where !engine.target.overwrite && !wasProbe && !file.probed:
                // Probe it: Committed then means the server holds this very file; and probe the next files first.
                engine.probeFirst = true
                file.existsOnServer = true
                pipeline.requeue(file)
            case .exists where engine.target.ignoreExisting:
                completePipelined(file, stored: nil, error: nil,
                                  skipped: "it exists on the server with other content (--ignore-existing)")
            default:
                let error = UploadErrorWording.message(failure, path: file.file.remotePath,
                                                       overwriteAsked: engine.target.overwrite)
                completePipelined(file, stored: nil, error: error)
            }
        }
    }

    private func completePipelined(_ file: PipelinedFile, stored: String?, error: String?, alreadyStored: Bool = false,
                                   skipped: String? = nil, sent: UInt64? = nil) {
        let whole = stored != nil && error == nil
        let rotations = (connection?.rotations.sent ?? file.rotationsAtStart) - file.rotationsAtStart
        var result = FileResult(file: file.file, stored: stored, bytes: whole ? file.file.size : 0,
                                sha256: whole ? hex(file.digest) : nil,
                                seconds: Double(EventLoop.hrtimeNanoseconds - file.started) / 1e9, rotations: rotations,
                                error: error)
        result.alreadyStored = alreadyStored
        result.skipped = skipped
        engine.finished(file.index, result: result, sent: sent ?? file.dataSent, slot: slot)
    }

    func failedResult(_ file: PlannedFile, _ error: String) -> FileResult {
        FileResult(file: file, stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0, error: error)
    }

    /// Why a file cannot be sent at all: its name on the server longer than the protocol allows.
    static func pathProblem(_ file: PlannedFile) -> String? {
        let pathBytes = file.remotePath.utf8.count
        guard pathBytes > Limits.maxPathLength else { return nil }
        return "its name on the server would be \(pathBytes) bytes long; the limit is \(Limits.maxPathLength)"
    }

    /// The session ends: files not opened on the wire go back to the engine as they were; those whose Open went (and
    /// one the server answered busy) are handed back as interrupted, the Data of this attempt counted.
    func takePipelineBack() -> [UploadEngine.Interrupted] {
        releaseUnsentBuffers(includingSealing: true)
        let (notSent, sent) = pipeline.takeAll()
        for index in notSent { engine.giveBack(index) }
        let interrupted = (answeredBusy + sent).map { file in
            UploadEngine.Interrupted(index: file.index, result: failedResultKeepingNothing(file), sent: file.dataSent)
        }
        answeredBusy = []
        return interrupted
    }

    /// The engine's blocks held by files read and not sent go back (the run stops), and the half-sealed one's when the
    /// session ends.
    func releaseUnsentBuffers(includingSealing: Bool) {
        var holding = pipeline.ready
        if includingSealing, let sealing = pipeline.sealing { holding.append(sealing.file) }
        for file in holding where file.pooled {
            if let bytes = file.bytes { engine.blocks.give(bytes) }
            file.bytes = nil
            file.pooled = false
        }
    }

    private func failedResultKeepingNothing(_ file: PipelinedFile) -> FileResult {
        FileResult(file: file.file, stored: nil, bytes: 0, sha256: nil,
                   seconds: Double(EventLoop.hrtimeNanoseconds - file.started) / 1e9, rotations: 0, error: nil)
    }

    /// What the progress display shows of the pipeline: the file being sealed, and those sent and not answered.
    var pipelineStates: [(index: Int, state: FileState)] {
        var states = pipeline.unansweredFiles.map { (index: $0.index, state: FileState.committing) }
        if let sealing = pipeline.sealing { states.append((sealing.file.index, .sending(bytes: UInt64(sealing.offset)))) }
        return states
    }

    /// Bytes of pipelined files sent and not answered: the server is storing them (the stall timeout allows for it).
    var unansweredPipelinedBytes: UInt64? {
        pipeline.hasUnanswered ? pipeline.unansweredFiles.reduce(0) { $0 + $1.file.size } : nil
    }
}
