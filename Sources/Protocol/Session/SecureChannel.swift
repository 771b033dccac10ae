// The established channel: application keys for both directions, their rotation, and the connection-scope messages
// (Alert, Goodbye, Rotate*). Upload-scope messages pass through to the client or server machine.
//
// Rotation of one direction, initiator I (the sender whose keys change), responder R (docs/PROTOCOL.md §7):
//
//   I: RotateInit{epoch n+1, share_I}   ──────►   R: (share_R, Z) = respond(share_I); derive secret[n+1]
//      … I keeps sending Data under epoch n …
//   I: derive secret[n+1] from Z        ◄──────   R: RotateReply{epoch n+1, share_R}
//   I: RotateCommit (last record of n)  ──────►   R: switch receive keys to n+1
//   I: switch send keys to n+1, zero epoch n      (records after RotateCommit are under n+1)
//
// Each direction has its own epoch chain and its own rotation in flight at most; both may rotate at once.
//
//   send side:     idle ──start──► awaitingReply ──RotateReply / send RotateCommit, switch──► idle
//   receive side:  idle ──RotateInit / send RotateReply──► awaitingCommit ──RotateCommit / switch──► idle

struct SecureChannel {
    private enum SendRotation {
        case idle
        case awaitingReply(initiator: KeyExchangeInitiator, epoch: UInt32, reason: RotationEvent.Reason, bytesAtStart: UInt64)
    }

    private enum ReceiveRotation {
        case idle
        case awaitingCommit(secret: SecretBytes, epoch: UInt32)
    }

    /// What a received message meant for the layer above.
    enum Input {
        case message(MessageType, ArraySlice<UInt8>)
        /// A Data body of this length, decrypted into the caller's buffer (`nextInput(now:dataInto:)`).
        case dataMoved(Int)
        case rotated(RotationEvent)
        case goodbye
    }

    var records: RecordLayer  // settable for TestingHooks.swift only
    let parameters: SessionParameters
    /// What our sending side obeys: the stricter of ours and the peer's announced policy (client), or ours (server).
    var sendPolicy: RotationPolicy
    /// What we ask of the peer's sending side, by RotateRequest when it lags (our own policy).
    var receivePolicy: RotationPolicy
    private var sendRotation = SendRotation.idle
    private var receiveRotation = ReceiveRotation.idle
    /// The receive epoch for which we already sent a RotateRequest (one request per epoch).
    private var requestedForEpoch: UInt32?
    /// Bytes sent while the last rotation was in flight (RotateInit to RotateReply): a volume rotation starts that
    /// much before its threshold (at most half of it), so the key protects about `afterBytes` and the sender rarely
    /// has to wait for the reply.
    private var rotationLead: UInt64 = 0
    /// When the peer last made us work for a rotation (its RotateInits, the RotateRequests we acted on), within the
    /// last second: more than Limits.maxPeerRotationsPerSecond closes the session.
    private var peerRotationTimes: [UInt64] = []
    /// When we last started a rotation of our own sending keys (pacing, Limits.minimumRotationIntervalNanoseconds).
    private var lastRotationStarted: UInt64?
    private(set) var rotationsSent = 0
    private(set) var rotationsReceived = 0

    init(records: RecordLayer, parameters: SessionParameters, sendPolicy: RotationPolicy, receivePolicy: RotationPolicy) {
        precondition(records.sendKeys != nil && records.receiveKeys != nil, "channel without application keys")
        self.records = records
        self.parameters = parameters
        self.sendPolicy = sendPolicy
        self.receivePolicy = receivePolicy
        self.records.maxInboundBody = Limits.maxRecordBodyAfterAuthentication
        self.records.acceptsPlaintextAlerts = false
    }

    private var sendKeys: TrafficKeys {
        guard let keys = records.sendKeys else { preconditionFailure("channel lost its send keys") }
        return keys
    }

    private var receiveKeys: TrafficKeys {
        guard let keys = records.receiveKeys else { preconditionFailure("channel lost its receive keys") }
        return keys
    }

    // MARK: Receiving

    mutating func append(_ bytes: UnsafeRawBufferPointer) { records.append(bytes) }

    /// The next input for the layer above; nil when more bytes are needed.
    mutating func nextInput(now: Now, dataInto: ((Int) -> UnsafeMutableRawBufferPointer?)? = nil) throws(ProtocolError) -> Input? {
        while true {
            guard let (type, message) = try records.nextMessage(dataInto: dataInto) else { return nil }
            try enforceReceiveLimits(now: now)
            let body: ArraySlice<UInt8>
            switch message {
            case .moved(let length): return .dataMoved(length)  // only ever Data
            case .inline(let slice): body = slice
            }
            switch type {
            case .alert:
                throw AlertMessage.peerError(body)
            case .goodbye:
                try EmptyBody.decode(body)
                return .goodbye
            case .rotateRequest:
                let request = try RotateRequestMessage.decode(body)
                guard request.epoch <= sendKeys.epoch else { throw .illegal("RotateRequest for future epoch \(request.epoch)") }
                // Ignored when it names an epoch we already left, or a rotation of it is in flight: either way the
                // peer gets what it asked for.
                if request.epoch == sendKeys.epoch, case .idle = sendRotation {
                    try countPeerRotation(now: now)
                    try startRotation(reason: .peerRequest)
                }
                continue
            case .rotateInit:
                try countPeerRotation(now: now)
                try handleRotateInit(RotationShare.decode(body))
                continue
            case .rotateReply:
                return .rotated(try handleRotateReply(RotationShare.decode(body), now: now))
            case .rotateCommit:
                try EmptyBody.decode(body)
                return .rotated(try handleRotateCommit(now: now))
            case .clientHello, .serverHello, .serverParameters, .certificate, .certificateVerify, .finished:
                throw .unexpected("\(type) after the handshake")
            case .open, .accepted, .data, .close, .committed, .uploadError, .abort,
                 .get, .getHeader, .getData, .getEnd, .list, .listPage, .stat, .statResult, .operationError,
                 .delete, .deleted, .rename, .verify, .verified:
                return .message(type, body)
            }
        }
    }

    /// The peer must rotate before the hard limit; past our policy (plus one record of slack for a RotateInit that is
    /// already on its way, or one second for a time-based one) we ask it to, once per epoch.
    private mutating func enforceReceiveLimits(now: Now) throws(ProtocolError) {
        let keys = receiveKeys
        let slack = KeyUsageLimits.units(keys.suite, plaintextLength: Limits.maxMessageLength) * 16
        guard keys.usage <= KeyUsageLimits.hardLimit(keys.suite) + slack else {
            throw ProtocolError(.keyUsageExceeded, "peer used epoch \(keys.epoch) for \(keys.usage) units")
        }
        guard case .idle = receiveRotation, requestedForEpoch != keys.epoch else { return }
        // Asked no sooner than the pacing allows the peer to rotate (§7.5): a fast link crossing a small threshold
        // gets a rotation every 62.5 ms, not one per threshold.
        guard now.monotonicNanoseconds &- keys.installedAt >= Limits.minimumRotationIntervalNanoseconds else { return }
        let overBytes = receivePolicy.afterBytes.map { keys.bytes >= $0 + UInt64(Limits.maxMessageLength) } ?? false
        let overTime = receivePolicy.afterSeconds.map {
            now.monotonicNanoseconds >= keys.installedAt &+ ($0 + 1) &* 1_000_000_000
        } ?? false
        guard overBytes || overTime else { return }
        requestedForEpoch = keys.epoch
        var encoder = WireEncoder()
        RotateRequestMessage(epoch: keys.epoch).encode(into: &encoder)
        try seal(.rotateRequest, body: encoder.bytes)
    }

    private mutating func handleRotateInit(_ message: RotationShare) throws(ProtocolError) {
        guard case .idle = receiveRotation else { throw .unexpected("RotateInit while a rotation is in flight") }
        let keys = receiveKeys
        guard message.epoch == keys.epoch &+ 1, message.epoch != 0 else {
            throw .illegal("RotateInit for epoch \(message.epoch), expected \(keys.epoch &+ 1)")
        }
        do {
            let (share, shared) = try KeyExchangeResponder.respond(group: parameters.group, initiatorShare: message.share)
            let next = try KeySchedule.nextEpochSecret(parameters.hash, current: keys.secret, epoch: message.epoch,
                                                       initiatorShare: message.share, responderShare: share, sharedSecret: shared)
            var encoder = WireEncoder()
            RotationShare(epoch: message.epoch, share: share).encode(into: &encoder)
            try seal(.rotateReply, body: encoder.bytes)
            receiveRotation = .awaitingCommit(secret: next, epoch: message.epoch)
        } catch let error as CryptoError {
            throw Self.rotationError(error)
        } catch {
            throw error as? ProtocolError ?? ProtocolError(.internalError, "\(error)")
        }
    }

    /// A bad share from the peer is its fault (illegal_parameter); anything else is ours (internal_error).
    private static func rotationError(_ error: CryptoError) -> ProtocolError {
        error.kind == .invalidPeerShare
            ? ProtocolError(.illegalParameter, "rotation key share rejected: \(error)")
            : ProtocolError(.internalError, "rotation: \(error)")
    }

    private mutating func handleRotateReply(_ message: RotationShare, now: Now) throws(ProtocolError) -> RotationEvent {
        guard case let .awaitingReply(initiator, epoch, reason, bytesAtStart) = sendRotation else {
            throw .unexpected("RotateReply without a RotateInit")
        }
        guard message.epoch == epoch else { throw .illegal("RotateReply for epoch \(message.epoch), expected \(epoch)") }
        let old = sendKeys
        let next: TrafficKeys
        do {
            let shared = try initiator.complete(responderShare: message.share)
            let secret = try KeySchedule.nextEpochSecret(parameters.hash, current: old.secret, epoch: epoch,
                                                         initiatorShare: initiator.share, responderShare: message.share,
                                                         sharedSecret: shared)
            next = try TrafficKeys(suite: parameters.cipherSuite, hash: parameters.hash, secret: secret, epoch: epoch,
                                   installedAt: now.monotonicNanoseconds, encrypting: true)
        } catch {
            throw Self.rotationError(error)
        }
        // RotateCommit is the last record under the old keys; everything after it uses the new ones.
        try seal(.rotateCommit, body: [])
        records.sendKeys = next  // the old TrafficKeys is released here: its secret and cipher contexts are zeroed
        sendRotation = .idle
        rotationLead = old.bytes - bytesAtStart
        rotationsSent += 1
        return RotationEvent(direction: .send, epoch: epoch, bytesUnderOldKeys: old.bytes,
                             secondsUnderOldKeys: now.seconds(since: old.installedAt), reason: reason)
    }

    private mutating func handleRotateCommit(now: Now) throws(ProtocolError) -> RotationEvent {
        guard case let .awaitingCommit(secret, epoch) = receiveRotation else {
            throw .unexpected("RotateCommit without a RotateInit")
        }
        let old = receiveKeys
        do {
            records.receiveKeys = try TrafficKeys(suite: parameters.cipherSuite, hash: parameters.hash, secret: secret,
                                                  epoch: epoch, installedAt: now.monotonicNanoseconds, encrypting: false)
        } catch {
            throw ProtocolError(.internalError, "installing receive keys: \(error)")
        }
        receiveRotation = .idle
        rotationsReceived += 1
        return RotationEvent(direction: .receive, epoch: epoch, bytesUnderOldKeys: old.bytes,
                             secondsUnderOldKeys: now.seconds(since: old.installedAt), reason: .peer)
    }

    // MARK: Sending

    /// Whether a full Data record should be sealed now. False while a rotation is in flight and the current key has
    /// carried its `afterBytes` already (wait for RotateReply: at most one round trip), and at the hard usage limit.
    /// Only the hard limit is enforced (`sendData` traps past it); the policy wait is the caller's courtesy.
    var canSendData: Bool {
        let keys = sendKeys
        if keys.wouldExceedHardLimit(plaintextLength: Limits.maxMessageLength) { return false }
        if case .awaitingReply = sendRotation, let limit = sendPolicy.afterBytes, keys.bytes >= limit { return false }
        return true
    }

    mutating func send(_ type: MessageType, body: [UInt8], now: Now) throws(ProtocolError) {
        try seal(type, body: body)
        try rotateIfDue(now: now)
    }

    /// Seals a bulk message — Data (§8.1), or GetData (§14.4) with `type` — from the caller's buffer.
    mutating func sendData(_ chunk: UnsafeRawBufferPointer, as type: MessageType = .data, now: Now) throws(ProtocolError) {
        precondition(!sendKeys.wouldExceedHardLimit(plaintextLength: 1 + chunk.count),
                     "sendData past the key usage limit: check canSendData first")
        do { try records.writeSealed(type, body: chunk) } catch { throw ProtocolError(.internalError, "sealing: \(error)") }
        try rotateIfDue(now: now)
    }

    /// `sendData`, sealing the record straight into `destination` (see RecordLayer); returns its length. The caller
    /// sends `destination` before anything queued afterwards (a RotateInit or RotateCommit goes to the outbound buffer).
    mutating func sendData(_ chunk: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                           now: Now) throws(ProtocolError) -> Int {
        precondition(!sendKeys.wouldExceedHardLimit(plaintextLength: 1 + chunk.count),
                     "sendData past the key usage limit: check canSendData first")
        let length: Int
        do { length = try records.writeSealed(typeByte: MessageType.data.rawValue, body: chunk, into: destination) } catch {
            throw ProtocolError(.internalError, "sealing: \(error)")
        }
        try rotateIfDue(now: now)
        return length
    }

    /// Starts a rotation of our sending keys now (unless one is in flight).
    mutating func rotateNow() throws(ProtocolError) {
        if case .idle = sendRotation { try startRotation(reason: .caller) }
    }

    /// Time-based rotation: call when `nextDeadline` passes.
    mutating func handleTimer(now: Now) throws(ProtocolError) { try rotateIfDue(now: now) }

    /// When `handleTimer` should be called next (monotonic nanoseconds), if a time-based rotation is pending.
    var nextDeadline: UInt64? {
        guard case .idle = sendRotation, let seconds = sendPolicy.afterSeconds, sendKeys.bytes > 0 else { return nil }
        return sendKeys.installedAt &+ seconds &* 1_000_000_000
    }

    mutating func takeOutbound() -> [UInt8] { records.takeOutbound() }

    var hasOutbound: Bool { !records.outbound.isEmpty }

    /// Seals an alert as the last record (errors while sealing are moot: the session is ending anyway).
    mutating func sealAlert(_ error: ProtocolError) {
        var encoder = WireEncoder()
        AlertMessage(code: error.alert.rawValue, reason: error.wireText).encode(into: &encoder)
        try? records.writeSealed(.alert, body: encoder.bytes)
    }

    private mutating func seal(_ type: MessageType, body: [UInt8]) throws(ProtocolError) {
        do { try records.writeSealed(type, body: body) } catch { throw ProtocolError(.internalError, "sealing: \(error)") }
    }

    private mutating func rotateIfDue(now: Now) throws(ProtocolError) {
        guard case .idle = sendRotation else { return }
        let keys = sendKeys
        let reason: RotationEvent.Reason
        if let limit = sendPolicy.afterBytes, keys.bytes + min(rotationLead, limit / 2) >= limit {
            reason = .bytes
        } else if keys.usage >= KeyUsageLimits.softLimit(keys.suite) {
            reason = .usageLimit
        } else if let seconds = sendPolicy.afterSeconds, keys.bytes > 0,
                  now.monotonicNanoseconds >= keys.installedAt &+ seconds &* 1_000_000_000 {
            reason = .time
        } else {
            return
        }
        // Policy rotations are paced (the usage limit is not: past it the key must go); the data keeps flowing.
        if reason != .usageLimit, let last = lastRotationStarted,
           now.monotonicNanoseconds &- last < Limits.minimumRotationIntervalNanoseconds {
            return
        }
        lastRotationStarted = now.monotonicNanoseconds
        try startRotation(reason: reason)
    }

    /// One more rotation the peer made us work for; too many in the last second is an attack or a broken peer.
    private mutating func countPeerRotation(now: Now) throws(ProtocolError) {
        let time = now.monotonicNanoseconds
        peerRotationTimes.removeAll { time &- $0 >= 1_000_000_000 }
        peerRotationTimes.append(time)
        guard peerRotationTimes.count <= Limits.maxPeerRotationsPerSecond else {
            throw .illegal("more than \(Limits.maxPeerRotationsPerSecond) rotations in one second")
        }
    }

    private mutating func startRotation(reason: RotationEvent.Reason) throws(ProtocolError) {
        let epoch = sendKeys.epoch &+ 1
        guard epoch != 0 else { throw ProtocolError(.keyUsageExceeded, "epoch counter exhausted") }
        let initiator: KeyExchangeInitiator
        do { initiator = try KeyExchangeInitiator(group: parameters.group) } catch {
            throw ProtocolError(.internalError, "rotation key generation: \(error)")
        }
        var encoder = WireEncoder()
        RotationShare(epoch: epoch, share: initiator.share).encode(into: &encoder)
        try seal(.rotateInit, body: encoder.bytes)
        sendRotation = .awaitingReply(initiator: initiator, epoch: epoch, reason: reason, bytesAtStart: sendKeys.bytes)
    }
}
