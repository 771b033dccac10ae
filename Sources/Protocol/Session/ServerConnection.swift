// The server side of one session, sans I/O: bytes and `now` in, bytes and events out (docs/PROTOCOL.md §8).
//
// Driving it (the daemon's read callback does only this):
//     connection.receive(bytes)
//     while let event = try connection.nextEvent(now: now) { handle(event) }   // on a throw: send takeOutput(), close
//     send(connection.takeOutput())
//
// Upload scope (one upload at a time; several one after another per session):
//
//   idle ──Open──► deciding ──accept()──► receiving ──Close──► finishing ──commit()──► idle
//                     │                    │  ▲  │                │
//                     ├──reject()──► idle  │  └──┘ Data           └──fail()──► idle
//                     └──alreadyStored()──► idle (Committed at once: Open's digest is the stored file's, §8.7)
//                                          ├──Abort / send UploadError(aborted)──► idle (uploadAborted)
//                                          └──fail()──► discarding ──Close──► idle
//                                                            │  (Data dropped)
//                                                            └──Abort / send UploadError(aborted)──► idle
//
// Pipelined uploads (§8.10, once `pipelining` was agreed) are received one after another too, but not answered before
// the next Open: each is queued (PipelinedQueue) and answered once, in the order of the Opens, with Committed or
// UploadError after its Close or Abort. A v1 Open waits until every pipelined upload is answered.
//
//   idle ──Open (pipelined)──► pipelined ──Close──► idle (queued: answerPipelined() sends its answer in turn)
//                               │  ▲  │
//                               │  └──┘ Data
//                               └──Abort──► idle (queued, its answer UploadError(aborted))
//   idle ──Open (probe)──► idle (queued, complete: nothing follows it; answered Committed, exists, absent…)
//
// The store's requests (§14, once `store` was agreed; ServerConnection+Store.swift) come between uploads, one at a
// time, each answered before anything else is taken:
//
//   idle (no pipelined upload unanswered) ──Stat / List / Get / Delete / Rename / Verify──► answering
//   answering ──answerStore()──► idle
//   answering (Get) ──startGet()──► sendingFile ──sendGetData()… (GetEnd after the last byte) / failGet()──► idle
//
// Every Abort is answered with UploadError(aborted), and the server uses that code for nothing else: the client waits
// for it, so a failure of ours that crossed the client's Abort can never be mistaken for the answer to its next Open.
//
// A message the current upload state does not expect ends the session with unexpected_message: the client is not
// following the protocol. Refusals the client can act on (bad name, exists, digest mismatch…) are UploadError messages,
// and the session carries on.

public enum ServerEvent: Equatable {
    /// The client is authenticated; `parameters.peerIdentity` is its verified identity.
    case handshakeCompleted(SessionParameters)
    /// Open: answer with `accept(offset:now:)` or `reject(_:now:)`.
    case uploadRequested(UploadRequest)
    /// A chunk of the current upload, decrypted, in order. Valid until the next call into the connection.
    case uploadData(ArraySlice<UInt8>)
    /// A chunk of the current upload of this many bytes, decrypted straight into the buffer that
    /// `nextEvent(now:dataInto:)` asked for (nothing to copy: count them in).
    case uploadDataWritten(Int)
    /// Close: every declared byte arrived; `digest` is the client's SHA-256 of the file. Answer with `commit` once the
    /// file is durable under its final name, or `fail`.
    /// Close: the digest, and the file's times when `file_times` was agreed and the client sent them (§8.9).
    case uploadFinished(digest: [UInt8], times: FileTimes?)
    /// The client aborted the upload: discard the partial file.
    case uploadAborted(UploadFailure)
    /// A pipelined Open (§8.10): its Data follows at once (uploadData / uploadDataWritten events, as for any upload),
    /// then `pipelinedFinished` or `pipelinedAborted`. Answer with `answerPipelined(id:_:now:)`, at any time: the
    /// answers go out in the order of the Opens.
    case pipelinedRequested(UploadRequest, id: UInt64)
    /// The pipelined upload's Close: every byte arrived.
    case pipelinedFinished(id: UInt64, digest: [UInt8], times: FileTimes?)
    /// The client aborted the pipelined upload; its answer (UploadError aborted) is queued already.
    case pipelinedAborted(id: UInt64)
    /// A probe (§8.10): no Data follows. Answer with `answerPipelined`: Committed if this very file is stored (name,
    /// size, digest), UploadError `exists` if another is, `absent` if none is (or any refusal).
    case pipelinedProbed(UploadRequest, id: UInt64)
    case rotated(RotationEvent)
    /// A store request (§14): answer with `answerStore(_:now:)` (a Get with `startGet` or a refusal).
    case storeRequested(StoreRequest)
    /// The client said Goodbye: send `takeOutput()` and close.
    case peerClosed
}

public struct ServerConnection {
    enum Upload {
        case idle
        case deciding(UploadRequest)
        case receiving(UploadRequest, received: UInt64)
        case finishing(UploadRequest)
        case discarding
        /// A pipelined upload's Data flowing (§8.10).
        case pipelined(UploadRequest, id: UInt64, received: UInt64)
        /// A store request (§14) waits for the daemon's answer.
        case answering(StoreRequest)
        /// A Get's file streams to the client (§14.4): `remaining` bytes still to send.
        case sendingFile(GetRequest, remaining: UInt64)
    }

    /// The upload being received, and the pipelined ones waiting for their answers.
    struct Uploads {
        var current = Upload.idle
        var queue = PipelinedQueue()
        /// The id of the next pipelined upload (the session's count of them).
        var nextID: UInt64 = 0
    }

    var core: SessionCore<ServerHandshake, Uploads>

    public init(configuration: ServerConfiguration) {
        precondition((1024...Limits.maxDataChunk).contains(configuration.maxDataChunk),
                     "maxDataChunk \(configuration.maxDataChunk) outside 1024...\(Limits.maxDataChunk)")
        core = SessionCore(handshake: ServerHandshake(configuration: configuration), initialUpload: Uploads())
    }

    // MARK: Input

    public mutating func receive(_ bytes: UnsafeRawBufferPointer) { core.receive(bytes) }

    public mutating func receive(_ bytes: [UInt8]) { bytes.withUnsafeBytes { core.receive($0) } }

    /// Room to read the socket straight into the session's receive buffer (at least `minimum` bytes; when it must
    /// grow, to `preferredCapacity`), so received bytes are not copied before they are decrypted; nil until the
    /// handshake completed, or once closed (then use `receive`). Valid until the next call into the connection;
    /// `didReceive(count:)` counts in what was read there.
    public mutating func receiveSpace(minimum: Int, preferredCapacity: Int) -> UnsafeMutableRawBufferPointer? {
        core.receiveSpace(minimum: minimum, preferredCapacity: preferredCapacity)
    }

    /// Counts in `count` bytes read into the room `receiveSpace` returned.
    public mutating func didReceive(count: Int) { core.didReceive(count) }

    /// The next event, nil when more bytes are needed. A thrown error has already queued an alert in the output (unless
    /// the peer sent one) and closed the session; the caller sends `takeOutput()` and closes the socket.
    public mutating func nextEvent(now: Now) throws(ProtocolError) -> ServerEvent? {
        try nextEvent(now: now, dataInto: nil)
    }

    /// `nextEvent`, with a Data chunk decrypted straight into memory the caller provides: `dataInto(length)` returns
    /// room for `length` bytes (or nil: then it comes as `.uploadData`), and the chunk is reported as
    /// `.uploadDataWritten(length)` once authenticated and checked. Until then the room's content means nothing (a
    /// record that fails authentication leaves it zeroed, and the session closes). This is how the daemon's data path
    /// decrypts each byte once, into the upload's write buffer, with no copy after.
    public mutating func nextEvent(now: Now, dataInto: ((Int) -> UnsafeMutableRawBufferPointer?)?) throws(ProtocolError) -> ServerEvent? {
        try core.step(now: now, dataInto: dataInto, { (input, channel, upload) throws(ProtocolError) -> ServerEvent? in
            switch input {
            case .rotated(let event): return .rotated(event)
            case .goodbye: return .peerClosed
            case .message(let type, let body): return try Self.handleUpload(type, body, upload: &upload, channel: &channel, now: now)
            case .dataMoved(let length):
                if case .discarding = upload.current { return nil }  // as below: the room's bytes are simply not counted
                try Self.acceptData(length: length, upload: &upload.current, channel: channel)
                return .uploadDataWritten(length)
            }
        }, completed: { .handshakeCompleted($0) })
    }

    /// The checks of a Data chunk in the receiving state (whoever holds its bytes).
    private static func acceptData(length: Int, upload: inout Upload, channel: SecureChannel) throws(ProtocolError) {
        let request: UploadRequest, received: UInt64
        switch upload {
        case .receiving(let r, let n), .pipelined(let r, _, let n): (request, received) = (r, n)
        default: throw .unexpected("\(MessageType.data) while the upload is \(upload.name)")
        }
        guard length <= channel.parameters.maxDataChunk else {
            throw .illegal("Data chunk of \(length) bytes exceeds the announced maximum of \(channel.parameters.maxDataChunk)")
        }
        guard UInt64(length) <= request.size - received else {
            throw .illegal("Data beyond the declared size of \(request.size) bytes")
        }
        if case .pipelined(_, let id, _) = upload {
            upload = .pipelined(request, id: id, received: received + UInt64(length))
        } else {
            upload = .receiving(request, received: received + UInt64(length))
        }
    }

    /// Close's checks, for any upload receiving Data: its times only when agreed, every declared byte received, the
    /// digest Open announced.
    private static func decodeClose(_ body: ArraySlice<UInt8>, _ request: UploadRequest, received: UInt64,
                                    channel: SecureChannel) throws(ProtocolError) -> CloseMessage {
        let close = try CloseMessage.decode(body)
        if close.times != nil, !channel.parameters.uploadFeatures.contains(.fileTimes) {
            throw .decode("Close carries file times, but file_times was not agreed")
        }
        guard received == request.size else { throw .illegal("Close after \(received) of \(request.size) bytes") }
        if let announced = request.expectedDigest, !constantTimeEqual(announced, close.digest) {
            throw .illegal("the Close digest differs from the one announced in Open")
        }
        return close
    }

    private static func handleUpload(_ type: MessageType, _ body: ArraySlice<UInt8>,
                                      upload uploads: inout Uploads, channel: inout SecureChannel,
                                      now: Now) throws(ProtocolError) -> ServerEvent? {
        switch (uploads.current, type) {
        case (.idle, .open):
            let request = try UploadRequest.decode(body)
            guard request.namespace.isEmpty || channel.parameters.uploadFeatures.contains(.store) else {
                throw .decode("an Open naming a namespace, but the store feature was not agreed")
            }
            guard request.pipelined else {
                guard uploads.queue.isEmpty else {
                    throw .unexpected("Open (not pipelined) while \(uploads.queue.count) pipelined uploads are unanswered")
                }
                uploads.current = .deciding(request)
                return .uploadRequested(request)
            }
            guard channel.parameters.uploadFeatures.contains(.pipelining) else {
                throw .decode("a pipelined Open, but pipelining was not agreed")
            }
            if request.probe {
                let id = uploads.nextID
                uploads.nextID += 1
                uploads.queue.append(id: id, request)
                uploads.queue.close(id)  // nothing follows it
                return .pipelinedProbed(request, id: id)
            }
            guard request.size <= Limits.maxPipelinedFileSize else {
                throw .illegal("a pipelined Open of \(request.size) bytes; the limit is \(Limits.maxPipelinedFileSize)")
            }
            let id = uploads.nextID
            uploads.nextID += 1
            uploads.queue.append(id: id, request)
            uploads.current = .pipelined(request, id: id, received: 0)
            return .pipelinedRequested(request, id: id)
        case (.receiving, .data), (.pipelined, .data):
            try acceptData(length: body.count, upload: &uploads.current, channel: channel)
            return .uploadData(body)
        case (.receiving(let request, let received), .close):
            let close = try decodeClose(body, request, received: received, channel: channel)
            uploads.current = .finishing(request)
            return .uploadFinished(digest: close.digest, times: close.times)
        case (.pipelined(let request, let id, let received), .close):
            let close = try decodeClose(body, request, received: received, channel: channel)
            uploads.current = .idle
            uploads.queue.close(id)
            try sendReadyAnswers(&uploads.queue, on: &channel, now: now)  // refused at Open: its answer waited for this
            return .pipelinedFinished(id: id, digest: close.digest, times: close.times)
        case (.pipelined(_, let id, _), .abort):
            try EmptyBody.decode(body)
            uploads.current = .idle
            uploads.queue.close(id)
            // Its answer is UploadError(aborted) whatever the application said of it before (a refusal at Open).
            uploads.queue.replaceAnswer(id, .failed(abortAcknowledgement))
            try sendReadyAnswers(&uploads.queue, on: &channel, now: now)
            return .pipelinedAborted(id: id)
        case (.receiving, .abort):
            try EmptyBody.decode(body)
            try send(abortAcknowledgement, on: &channel, now: now)
            uploads.current = .idle
            return .uploadAborted(abortAcknowledgement)
        case (.discarding, .data):
            return nil  // sent before the client saw our UploadError
        case (.discarding, .close):
            _ = try CloseMessage.decode(body)
            uploads.current = .idle
            return nil
        case (.discarding, .abort):
            try EmptyBody.decode(body)
            try send(abortAcknowledgement, on: &channel, now: now)
            uploads.current = .idle
            return nil
        case (.idle, .stat), (.idle, .list), (.idle, .get), (.idle, .delete), (.idle, .rename), (.idle, .verify):
            return try storeRequested(type, body, uploads: &uploads, channel: channel)
        case (.idle, _), (.deciding, _), (.receiving, _), (.finishing, _), (.discarding, _), (.pipelined, _), (.answering, _),
             (.sendingFile, _):
            throw .unexpected("\(type) while the upload is \(uploads.current.name)")
        }
    }

    /// Sends the pipelined answers that are due, oldest first (§8.10).
    private static func sendReadyAnswers(_ queue: inout PipelinedQueue, on channel: inout SecureChannel,
                                         now: Now) throws(ProtocolError) {
        for answer in queue.takeReady() {
            switch answer {
            case .committed(let receipt):
                var encoder = WireEncoder()
                receipt.encode(into: &encoder)
                try channel.send(.committed, body: encoder.bytes, now: now)
            case .failed(let failure):
                try send(failure, on: &channel, now: now)
            }
        }
    }

    /// The answer to every Abort (§8.6).
    static let abortAcknowledgement = UploadFailure(.aborted, "the client aborted the upload")

    // MARK: Commands from the daemon

    /// Accepts the requested upload, starting at `offset` (0 unless resuming).
    public mutating func accept(offset: UInt64 = 0, now: Now) {
        core.command("accept") { (channel, uploads) throws(ProtocolError) in
            guard case .deciding(let request) = uploads.current else { preconditionFailure("accept() while the upload is \(uploads.current.name)") }
            precondition(offset <= request.size, "accept offset past the end of the file")
            var encoder = WireEncoder()
            AcceptedMessage(offset: offset).encode(into: &encoder)
            try channel.send(.accepted, body: encoder.bytes, now: now)
            uploads.current = .receiving(request, received: offset)
        }
    }

    /// Answers an Open that carried a digest with Committed at once: a file of that name, size and SHA-256 is already
    /// stored (§8.7), so no Data is needed. Only when the request carried that digest and size.
    public mutating func alreadyStored(_ receipt: UploadReceipt, now: Now) {
        core.command("alreadyStored") { (channel, uploads) throws(ProtocolError) in
            guard case .deciding(let request) = uploads.current else { preconditionFailure("alreadyStored() while the upload is \(uploads.current.name)") }
            precondition(request.expectedDigest == receipt.digest && request.size == receipt.size,
                         "alreadyStored() for another file than the request's")
            var encoder = WireEncoder()
            receipt.encode(into: &encoder)
            try channel.send(.committed, body: encoder.bytes, now: now)
            uploads.current = .idle
        }
    }

    /// Refuses the requested upload (bad name, exists, too large…); the session goes on.
    public mutating func reject(_ failure: UploadFailure, now: Now) {
        core.command("reject") { (channel, uploads) throws(ProtocolError) in
            guard case .deciding = uploads.current else { preconditionFailure("reject() while the upload is \(uploads.current.name)") }
            try Self.send(failure, on: &channel, now: now)
            uploads.current = .idle
        }
    }

    /// Reports that the file is durable under its final name.
    public mutating func commit(_ receipt: UploadReceipt, now: Now) {
        core.command("commit") { (channel, uploads) throws(ProtocolError) in
            guard case .finishing = uploads.current else { preconditionFailure("commit() while the upload is \(uploads.current.name)") }
            var encoder = WireEncoder()
            receipt.encode(into: &encoder)
            try channel.send(.committed, body: encoder.bytes, now: now)
            uploads.current = .idle
        }
    }

    /// Fails the current upload (storage error, digest mismatch…). Data still in flight is then discarded.
    public mutating func fail(_ failure: UploadFailure, now: Now) {
        core.command("fail") { (channel, uploads) throws(ProtocolError) in
            switch uploads.current {
            case .receiving: uploads.current = .discarding
            case .finishing: uploads.current = .idle
            case .idle, .discarding: return  // the client's Abort got there first: nothing left to fail
            case .deciding, .pipelined, .answering, .sendingFile:
                preconditionFailure("fail() while the upload is \(uploads.current.name): use reject(), answerPipelined() or answerStore()")
            }
            try Self.send(failure, on: &channel, now: now)
        }
    }

    /// Answers the pipelined upload `id` (§8.10), at any time after its Open: the answer goes out once its Close or
    /// Abort arrived and every earlier pipelined upload was answered. An upload the client aborted is answered
    /// UploadError(aborted) already; answering it again, or twice, changes nothing.
    public mutating func answerPipelined(id: UInt64, _ answer: PipelinedAnswer, now: Now) {
        core.command("answerPipelined") { (channel, uploads) throws(ProtocolError) in
            if case .failed(let failure) = answer {
                precondition(failure.code != .aborted, "the code aborted answers the client's Abort only")
            }
            if let request = uploads.queue.request(id) {
                switch answer {
                case .committed(let receipt):
                    precondition(receipt.size == request.size, "Committed for another size than the Open's")
                case .failed(let failure):
                    precondition(failure.code != .absent || request.probe, "the code absent answers probes only")
                }
            }
            guard uploads.queue.answer(id, answer) else { return }
            try Self.sendReadyAnswers(&uploads.queue, on: &channel, now: now)
        }
    }

    /// Pipelined uploads not yet answered on the wire (received, being stored, or waiting for an earlier one).
    public var unansweredPipelined: Int {
        if case .established(_, let uploads) = core.state { uploads.queue.count } else { 0 }
    }

    /// Ends the session politely (shutdown): Goodbye; the caller closes after sending the output.
    public mutating func goodbye(now: Now) {
        core.command("goodbye") { (channel, _) throws(ProtocolError) in try channel.send(.goodbye, body: [], now: now) }
    }

    /// Ends the session with an alert (handshake or idle timeout…); the caller sends `takeOutput()` and closes.
    public mutating func close(_ alert: AlertCode, reason: String) { core.close(with: ProtocolError(alert, reason)) }

    /// Applies a new rotation policy to this session (a configuration reload), from its next record on: our sending
    /// keys follow it directly; the client's follow it through RotateRequest (§7.3), since the policy it agreed to in
    /// the handshake cannot be changed on the wire. Before the handshake completes, the new policy is simply the one
    /// the next session gets from the configuration.
    public mutating func updateRotationPolicy(_ policy: RotationPolicy) {
        try? core.channelCommand { (channel) throws(ProtocolError) in
            channel.sendPolicy = policy
            channel.receivePolicy = policy
        }
    }

    /// Call when `nextDeadline` has passed (time-based rotation).
    public mutating func handleTimer(now: Now) throws(ProtocolError) {
        try core.channelCommand { (channel) throws(ProtocolError) in try channel.handleTimer(now: now) }
    }

    /// Rotates our sending keys now.
    public mutating func rotateNow() throws(ProtocolError) {
        try core.channelCommand { (channel) throws(ProtocolError) in try channel.rotateNow() }
    }

    static func send(_ failure: UploadFailure, on channel: inout SecureChannel, now: Now) throws(ProtocolError) {
        var encoder = WireEncoder()
        failure.encode(into: &encoder)
        try channel.send(.uploadError, body: encoder.bytes, now: now)
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

extension ServerConnection.Upload {
    var name: String {
        switch self {
        case .idle: "idle"
        case .deciding: "awaiting the server's decision"
        case .receiving: "receiving data"
        case .finishing: "being committed"
        case .discarding: "failed (discarding data)"
        case .pipelined: "receiving a pipelined upload"
        case .answering: "answering a store request"
        case .sendingFile: "sending a file"
        }
    }
}
