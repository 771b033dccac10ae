// The server side of Get (docs/PROTOCOL.md §14.4): the daemon opens the file and answers with its header, then hands
// the bytes over chunk by chunk as it reads them; GetEnd goes by itself after the last one. The daemon paces the
// chunks (the socket's queue, `canSendGetData` while a rotation completes); the connection checks that what it is
// given is exactly the file the header announced.
//
//   answering(Get) ──startGet(header)──► sendingFile ──sendGetData()…──► (last byte: GetEnd) idle
//          │                                   └──failGet()──► idle (OperationError: the client keeps what it got)
//          └──answerStore(.failed)──► idle (refused: not found, a bad path…)

extension ServerConnection {
    /// Answers the Get being answered with the file's header; its bytes from `header.offset` follow through
    /// `sendGetData`. A file with nothing after the offset ends at once (GetEnd).
    public mutating func startGet(_ header: GetHeader, now: Now) {
        core.command("startGet") { (channel, uploads) throws(ProtocolError) in
            guard case .answering(.get(let request)) = uploads.current else {
                preconditionFailure("startGet() while the upload is \(uploads.current.name)")
            }
            precondition(header.offset == (request.offset <= header.size ? request.offset : 0),
                         "a GetHeader offset other than the Get's (or 0 past the end)")
            precondition(header.sha256.count == Limits.fileDigestLength, "digest length")
            var encoder = WireEncoder(reservingCapacity: 64)
            header.encode(into: &encoder)
            try channel.send(.getHeader, body: encoder.bytes, now: now)
            let remaining = header.size - header.offset
            if remaining == 0 {
                try channel.send(.getEnd, body: [], now: now)
                uploads.current = .idle
            } else {
                uploads.current = .sendingFile(request, remaining: remaining)
            }
        }
    }

    /// Bytes of the file still to send, while one is being sent.
    public var getRemaining: UInt64? {
        if case .established(_, let uploads) = core.state, case .sendingFile(_, let remaining) = uploads.current {
            remaining
        } else {
            nil
        }
    }

    /// Whether a GetData chunk may be sealed now: a file is being sent and no rotation holds the keys back (at most
    /// one round trip; SecureChannel.canSendData).
    public var canSendGetData: Bool {
        guard case .established(let channel, let uploads) = core.state, case .sendingFile = uploads.current else { return false }
        return channel.canSendData
    }

    /// The next chunk of the file: 1…`Limits.maxDataChunk` bytes, at most what remains. After the last, GetEnd.
    public mutating func sendGetData(_ chunk: UnsafeRawBufferPointer, now: Now) {
        core.command("sendGetData") { (channel, uploads) throws(ProtocolError) in
            guard case .sendingFile(let request, let remaining) = uploads.current else {
                preconditionFailure("sendGetData() while the upload is \(uploads.current.name)")
            }
            precondition(chunk.count > 0 && chunk.count <= Limits.maxDataChunk, "GetData of \(chunk.count) bytes")
            precondition(UInt64(chunk.count) <= remaining, "GetData past the file's end")
            try channel.sendData(chunk, as: .getData, now: now)
            let left = remaining - UInt64(chunk.count)
            if left == 0 {
                try channel.send(.getEnd, body: [], now: now)
                uploads.current = .idle
            } else {
                uploads.current = .sendingFile(request, remaining: left)
            }
        }
    }

    /// The file cannot be sent to its end (a read error, the file shorter than its header said): OperationError, and
    /// the session goes on. The client keeps the bytes it got for a later Get from where they end.
    public mutating func failGet(_ failure: UploadFailure, now: Now) {
        core.command("failGet") { (channel, uploads) throws(ProtocolError) in
            guard case .sendingFile = uploads.current else { preconditionFailure("failGet() while the upload is \(uploads.current.name)") }
            precondition(failure.code != .aborted && failure.code != .absent, "\(failure.code) answers uploads only")
            var encoder = WireEncoder()
            failure.encode(into: &encoder)
            try channel.send(.operationError, body: encoder.bytes, now: now)
            uploads.current = .idle
        }
    }
}
