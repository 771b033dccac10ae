// The part of a connection both roles share: handshake, then the established channel with the role's upload state,
// then closed. It owns the error rule: any ProtocolError queues an alert (unless the peer sent one) and closes.

/// What ClientHandshake and ServerHandshake offer the core: their record layer and their transition function.
protocol HandshakeDriver {
    var records: RecordLayer { get set }
    /// One handshake message in the current state; returns the channel when the handshake completes.
    mutating func handle(_ type: MessageType, _ body: ArraySlice<UInt8>, now: Now) throws(ProtocolError) -> SecureChannel?
}

extension HandshakeDriver {
    mutating func append(_ bytes: UnsafeRawBufferPointer) { records.append(bytes) }

    mutating func takeOutbound() -> [UInt8] { records.takeOutbound() }

    mutating func writeAlert(_ error: ProtocolError) { records.writeAlert(error) }

    /// Processes buffered records. Returns the established channel once the handshake is complete (the handshake is
    /// consumed into it), nil when more bytes are needed. A peer's alert ends the handshake whatever the state.
    mutating func advance(now: Now) throws(ProtocolError) -> SecureChannel? {
        while let (type, body) = try records.nextMessage() {
            if type == .alert { throw AlertMessage.peerError(body) }
            if let channel = try handle(type, body, now: now) { return channel }
        }
        return nil
    }
}

extension ClientHandshake: HandshakeDriver {}
extension ServerHandshake: HandshakeDriver {}

struct SessionCore<Handshake: HandshakeDriver, Upload> {
    enum State {
        case handshaking(Handshake)
        case established(SecureChannel, Upload)
        case closed
    }

    /// What one step of input produced.
    enum Step {
        case handshakeCompleted(SessionParameters)
        case input(SecureChannel.Input)
    }

    var state: State  // settable for TestingHooks.swift only
    /// Output taken from the handshake when it was consumed, and the final alert.
    private var pendingOutput: [UInt8] = []
    private let initialUpload: Upload

    init(handshake: Handshake, initialUpload: Upload) {
        state = .handshaking(handshake)
        self.initialUpload = initialUpload
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .handshaking(var handshake):
            state = .closed  // leave no second reference to the buffers while mutating (no copy-on-write)
            handshake.append(bytes)
            state = .handshaking(handshake)
        case .established(var channel, let upload):
            state = .closed
            channel.append(bytes)
            state = .established(channel, upload)
        case .closed:
            break  // bytes after the end are dropped
        }
    }

    /// Room for a read straight into the established channel's receive buffer; nil before the handshake completes
    /// (its records are small and few: they are copied in by `receive`) and after the session closed.
    mutating func receiveSpace(minimum: Int, preferredCapacity: Int) -> UnsafeMutableRawBufferPointer? {
        guard case .established(var channel, let upload) = state else { return nil }
        state = .closed
        let space = channel.records.receiveSpace(minimum: minimum, preferredCapacity: preferredCapacity)
        state = .established(channel, upload)
        return space
    }

    /// Counts in `count` bytes read into the room `receiveSpace` gave.
    mutating func didReceive(_ count: Int) {
        guard case .established(var channel, let upload) = state else { return }
        state = .closed
        channel.records.didReceive(count)
        state = .established(channel, upload)
    }

    /// Runs one step: the handshake, or one input of the channel handed to `handle` with the upload state.
    /// Errors close the session (alert queued) and are rethrown.
    mutating func step<R>(now: Now, dataInto: ((Int) -> UnsafeMutableRawBufferPointer?)? = nil,
                          _ handle: (SecureChannel.Input, inout SecureChannel, inout Upload) throws(ProtocolError) -> R?,
                          completed: (SessionParameters) -> R) throws(ProtocolError) -> R? {
        do throws(ProtocolError) {
            switch state {
            case .handshaking(var handshake):
                state = .closed
                let channel: SecureChannel?
                do throws(ProtocolError) {
                    channel = try handshake.advance(now: now)
                } catch {
                    state = .handshaking(handshake)
                    throw error
                }
                // On completion the handshake's unsent output moved into the channel with the record layer.
                guard let channel else {
                    state = .handshaking(handshake)
                    return nil
                }
                state = .established(channel, initialUpload)
                return completed(channel.parameters)
            case .established(var channel, var upload):
                state = .closed
                defer { state = .established(channel, upload) }
                // An input that makes no event (Data dropped after a failure, an answer that crossed an Abort) must
                // not end the step: nil means "no more input", and what follows it in the buffer (the Abort, its
                // answer) would wait for bytes the peer never sends, as it waits for us.
                while let input = try channel.nextInput(now: now, dataInto: dataInto) {
                    if let result = try handle(input, &channel, &upload) { return result }
                }
                return nil
            case .closed:
                return nil
            }
        } catch {
            close(with: error)
            throw error
        }
    }

    /// Runs a command on the established channel. Before the handshake completes a command is our bug; after the
    /// session closed it is moot. A failure closes the session.
    mutating func command(_ name: String, _ body: (inout SecureChannel, inout Upload) throws(ProtocolError) -> Void) {
        switch state {
        case .closed:
            return
        case .handshaking:
            preconditionFailure("\(name) before the handshake completed")
        case .established(var channel, var upload):
            state = .closed
            do {
                try body(&channel, &upload)
                state = .established(channel, upload)
            } catch {
                state = .established(channel, upload)
                close(with: error)
            }
        }
    }

    /// Like `command`, but rethrows (timers and rotation, where the caller wants to know).
    mutating func channelCommand(_ body: (inout SecureChannel) throws(ProtocolError) -> Void) throws(ProtocolError) {
        guard case .established(var channel, let upload) = state else { return }
        state = .closed
        do {
            try body(&channel)
            state = .established(channel, upload)
        } catch {
            state = .established(channel, upload)
            close(with: error)
            throw error
        }
    }

    mutating func takeOutput() -> [UInt8] {
        var output = pendingOutput
        pendingOutput = []
        switch state {
        case .handshaking(var handshake):
            state = .closed
            output += handshake.takeOutbound()
            state = .handshaking(handshake)
        case .established(var channel, let upload):
            state = .closed
            output += channel.takeOutbound()
            state = .established(channel, upload)
        case .closed:
            break
        }
        return output
    }

    /// Hands the pending output to `body` (one or more calls, in order; each buffer valid only during its call) and
    /// keeps the record layer's buffer for the next batch.
    mutating func drainOutput(_ body: (UnsafeRawBufferPointer) -> Void) {
        if !pendingOutput.isEmpty {
            pendingOutput.withUnsafeBytes(body)
            pendingOutput = []
        }
        switch state {
        case .handshaking(var handshake):
            state = .closed
            handshake.records.drainOutbound(body)
            state = .handshaking(handshake)
        case .established(var channel, let upload):
            state = .closed
            channel.records.drainOutbound(body)
            state = .established(channel, upload)
        case .closed:
            break
        }
    }

    /// Frees the record buffers if nothing is pending in them (call when the session goes idle).
    mutating func releaseIdleBuffers() {
        switch state {
        case .handshaking(var handshake):
            state = .closed
            handshake.records.releaseIdleBuffers()
            state = .handshaking(handshake)
        case .established(var channel, let upload):
            state = .closed
            channel.records.releaseIdleBuffers()
            state = .established(channel, upload)
        case .closed:
            if pendingOutput.isEmpty { pendingOutput = [] }
        }
    }

    /// Queues an alert (unless the peer sent one: alerts are never answered) and closes.
    mutating func close(with error: ProtocolError) {
        switch state {
        case .handshaking(var handshake):
            pendingOutput += handshake.takeOutbound()
            if error.origin == .local {
                handshake.writeAlert(error)
                pendingOutput += handshake.takeOutbound()
            }
        case .established(var channel, _):
            if error.origin == .local { channel.sealAlert(error) }
            pendingOutput += channel.takeOutbound()
        case .closed:
            break
        }
        state = .closed
    }

    var channel: SecureChannel? {
        if case .established(let channel, _) = state { channel } else { nil }
    }

    var isClosed: Bool { if case .closed = state { true } else { false } }

    /// Whether `drainOutput` has anything to hand out.
    var hasPendingOutput: Bool {
        if !pendingOutput.isEmpty { return true }
        switch state {
        case .handshaking(let handshake): return !handshake.records.outbound.isEmpty
        case .established(let channel, _): return channel.hasOutbound
        case .closed: return false
        }
    }
}
