// The ops of a session fuzz input. Each reads its own arguments from the input. Commands are issued only in the
// states that allow them (each command traps on misuse, STYLE.md §5, and those traps are the harness's to avoid):
// the harness asks each side for its upload state (`uploadStateForFuzzing`) rather than tracking it.
@_spi(Fuzzing) import Protocol

extension SessionScript {
    enum Op: UInt8, CaseIterable {
        case deliverToServer, deliverToClient
        case startUpload, sendData, finishUpload, abortUpload, clientRotate
        case serverDecide, serverRotate
        case advanceTime, goodbye, close
        /// A message of any type and body, sealed by the peer with its current keys, delivered to the target.
        case inject
        /// Bytes that are not a record the peer sealed, delivered to the target.
        case injectRaw
        case releaseBuffers
        /// A Stat or List (§14) from the client, when one may go.
        case storeRequest
    }

    /// Refusals the server may send (never `aborted`: it answers Aborts only, §8.6).
    static let failureCodes: [UploadErrorCode] = [.badPath, .exists, .tooLarge, .noSpace, .digestMismatch, .sizeMismatch,
                                                   .storageFailure, .permissionDenied, .busy, .notFound, .notSupported]

    mutating func perform(_ op: Op, _ input: inout FuzzInput) {
        switch op {
        case .deliverToServer: deliverToServer(useRoom: input.flag())
        case .deliverToClient: deliverToClient()
        case .startUpload: startUpload(&input)
        case .sendData: sendData(&input)
        case .finishUpload: finishUpload(&input)
        case .abortUpload: if client.isEstablished { client.abortUpload(now: now) }
        case .clientRotate:
            clientRotations = countCallerRotation(clientRotations)
            do { try client.rotateNow() } catch { failed(client.isClosed, error) }
        case .serverDecide: serverDecide(&input)
        case .serverRotate:
            serverRotations = countCallerRotation(serverRotations)
            do { try server.rotateNow() } catch { failed(server.isClosed, error) }
        case .advanceTime: advanceTime(seconds: UInt64(input.byte() % 8) + 1)
        case .goodbye:
            pristine = false  // the peer of a Goodbye closes; what either side does after it is moot
            if input.flag() {
                if client.isEstablished { client.goodbye(now: now) }
            } else if server.isEstablished {
                server.goodbye(now: now)
            }
        case .close:
            pristine = false
            let code = AlertCode.allCases[Int(input.byte()) % AlertCode.allCases.count]
            if input.flag() { client.close(code, reason: "fuzz") } else { server.close(code, reason: "fuzz") }
        case .inject: inject(typeByte: input.byte(), body: input.paddedBytes(Int(input.u16())))
        case .injectRaw: injectRaw(input.bytes(Int(input.u16() % 4097)))
        case .releaseBuffers:
            client.releaseIdleBuffers()
            server.releaseIdleBuffers()
        case .storeRequest: storeRequest(&input)
        }
    }

    // MARK: Client commands

    private mutating func startUpload(_ input: inout FuzzInput) {
        let pathBytes = input.bytes(Int(input.byte() % 32) + 1)
        let size = UInt64(input.u16()) << (UInt64(input.byte() & 0x03) * 2)
        let flags = input.byte()
        let digest = flags & 0x02 != 0 ? input.paddedBytes(32) : nil
        let path = pathBytes.isEmpty ? "f" : String(decoding: pathBytes, as: UTF8.self)
        // Flag 0x04: a pipelined upload (§8.10), when the session agreed to them and the size allows; with 0x08 too,
        // a probe.
        if flags & 0x0C == 0x0C, client.canStartPipelinedUpload, flags & 0x01 == 0 {
            return client.probe(UploadRequest(path: path, size: size, expectedDigest: input.paddedBytes(32), pipelined: true,
                                              probe: true), now: now)
        }
        if flags & 0x04 != 0, client.canStartPipelinedUpload, size <= Limits.maxPipelinedFileSize {
            return client.startUpload(UploadRequest(path: path, size: size, overwrite: flags & 0x01 != 0, expectedDigest: digest,
                                                    pipelined: true), now: now)
        }
        guard client.canStartUpload else { return }
        client.startUpload(UploadRequest(path: path, size: size, overwrite: flags & 0x01 != 0, expectedDigest: digest), now: now)
    }

    private mutating func sendData(_ input: inout FuzzInput) {
        let requested = Int(input.u16())
        let inPlace = input.flag()
        let length: Int
        switch client.uploadStateForFuzzing {
        case .sending(let request, let sent):
            guard client.canSendData else { return }
            length = min(requested, client.maxDataChunk, Int(request.size - sent))
        case .aborting:
            length = min(requested, client.maxDataChunk)  // dropped by the client: the server failed the upload
        default:
            return
        }
        let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: length), count: length)
        guard inPlace else {
            client.sendData(chunk, now: now)
            return
        }
        // As ferry sends Data: sealed straight into the socket's buffer, after whatever the client had queued.
        toServer += client.takeOutput()
        var destination = [UInt8](repeating: 0, count: client.sealedDataLength(length))
        let written = chunk.withUnsafeBytes { source in
            destination.withUnsafeMutableBytes { client.sendData(source, into: $0, now: now) }
        }
        toServer += destination[..<written]
    }

    private mutating func finishUpload(_ input: inout FuzzInput) {
        let digest = input.paddedBytes(32)
        switch client.uploadStateForFuzzing {
        case .sending(let request, let sent) where sent == request.size:
            // A digest other than the one Open announced is the client's error (§8.4): only the announced one.
            client.finishUpload(digest: request.expectedDigest ?? digest, now: now)
        case .aborting:
            client.finishUpload(digest: digest, now: now)  // moot: the client drops it
        default:
            break
        }
    }

    // MARK: Server commands (what the daemon decides)

    private mutating func serverDecide(_ input: inout FuzzInput) {
        let choice = input.byte()
        let failure = UploadFailure(Self.failureCodes[Int(choice >> 2) % Self.failureCodes.count], "fuzz")
        // A pipelined upload's answer, in any order (the connection sends them in the order of the Opens).
        if !pipelinedToAnswer.isEmpty, choice & 0x40 != 0 {
            let (id, request) = pipelinedToAnswer.remove(at: Int(choice) % pipelinedToAnswer.count)
            let digest = request.expectedDigest ?? [UInt8](repeating: 0, count: 32)
            let answer: PipelinedAnswer = if choice & 1 == 0 {
                .committed(UploadReceipt(storedName: request.path, size: request.size, digest: digest))
            } else if request.probe, choice & 2 == 0 {
                .failed(UploadFailure(.absent, "fuzz"))
            } else {
                .failed(failure)
            }
            return server.answerPipelined(id: id, answer, now: now)
        }
        switch server.uploadStateForFuzzing {
        case .deciding(let request):
            switch choice % 3 {
            case 0:
                let offset = choice & 0x80 != 0 ? min(UInt64(input.u32()), request.size) : 0
                server.accept(offset: offset, now: now)
            case 1:
                server.reject(failure, now: now)
            default:
                if let digest = request.expectedDigest {
                    server.alreadyStored(UploadReceipt(storedName: request.path, size: request.size, digest: digest), now: now)
                } else {
                    server.accept(now: now)
                }
            }
        case .finishing(let request):
            if choice & 1 == 0 {
                let digest = request.expectedDigest ?? [UInt8](repeating: 0, count: 32)
                server.commit(UploadReceipt(storedName: request.path, size: request.size, digest: digest), now: now)
            } else {
                server.fail(failure, now: now)
            }
        case .receiving, .idle, .discarding:
            if choice & 1 == 1 { server.fail(failure, now: now) }  // idle, discarding: moot (the client's Abort won)
        case .pipelined:
            break  // answered through answerPipelined, above
        case .answering(let request):
            answerStore(request, choice: choice, failure: failure, &input)
        case .sendingFile(_, let remaining):
            if choice % 5 == 0 { return server.failGet(failure, now: now) }
            guard server.canSendGetData else { return }
            let length = min(Int(input.u16()) + 1, Limits.maxDataChunk, Int(min(remaining, UInt64(Int.max))))
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: length), count: length)
            chunk.withUnsafeBytes { server.sendGetData($0, now: now) }
        case .noSession, .awaitingAccept, .sending, .awaitingCommit, .aborting, .awaitingStore, .receivingFile:
            break
        }
    }

    // MARK: The store (§14)

    private mutating func storeRequest(_ input: inout FuzzInput) {
        guard client.canSendStoreRequest else { return }
        let flags = input.byte()
        let path = String(decoding: input.bytes(Int(input.byte() % 24)), as: UTF8.self)
        let request: StoreRequest
        let named = path.isEmpty ? "f" : path
        if flags & 0x30 != 0 {
            switch flags & 0x30 {
            case 0x10: request = .delete(DeleteRequest(path: named, recursive: flags & 4 != 0))
            case 0x20: request = .rename(RenameRequest(from: named, to: named + "2", overwrite: flags & 4 != 0))
            default: request = .verify(VerifyRequest(path: named))
            }
        } else if flags & 8 != 0 {
            request = .get(GetRequest(path: named, offset: UInt64(input.u16())))
        } else if flags & 1 == 0 {
            request = .stat(StatRequest(path: path))
        } else {
            let directory = path.isEmpty || path.hasSuffix("/") ? path : path + "/"
            let cursor = flags & 2 == 0 ? "" : directory + String(decoding: input.bytes(Int(input.byte() % 8) + 1), as: UTF8.self)
            request = .list(ListRequest(directory: directory, recursive: flags & 4 != 0, cursor: cursor,
                                        limit: Int(input.u16() % UInt16(Limits.maxListEntries)) + 1))
        }
        guard request.problem == nil else { return }
        client.sendStoreRequest(request, now: now)
    }

    /// The daemon's answer, from the input: a refusal, a result, or a page (in order or not: an inconsistent page goes
    /// as storage_failure, which is the server's to do).
    private mutating func answerStore(_ request: StoreRequest, choice: UInt8, failure: UploadFailure, _ input: inout FuzzInput) {
        if choice % 3 == 0 { return server.answerStore(.failed(failure), now: now) }
        switch request {
        case .stat(let stat):
            let result: StatResult = stat.path.isEmpty || choice & 0x80 != 0
                ? .directory(path: stat.path, files: UInt64(input.u16()), bytes: UInt64(input.u32()))
                : .file(fileEntry(stat.path, &input))
            server.answerStore(.stat(result), now: now)
        case .get(let get):
            let size = UInt64(input.u16()) << (UInt64(input.byte() & 0x03) * 4)
            server.startGet(GetHeader(size: size, sha256: input.paddedBytes(32), modified: WireTime(seconds: 0, nanoseconds: 0),
                                      executable: input.flag(), offset: get.offset <= size ? get.offset : 0), now: now)
        case .list(let list):
            var entries: [ListEntry] = []
            for index in 0..<Int(input.byte() % 5) {
                let name = list.directory + String(decoding: input.bytes(Int(input.byte() % 6)), as: UTF8.self) + "\(index)"
                entries.append(input.flag() ? .directory(name) : .file(fileEntry(name, &input)))
            }
            server.answerStore(.list(ListPage.fitting(entries, limit: list.limit, more: input.flag())), now: now)
        case .delete(let delete):
            let more = delete.recursive && input.flag()
            let files = delete.recursive ? UInt64(input.u16()) + (more ? 1 : 0) : 1
            server.answerStore(.deleted(DeleteOutcome(files: files, bytes: UInt64(input.u32()), more: more)), now: now)
        case .rename(let rename):
            server.answerStore(.stat(.file(fileEntry(rename.to, &input))), now: now)
        case .verify:
            server.answerStore(.verified(VerifyResult(size: UInt64(input.u32()), recorded: input.paddedBytes(32),
                                                      read: input.paddedBytes(32))), now: now)
        }
    }

    private mutating func fileEntry(_ path: String, _ input: inout FuzzInput) -> StoredFileEntry {
        let modified = input.flag() ? WireTime(seconds: Int64(Int32(bitPattern: input.u32())), nanoseconds: input.u32() % 1_000_000_000) : nil
        return StoredFileEntry(path: path, size: UInt64(input.u32()), sha256: input.paddedBytes(32), modified: modified,
                               uploaded: WireTime(seconds: Int64(input.u32()), nanoseconds: 0), uploader: "fuzz")
    }

    // MARK: Time and injections

    /// Rotations an application may ask for in one second and stay genuine: the peer closes a session that makes it
    /// rotate more than `Limits.maxPeerRotationsPerSecond` times in a second, and the side's own policy rotations
    /// (paced at `Limits.minimumRotationIntervalNanoseconds`, 16 a second) count there too.
    static let genuineCallerRotationsPerSecond =
        Limits.maxPeerRotationsPerSecond - Int(1_000_000_000 / Limits.minimumRotationIntervalNanoseconds)

    /// One rotation asked of a side (`rotateNow`, which no pacing holds back), added to `before` (that side's, in the
    /// last simulated second): past the genuine rate the script is a rotation flood, which the peer is right to refuse.
    private mutating func countCallerRotation(_ before: [UInt64]) -> [UInt64] {
        let time = now.monotonicNanoseconds
        let times = before.filter { time &- $0 < 1_000_000_000 } + [time]
        if times.count > Self.genuineCallerRotationsPerSecond { pristine = false }
        return times
    }

    private mutating func advanceTime(seconds: UInt64) {
        now.monotonicNanoseconds += seconds * 1_000_000_000
        do { try client.handleTimer(now: now) } catch { failed(client.isClosed, error) }
        do { try server.handleTimer(now: now) } catch { failed(server.isClosed, error) }
    }

    private mutating func inject(typeByte: UInt8, body: [UInt8]) {
        switch target {
        case .server:
            guard client.sealForFuzzing(typeByte: typeByte, body: body) else { return }
            pristine = false
            deliverToServer(useRoom: typeByte & 1 == 0)
        case .client:
            guard server.sealForFuzzing(typeByte: typeByte, body: body) else { return }
            pristine = false
            deliverToClient()
        }
    }

    private mutating func injectRaw(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        pristine = false
        switch target {
        case .server:
            toServer += client.takeOutput() + bytes
            deliverToServer(useRoom: false)
        case .client:
            client.receive(server.takeOutput() + bytes)
            drainClient()
        }
    }
}
