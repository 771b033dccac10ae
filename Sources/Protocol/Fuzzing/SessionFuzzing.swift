// What the fuzz harness needs from a live session (`@_spi(Fuzzing)`, see WireFuzzing.swift):
//   - seal any message, known type or not, with the keys a side sends with right now (handshake or application
//     keys), so the peer's state machine gets arbitrary messages past the AEAD, in every state;
//   - read the upload state, so the harness calls the commands only where they are allowed: each command traps on a
//     misuse (our bug, STYLE.md §5), and the fuzzer must find the traps bytes can reach, not the harness's own;
//   - copy a session whose handshake has just completed: a genuine in-memory handshake costs milliseconds under the
//     sanitizers, which would hold a session target to ~150 inputs a second; the harness makes each handshake once
//     and starts every input from a copy of its outcome.

@_spi(Fuzzing) public enum FuzzedUploadState: Equatable, Sendable {
    /// Handshaking or closed: no upload command applies.
    case noSession
    case idle
    // Server
    case deciding(UploadRequest)
    case receiving(UploadRequest, received: UInt64)
    case finishing(UploadRequest)
    case discarding
    case pipelined(UploadRequest, id: UInt64, received: UInt64)
    case answering(StoreRequest)
    case sendingFile(GetRequest, remaining: UInt64)
    // Client
    case awaitingAccept(UploadRequest)
    case sending(UploadRequest, sent: UInt64)
    case awaitingCommit(UploadRequest)
    case aborting
    case awaitingStore(StoreRequest)
    case receivingFile(GetRequest, remaining: UInt64)
}

extension RecordLayer {
    /// Seals `typeByte ‖ body` with the current send keys; false when there are none or the message is too long.
    fileprivate mutating func sealForFuzzing(typeByte: UInt8, body: [UInt8]) -> Bool {
        guard sendKeys != nil, 1 + body.count <= Limits.maxMessageLength else { return false }
        do {
            try body.withUnsafeBytesTyped { (buffer) throws(CryptoError) in try writeSealed(typeByte: typeByte, body: buffer) }
        } catch {
            return false
        }
        return true
    }
}

extension SessionCore {
    fileprivate mutating func sealForFuzzing(typeByte: UInt8, body: [UInt8]) -> Bool {
        var sealed = false
        injectForTesting { sealed = $0.records.sealForFuzzing(typeByte: typeByte, body: body) } established: {
            sealed = $0.records.sealForFuzzing(typeByte: typeByte, body: body)
        }
        return sealed
    }
}

extension ServerConnection {
    /// Seals a message of any type byte with the server's current sending keys, bypassing every state check; false
    /// when it has none (before its ServerHello), is closed, or the message exceeds `Limits.maxMessageLength`.
    @_spi(Fuzzing) public mutating func sealForFuzzing(typeByte: UInt8, body: [UInt8]) -> Bool {
        core.sealForFuzzing(typeByte: typeByte, body: body)
    }

    @_spi(Fuzzing) public var uploadStateForFuzzing: FuzzedUploadState {
        guard case .established(_, let uploads) = core.state else { return .noSession }
        return switch uploads.current {
        case .idle: .idle
        case .deciding(let request): .deciding(request)
        case .receiving(let request, let received): .receiving(request, received: received)
        case .finishing(let request): .finishing(request)
        case .discarding: .discarding
        case .pipelined(let request, let id, let received): .pipelined(request, id: id, received: received)
        case .answering(let request): .answering(request)
        case .sendingFile(let request, let remaining): .sendingFile(request, remaining: remaining)
        }
    }
}

extension ClientConnection {
    /// As `ServerConnection.sealForFuzzing`: the client's handshake keys from its ServerHello on, then its
    /// application keys.
    @_spi(Fuzzing) public mutating func sealForFuzzing(typeByte: UInt8, body: [UInt8]) -> Bool {
        core.sealForFuzzing(typeByte: typeByte, body: body)
    }

    @_spi(Fuzzing) public var uploadStateForFuzzing: FuzzedUploadState {
        guard case .established(_, let uploads) = core.state else { return .noSession }
        return switch uploads.current {
        case .idle: .idle
        case .awaitingAccept(let request): .awaitingAccept(request)
        case .sending(let request, let sent): .sending(request, sent: sent)
        case .awaitingCommit(let request): .awaitingCommit(request)
        case .aborting: .aborting
        case .awaitingStore(let request): .awaitingStore(request)
        case .receivingFile(let request, let remaining): .receivingFile(request, remaining: remaining)
        }
    }
}

extension SecureChannel {
    /// A channel as this one, sharing nothing mutable with it, or nil unless this one is as a handshake leaves it:
    /// application keys of epoch 0 not used yet, nothing buffered either way, no rotation sent or received. (The
    /// rotation states, private, are idle then: a rotation starts by sending, and nothing was sent.) The new channel
    /// is made as the handshake made this one, from the same secrets (SecretBytes are immutable: they are shared),
    /// with the policies and chunk limit the handshake would have agreed for the configurations the caller names.
    fileprivate func freshCopyForFuzzing(rotation: RotationPolicy, sendPolicy: RotationPolicy, receivePolicy: RotationPolicy,
                                         maxDataChunk: Int) -> SecureChannel? {
        guard let send = records.sendKeys, let receive = records.receiveKeys, records.bufferedInbound == 0,
              records.outbound.isEmpty, rotationsSent == 0, rotationsReceived == 0,
              [send, receive].allSatisfy({ $0.epoch == 0 && $0.sequence == 0 && $0.bytes == 0 }) else { return nil }
        var copy = RecordLayer()
        do {
            copy.sendKeys = try TrafficKeys(suite: parameters.cipherSuite, hash: parameters.hash, secret: send.secret,
                                            epoch: 0, installedAt: send.installedAt, encrypting: true)
            copy.receiveKeys = try TrafficKeys(suite: parameters.cipherSuite, hash: parameters.hash, secret: receive.secret,
                                               epoch: 0, installedAt: receive.installedAt, encrypting: false)
        } catch {
            return nil
        }
        var agreed = SessionParameters(
            version: parameters.version, cipherSuite: parameters.cipherSuite, group: parameters.group, hash: parameters.hash,
            serverSignature: parameters.serverSignature, clientSignature: parameters.clientSignature,
            peer: parameters.peer, rotation: rotation, maxDataChunk: maxDataChunk)
        // The features the handshake agreed (file times, pipelining): without them no fuzzed session could use either.
        agreed.uploadFeatures = parameters.uploadFeatures
        return SecureChannel(records: copy, parameters: agreed, sendPolicy: sendPolicy, receivePolicy: receivePolicy)
    }
}

extension SessionCore {
    fileprivate func freshCopyForFuzzing(_ copyChannel: (SecureChannel) -> SecureChannel?) -> SessionCore? {
        guard case .established(let channel, let upload) = state, !hasPendingOutput, let copy = copyChannel(channel) else {
            return nil
        }
        var core = self
        core.state = .established(copy, upload)
        return core
    }
}

extension ServerConnection {
    /// A copy sharing nothing mutable with this connection, for a connection whose handshake has just completed (its
    /// output taken, no upload, no other call since), as if its configuration had had `rotation` and `maxDataChunk`
    /// (what the handshake takes from it: ServerHandshake); nil in any other state.
    @_spi(Fuzzing) public func freshCopyForFuzzing(rotation: RotationPolicy, maxDataChunk: Int) -> ServerConnection? {
        precondition((1024...Limits.maxDataChunk).contains(maxDataChunk), "maxDataChunk \(maxDataChunk)")
        guard case .idle = uploadStateForFuzzing, let core = core.freshCopyForFuzzing({
            $0.freshCopyForFuzzing(rotation: rotation, sendPolicy: rotation, receivePolicy: rotation, maxDataChunk: maxDataChunk)
        }) else { return nil }
        var copy = self
        copy.core = core
        return copy
    }
}

extension ClientConnection {
    /// As `ServerConnection.freshCopyForFuzzing`, as if the client's configuration had had `rotation` and the server
    /// had announced `serverRotation` and `maxDataChunk` (what ClientHandshake.finish agrees from them).
    @_spi(Fuzzing) public func freshCopyForFuzzing(rotation: RotationPolicy, serverRotation: RotationPolicy,
                                                   maxDataChunk: Int) -> ClientConnection? {
        let agreed = rotation.stricter(serverRotation)
        guard case .idle = uploadStateForFuzzing, let core = core.freshCopyForFuzzing({
            $0.freshCopyForFuzzing(rotation: agreed, sendPolicy: agreed, receivePolicy: rotation, maxDataChunk: maxDataChunk)
        }) else { return nil }
        var copy = self
        copy.core = core
        return copy
    }
}
