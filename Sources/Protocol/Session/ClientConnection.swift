// The client side of one session, sans I/O (docs/PROTOCOL.md §8). The ClientHello is in the output from the start.
//
// Upload scope (one upload at a time; several one after another per session):
//
//   idle ──startUpload()──► awaitingAccept ──Accepted──► sending ──finishUpload()──► awaitingCommit ──Committed──► idle
//                               │                         │  ▲ sendData()               │
//                               ├──UploadError──► idle    │  └──┘                       └──UploadError──► idle
//                               └──Committed (Open carried a digest: already stored, §8.7)──► idle
//                                                         ├──abortUpload() / send Abort──► aborting
//                                                         └──UploadError / send Abort──► aborting (uploadFailed)
//   aborting ──UploadError(aborted)──► idle      (other UploadErrors that crossed our Abort are ignored)
//
// Pipelined uploads (§8.10, once `pipelining` was agreed): startUpload with a pipelined request goes straight to
// `sending` (no Accepted), and its Close or Abort queues it as unanswered and returns to idle, so the next Open may
// follow at once. Committed and UploadError answer the oldest unanswered pipelined upload first (`pipelinedAnswered`);
// a v1 Open waits until none is left (`canStartUpload`), a pipelined one only for idle (`canStartPipelinedUpload`).
//
//   idle ──startUpload(pipelined)──► sending ──finishUpload() / abortUpload()──► idle (+1 unanswered)
//   idle ──probe()──► idle (+1 unanswered: whether the server stores this very file; no Data follows)
//   (any state) ──Committed / UploadError while some are unanswered──► the oldest is answered
//
// The store's requests (§14, once `store` was agreed; ClientConnection+Store.swift) go from idle with no pipelined
// upload unanswered, one at a time:
//
//   idle ──sendStoreRequest(Stat / List / Delete / Rename / Verify)──► awaitingStore
//   awaitingStore ──StatResult / ListPage / Deleted / Verified / OperationError──► idle
//
// When the server fails an upload mid-stream, the client answers with Abort so the server knows no more Data of that
// upload follows (the server drops Data until then); the server answers every Abort with UploadError(aborted), and a
// new upload starts only after that answer (`canStartUpload`), so no stale error can be taken for the next one's.

public enum ClientEvent: Equatable {
    /// The server is authenticated and its name checked; uploads may start.
    case handshakeCompleted(SessionParameters)
    /// The server takes the file from `offset` on: send Data from there.
    case uploadAccepted(offset: UInt64)
    /// The file is durable on the server.
    case uploadCommitted(UploadReceipt)
    /// The server already holds this file (its name, size and the SHA-256 Open carried): nothing was sent (§8.7).
    case uploadAlreadyStored(UploadReceipt)
    /// The server refused or failed the upload; the session goes on.
    case uploadFailed(UploadFailure)
    /// The answer to the oldest unanswered pipelined upload (§8.10), the request it answers with it. One of ours we
    /// aborted is answered too (failed, code `aborted`).
    case pipelinedAnswered(UploadRequest, PipelinedAnswer)
    /// The answer to the store request sent (§14), checked against it. A Get's refusal, and its failure after the
    /// header (the server could not send the rest), come as `.failed`.
    case storeAnswered(StoreAnswer)
    /// A Get's file begins (§14.4): its bytes from `offset` follow as getData, then getFinished.
    case getStarted(GetHeader)
    /// The next bytes of the file, in order. Valid until the next call into the connection.
    case getData(ArraySlice<UInt8>)
    /// Every byte after the header's offset arrived: the client checks the whole file's SHA-256 against the header's.
    case getFinished
    case rotated(RotationEvent)
    /// The server said Goodbye.
    case peerClosed
}

public struct ClientConnection {
    enum Upload {
        case idle
        case awaitingAccept(UploadRequest)
        case sending(UploadRequest, sent: UInt64)
        case awaitingCommit(UploadRequest)
        case aborting
        /// A store request (§14) waits for its answer.
        case awaitingStore(StoreRequest)
        /// A Get's file arrives (§14.4): `remaining` bytes still to come.
        case receivingFile(GetRequest, remaining: UInt64)
    }

    /// A pipelined upload whose Close (or Abort) went: its answer is to come, in order.
    struct Unanswered {
        let request: UploadRequest
        let aborted: Bool
    }

    /// The upload being sent (or v1's, being answered), and the pipelined ones waiting for their answers.
    struct Uploads {
        var current = Upload.idle
        var unanswered = FIFOQueue<Unanswered>()

        var hasUnanswered: Bool { !unanswered.isEmpty }

        mutating func push(_ request: UploadRequest, aborted: Bool) {
            unanswered.append(Unanswered(request: request, aborted: aborted))
        }
    }

    var core: SessionCore<ClientHandshake, Uploads>

    /// Builds the ClientHello (generating one key share per offered group): `takeOutput()` has it at once.
    public init(configuration: ClientConfiguration) throws(ProtocolError) {
        core = SessionCore(handshake: try ClientHandshake(configuration: configuration), initialUpload: Uploads())
    }

    public mutating func receive(_ bytes: UnsafeRawBufferPointer) { core.receive(bytes) }

    public mutating func receive(_ bytes: [UInt8]) { bytes.withUnsafeBytes { core.receive($0) } }

    /// Room to read the socket straight into the receive buffer (as ServerConnection's), for a client that receives
    /// a Get's file: nil before the handshake completed and once closed. `didReceive(count:)` counts the bytes in.
    public mutating func receiveSpace(minimum: Int, preferredCapacity: Int) -> UnsafeMutableRawBufferPointer? {
        core.receiveSpace(minimum: minimum, preferredCapacity: preferredCapacity)
    }

    public mutating func didReceive(count: Int) { core.didReceive(count) }

    /// Whether a Get's file is arriving (its bytes are best read in place).
    public var isReceivingFile: Bool {
        if case .established(_, let uploads) = core.state, case .receivingFile = uploads.current { true } else { false }
    }

    /// Every event the received bytes make available, in order, and the error that ended the session if one did (the
    /// events before it are still returned). For drivers that act on the events after putting the connection back.
    public mutating func nextEvents(now: Now) -> (events: [ClientEvent], failure: ProtocolError?) {
        var events: [ClientEvent] = []
        do {
            while let event = try nextEvent(now: now) { events.append(event) }
        } catch {
            return (events, error)
        }
        return (events, nil)
    }

    /// The next event, nil when more bytes are needed. A thrown error has already queued an alert in the output (unless
    /// the peer sent one) and closed the session.
    public mutating func nextEvent(now: Now) throws(ProtocolError) -> ClientEvent? {
        try core.step(now: now, { (input, channel, upload) throws(ProtocolError) -> ClientEvent? in
            switch input {
            case .rotated(let event): return .rotated(event)
            case .goodbye: return .peerClosed
            case .message(let type, let body): return try Self.handleUpload(type, body, channel: &channel, upload: &upload, now: now)
            case .dataMoved: preconditionFailure("no Data destination is given on the client")
            }
        }, completed: { .handshakeCompleted($0) })
    }

    private static func handleUpload(_ type: MessageType, _ body: ArraySlice<UInt8>, channel: inout SecureChannel,
                                      upload uploads: inout Uploads, now: Now) throws(ProtocolError) -> ClientEvent? {
        if uploads.hasUnanswered, type == .committed || type == .uploadError {
            return try answerOldest(type, body, &uploads)
        }
        if case .sending(let request, _) = uploads.current, request.pipelined {
            throw .unexpected("\(type) while a pipelined upload is being sent and none is unanswered")
        }
        return try handleCurrent(type, body, channel: &channel, upload: &uploads.current, now: now)
    }

    /// Committed or UploadError for the oldest unanswered pipelined upload (§8.10).
    private static func answerOldest(_ type: MessageType, _ body: ArraySlice<UInt8>,
                                     _ uploads: inout Uploads) throws(ProtocolError) -> ClientEvent {
        guard let oldest = uploads.unanswered.first else { throw .unexpected("\(type) with no upload unanswered") }
        let answer: PipelinedAnswer
        if type == .committed {
            let receipt = try UploadReceipt.decode(body)
            guard !oldest.aborted else { throw .illegal("Committed for a pipelined upload we aborted") }
            guard receipt.size == oldest.request.size else {
                throw .illegal("committed \(receipt.size) bytes of \(oldest.request.size)")
            }
            if let digest = oldest.request.expectedDigest, !constantTimeEqual(receipt.digest, digest) {
                throw .illegal("Committed with another digest than the one announced")
            }
            answer = .committed(receipt)
        } else {
            let failure = try UploadFailure.decode(body)
            guard (failure.code == .aborted) == oldest.aborted else {
                throw .illegal(oldest.aborted ? "a pipelined upload we aborted answered \(failure.code), not aborted"
                                              : "UploadError aborted for a pipelined upload we did not abort")
            }
            guard failure.code != .absent || oldest.request.probe else {
                throw .illegal("UploadError absent for an upload that was not a probe")
            }
            answer = .failed(failure)
        }
        _ = uploads.unanswered.popFirst()
        return .pipelinedAnswered(oldest.request, answer)
    }

    private static func handleCurrent(_ type: MessageType, _ body: ArraySlice<UInt8>, channel: inout SecureChannel,
                                      upload: inout Upload, now: Now) throws(ProtocolError) -> ClientEvent? {
        switch (upload, type) {
        case (.awaitingAccept(let request), .accepted):
            let accepted = try AcceptedMessage.decode(body)
            guard accepted.offset <= request.size else { throw .illegal("accepted at offset \(accepted.offset) past the end") }
            upload = .sending(request, sent: accepted.offset)
            return .uploadAccepted(offset: accepted.offset)
        case (.awaitingAccept(let request), .committed):
            let receipt = try UploadReceipt.decode(body)
            guard let digest = request.expectedDigest else { throw .unexpected("Committed for an Open without a digest") }
            guard receipt.size == request.size, constantTimeEqual(receipt.digest, digest) else {
                throw .illegal("Committed at Open for another file than the one announced")
            }
            upload = .idle
            return .uploadAlreadyStored(receipt)
        case (.awaitingCommit(let request), .committed):
            let receipt = try UploadReceipt.decode(body)
            guard receipt.size == request.size else { throw .illegal("committed \(receipt.size) bytes of \(request.size)") }
            upload = .idle
            return .uploadCommitted(receipt)
        case (.awaitingAccept, .uploadError), (.awaitingCommit, .uploadError):
            upload = .idle
            return .uploadFailed(try UploadFailure.decode(body))
        case (.sending, .uploadError):
            let failure = try UploadFailure.decode(body)
            try channel.send(.abort, body: [], now: now)  // tells the server no more Data of this upload follows
            upload = .aborting
            return .uploadFailed(failure)
        case (.aborting, .uploadError):
            if try UploadFailure.decode(body).code == .aborted { upload = .idle }
            return nil
        case (.awaitingStore(.get(let request)), .getHeader):
            let header = try getHeader(body, answering: request)
            upload = .receivingFile(request, remaining: header.size - header.offset)
            return .getStarted(header)
        case (.receivingFile(let request, let remaining), .getData):
            upload = .receivingFile(request, remaining: try getData(length: body.count, remaining: remaining))
            return .getData(body)
        case (.receivingFile(_, let remaining), .getEnd):
            try EmptyBody.decode(body)
            guard remaining == 0 else { throw .illegal("GetEnd with \(remaining) bytes of the file still to come") }
            upload = .idle
            return .getFinished
        case (.awaitingStore(let request), .statResult), (.awaitingStore(let request), .listPage),
             (.awaitingStore(let request), .deleted), (.awaitingStore(let request), .verified),
             (.awaitingStore(let request), .operationError):
            let answer = try storeAnswer(type, body, answering: request)
            upload = .idle
            return .storeAnswered(answer)
        case (.receivingFile(let request, _), .operationError):
            let answer = try storeAnswer(type, body, answering: .get(request))
            upload = .idle
            return .storeAnswered(answer)
        case (.idle, _), (.awaitingAccept, _), (.sending, _), (.awaitingCommit, _), (.aborting, _), (.awaitingStore, _),
             (.receivingFile, _):
            throw .unexpected("\(type) while the upload is \(upload.name)")
        }
    }

    // MARK: Commands

    /// True when the session is established and no upload is in progress (an aborted one included), and no
    /// pipelined upload is unanswered: a v1 Open may go.
    public var canStartUpload: Bool {
        if case .established(_, let uploads) = core.state, case .idle = uploads.current, !uploads.hasUnanswered { true } else { false }
    }

    /// Sends a probe (§8.10): whether the server stores this very file (a pipelined request with `probe` and the
    /// digest). Only when `canStartPipelinedUpload`; it is answered in its turn, and no Data or Close follows it.
    public mutating func probe(_ request: UploadRequest, now: Now) {
        precondition(request.probe && request.pipelined && !request.overwrite && request.expectedDigest?.count == Limits.fileDigestLength,
                     "a probe is pipelined, carries the digest and does not overwrite")
        precondition(!request.path.isEmpty && request.path.utf8.count <= Limits.maxPathLength, "upload path length")
        core.command("probe") { (channel, uploads) throws(ProtocolError) in
            guard case .idle = uploads.current else { preconditionFailure("probe() while the upload is \(uploads.current.name)") }
            precondition(channel.parameters.uploadFeatures.contains(.pipelining), "a probe without pipelining")
            var encoder = WireEncoder()
            request.encode(into: &encoder)
            try channel.send(.open, body: encoder.bytes, now: now)
            uploads.push(request, aborted: false)
        }
    }

    /// True when a pipelined Open may go (§8.10): `pipelining` agreed, and no upload being sent or awaiting its v1
    /// answers. Earlier pipelined uploads may be unanswered (the caller bounds how many).
    public var canStartPipelinedUpload: Bool {
        guard case .established(let channel, let uploads) = core.state, case .idle = uploads.current else { return false }
        return channel.parameters.uploadFeatures.contains(.pipelining)
    }

    /// Pipelined uploads whose Close or Abort went and whose answer has not come.
    public var unansweredPipelined: Int {
        if case .established(_, let uploads) = core.state { uploads.unanswered.count } else { 0 }
    }

    /// Sends Open. Only when `canStartUpload`, or `canStartPipelinedUpload` for a pipelined request (then at most
    /// `Limits.maxPipelinedFileSize` bytes, and sending starts at once: no Accepted comes). The path must be 1…4096
    /// bytes of UTF-8 (callers check user input first).
    public mutating func startUpload(_ request: UploadRequest, now: Now) {
        precondition(!request.path.isEmpty && request.path.utf8.count <= Limits.maxPathLength, "upload path length")
        precondition(request.expectedDigest.map { $0.count == Limits.fileDigestLength } ?? true, "digest length")
        precondition(!request.pipelined || request.size <= Limits.maxPipelinedFileSize, "pipelined upload too large")
        precondition(!request.probe, "a probe is sent with probe()")
        core.command("startUpload") { (channel, uploads) throws(ProtocolError) in
            guard case .idle = uploads.current else { preconditionFailure("startUpload() while the upload is \(uploads.current.name)") }
            if request.pipelined {
                precondition(channel.parameters.uploadFeatures.contains(.pipelining), "pipelined Open without pipelining")
            } else {
                precondition(!uploads.hasUnanswered, "a v1 Open while pipelined uploads are unanswered")
            }
            var encoder = WireEncoder()
            request.encode(into: &encoder)
            try channel.send(.open, body: encoder.bytes, now: now)
            uploads.current = request.pipelined ? .sending(request, sent: 0) : .awaitingAccept(request)
        }
    }

    /// Largest chunk `sendData` takes (the server's announced maximum).
    public var maxDataChunk: Int { core.channel?.parameters.maxDataChunk ?? Limits.maxDataChunk }

    /// False while the current key is at its usage limit and its rotation has not completed (one round trip).
    public var canSendData: Bool { core.channel?.canSendData ?? false }

    /// Seals one chunk of the current upload (at most `maxDataChunk` bytes; the total must not pass the declared size).
    public mutating func sendData(_ chunk: UnsafeRawBufferPointer, now: Now) {
        withDataChunk(chunk.count) { (channel) throws(ProtocolError) in try channel.sendData(chunk, now: now) }
    }

    public mutating func sendData(_ chunk: [UInt8], now: Now) { chunk.withUnsafeBytes { sendData($0, now: now) } }

    /// The bytes `sendData(_:into:now:)` needs for a chunk of `length` bytes (record header and tag included).
    public func sealedDataLength(_ length: Int) -> Int {
        guard let channel = core.channel else { preconditionFailure("sealedDataLength before the handshake completed") }
        return channel.records.sealedRecordLength(bodyLength: length)
    }

    /// Whether output is queued (a rotation message, an alert): send it (`drainOutput`) before sealing more Data
    /// in place, or the records would go out of order.
    public var hasPendingOutput: Bool { core.hasPendingOutput }

    /// `sendData`, sealed straight into `destination` (at least `sealedDataLength(chunk.count)` bytes, typically the
    /// socket's write buffer): the chunk is read once and written once, encrypted, with no copy. Returns the bytes
    /// written, 0 when nothing was sealed (the server failed the upload meanwhile, or the session closed). Only with
    /// no pending output (`hasPendingOutput`).
    public mutating func sendData(_ chunk: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                                  now: Now) -> Int {
        var written = 0
        withDataChunk(chunk.count) { (channel) throws(ProtocolError) in
            written = try channel.sendData(chunk, into: destination, now: now)
        }
        return written
    }

    /// The checks and the count around sealing one Data chunk of `length` bytes (`seal` puts it on the channel).
    private mutating func withDataChunk(_ length: Int, _ seal: (inout SecureChannel) throws(ProtocolError) -> Void) {
        core.command("sendData") { (channel, uploads) throws(ProtocolError) in
            guard case .sending(let request, let sent) = uploads.current else {
                if case .aborting = uploads.current { return }  // the server failed the upload meanwhile: drop the chunk
                preconditionFailure("sendData() while the upload is \(uploads.current.name)")
            }
            precondition(length <= channel.parameters.maxDataChunk, "chunk of \(length) bytes")
            precondition(UInt64(length) <= request.size - sent, "sendData past the declared size")
            try seal(&channel)
            uploads.current = .sending(request, sent: sent + UInt64(length))
        }
    }

    /// Sends Close with the SHA-256 of the whole file, after exactly the declared number of bytes; with the file's
    /// `times` when the server agreed to `file_times` (they are dropped otherwise: a v1 server would refuse them).
    public mutating func finishUpload(digest: [UInt8], times: FileTimes? = nil, now: Now) {
        core.command("finishUpload") { (channel, uploads) throws(ProtocolError) in
            guard case .sending(let request, let sent) = uploads.current else {
                if case .aborting = uploads.current { return }
                preconditionFailure("finishUpload() while the upload is \(uploads.current.name)")
            }
            precondition(sent == request.size, "finishUpload() after \(sent) of \(request.size) bytes")
            precondition(digest.count == Limits.fileDigestLength, "digest of \(digest.count) bytes")
            var encoder = WireEncoder()
            let agreed = channel.parameters.uploadFeatures.contains(.fileTimes)
            CloseMessage(digest: digest, times: agreed ? times : nil).encode(into: &encoder)
            try channel.send(.close, body: encoder.bytes, now: now)
            if request.pipelined {
                uploads.push(request, aborted: false)
                uploads.current = .idle
            } else {
                uploads.current = .awaitingCommit(request)
            }
        }
    }

    /// Abandons the current upload (e.g. the local file could not be read); the server discards what it received.
    public mutating func abortUpload(now: Now) {
        core.command("abortUpload") { (channel, uploads) throws(ProtocolError) in
            guard case .sending(let request, _) = uploads.current else { return }
            try channel.send(.abort, body: [], now: now)
            if request.pipelined {
                uploads.push(request, aborted: true)  // answered UploadError(aborted) in its turn
                uploads.current = .idle
            } else {
                uploads.current = .aborting
            }
        }
    }

    public mutating func goodbye(now: Now) {
        core.command("goodbye") { (channel, _) throws(ProtocolError) in try channel.send(.goodbye, body: [], now: now) }
    }

    public mutating func close(_ alert: AlertCode, reason: String) { core.close(with: ProtocolError(alert, reason)) }

    public mutating func handleTimer(now: Now) throws(ProtocolError) {
        try core.channelCommand { (channel) throws(ProtocolError) in try channel.handleTimer(now: now) }
    }

    public mutating func rotateNow() throws(ProtocolError) {
        try core.channelCommand { (channel) throws(ProtocolError) in try channel.rotateNow() }
    }

    // MARK: Output and status

    public mutating func takeOutput() -> [UInt8] { core.takeOutput() }

    /// The output as `takeOutput()`, without copying it into an array: `body` gets it (one or more calls, in order,
    /// each buffer valid only during its call), and the record buffer is kept for the next batch.
    public mutating func drainOutput(_ body: (UnsafeRawBufferPointer) -> Void) { core.drainOutput(body) }

    /// Frees the receive and send buffers if nothing is pending in them: call when the session goes idle, so an idle
    /// session holds no buffer memory (issue #7: 10,000 idle sessions).
    public mutating func releaseIdleBuffers() { core.releaseIdleBuffers() }
    public var isClosed: Bool { core.isClosed }
    public var isEstablished: Bool { core.channel != nil }
    public var parameters: SessionParameters? { core.channel?.parameters }
    public var nextDeadline: UInt64? { core.channel?.nextDeadline }
    public var rotations: (sent: Int, received: Int) { (core.channel?.rotationsSent ?? 0, core.channel?.rotationsReceived ?? 0) }
}

extension ClientConnection.Upload {
    var name: String {
        switch self {
        case .idle: "idle"
        case .awaitingAccept: "awaiting Accepted"
        case .sending: "sending data"
        case .awaitingCommit: "awaiting Committed"
        case .aborting: "aborting (awaiting the server's answer)"
        case .awaitingStore: "awaiting the answer to a store request"
        case .receivingFile: "receiving a file"
        }
    }
}
