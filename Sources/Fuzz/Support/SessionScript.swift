// A genuine client and server in memory, and the wire between them, driven by the ops of a fuzz input
// (SessionScript+Ops.swift). Every delivery moves everything one side has sent so far, in order, so any sequence of
// ops is a schedule a real network could produce (TCP keeps each direction's order, not the order between them).
//
// Oracle, beside "no crash": while the input has used only genuine commands and deliveries (nothing injected,
// nothing closed), neither side may fail: the protocol must hold for every interleaving of the two directions
// (messages that cross: an Abort and an UploadError, two rotations, a RotateRequest and a RotateInit, …), and every
// Data chunk the server hands out is the one the client sent (the client's chunks of n bytes are n bytes of value
// n mod 256), in the caller's room or not. A side that throws must be closed (the error rule of SessionCore).
@_spi(Fuzzing) import Protocol

#if canImport(Glibc)
import Glibc
#endif

struct SessionScript {
    var client: ClientConnection
    var server: ServerConnection
    let target: SessionFuzzer.Target
    var now = FuzzPKI.start
    /// Client bytes on their way to the server that the client no longer holds (sealed in place, or flushed ahead of
    /// such bytes), in order.
    var toServer: [UInt8] = []
    /// True while only genuine commands and deliveries happened.
    var pristine = true
    /// When the script asked each side to rotate, in the last simulated second (`countCallerRotation`).
    var clientRotations: [UInt64] = [], serverRotations: [UInt64] = []
    /// Pipelined uploads the server reported and the script has not answered (PROTOCOL.md §8.10).
    var pipelinedToAnswer: [(id: UInt64, request: UploadRequest)] = []
    /// Where the server decrypts Data when a delivery asks for it (the daemon's path).
    let room = DataRoom()
    /// What happened, for the tests that replay inputs.
    var outcome = SessionOutcome()

    init(_ pair: (client: ClientConnection, server: ServerConnection), target: SessionFuzzer.Target) {
        (client, server) = pair
        self.target = target
    }

    mutating func run(_ input: inout FuzzInput) -> SessionOutcome {
        while !input.isExhausted, !(client.isClosed && server.isClosed) {
            guard let op = Op(rawValue: input.byte() % UInt8(Op.allCases.count)) else { continue }
            perform(op, &input)
        }
        settle()
        return outcome
    }

    // MARK: The wire

    mutating func deliverToServer(useRoom: Bool) {
        toServer += client.takeOutput()
        if !toServer.isEmpty {
            server.receive(toServer)
            toServer = []
        }
        drainServer(useRoom: useRoom)
    }

    mutating func deliverToClient() {
        let bytes = server.takeOutput()
        if !bytes.isEmpty { client.receive(bytes) }
        drainClient()
    }

    /// Delivers both ways until neither side has anything more to say (bounded: a rotation answers a request…).
    mutating func settle() {
        for _ in 0..<64 {
            toServer += client.takeOutput()
            let toClient = server.takeOutput()
            if toServer.isEmpty, toClient.isEmpty { return }
            deliverToServer(useRoom: false)
            if !toClient.isEmpty { client.receive(toClient) }
            drainClient()
        }
    }

    mutating func drainServer(useRoom: Bool) {
        let room = self.room.buffer
        let into: ((Int) -> UnsafeMutableRawBufferPointer?)? = useRoom ? { $0 <= room.count ? room : nil } : nil
        do {
            while let event = try server.nextEvent(now: now, dataInto: into) {
                outcome.count(event)
                switch event {
                case .pipelinedRequested(let request, let id), .pipelinedProbed(let request, let id):
                    pipelinedToAnswer.append((id, request))
                default: break
                }
                if pristine { checkData(event) }
            }
        } catch {
            outcome.serverError = outcome.serverError ?? error
            failed(server.isClosed, error)
        }
    }

    mutating func drainClient() {
        do {
            while let event = try client.nextEvent(now: now) { outcome.count(event) }
        } catch {
            outcome.clientError = outcome.clientError ?? error
            failed(client.isClosed, error)
        }
    }

    /// A chunk the client sent in this session: `length` bytes of value `length` mod 256.
    private func checkData(_ event: ServerEvent) {
        switch event {
        case .uploadData(let chunk): chunk.withUnsafeBytes { Self.checkChunk($0) }
        case .uploadDataWritten(let length): Self.checkChunk(UnsafeRawBufferPointer(rebasing: room.buffer[..<length]))
        default: return
        }
    }

    private static func checkChunk(_ received: UnsafeRawBufferPointer) {
        guard let base = received.baseAddress else { return }
        let expected = [UInt8](repeating: UInt8(truncatingIfNeeded: received.count), count: received.count)
        let same = expected.withUnsafeBytes { $0.baseAddress.map { memcmp($0, base, received.count) == 0 } ?? false }
        if !same { fatalError("a Data chunk of \(received.count) bytes reached the server altered") }
    }

    func failed(_ closed: Bool, _ error: ProtocolError) {
        Self.checkClosed(closed, error)
        if pristine { fatalError("a session of genuine commands and deliveries failed: \(error)") }
    }

    static func checkClosed(_ closed: Bool, _ error: ProtocolError) {
        if !closed { fatalError("\(error) was thrown, and the connection is still open") }
    }
}

/// The server's Data destination: owned memory at a stable address, freed with the script.
final class DataRoom {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Limits.maxDataChunk, alignment: 16)

    deinit { buffer.deallocate() }
}

/// What a session input did (counts of events, the first error of each side): for tests, which check that a seed
/// or a regression input does what it says.
public struct SessionOutcome: Equatable, Sendable {
    public var uploadsRequested = 0
    public var uploadsAccepted = 0
    public var dataChunks = 0
    public var uploadsFinished = 0
    public var committed = 0
    public var alreadyStored = 0
    public var uploadFailures = 0
    public var uploadsAborted = 0
    public var rotations = 0
    public var peerClosed = 0
    public var storeRequests = 0
    public var storeAnswers = 0
    public var serverError: ProtocolError?
    public var clientError: ProtocolError?

    mutating func count(_ event: ServerEvent) {
        switch event {
        case .handshakeCompleted: break
        case .uploadRequested, .pipelinedRequested, .pipelinedProbed: uploadsRequested += 1
        case .uploadData, .uploadDataWritten: dataChunks += 1
        case .uploadFinished, .pipelinedFinished: uploadsFinished += 1
        case .uploadAborted, .pipelinedAborted: uploadsAborted += 1
        case .storeRequested: storeRequests += 1
        case .rotated: rotations += 1
        case .peerClosed: peerClosed += 1
        }
    }

    mutating func count(_ event: ClientEvent) {
        switch event {
        case .handshakeCompleted: break
        case .uploadAccepted: uploadsAccepted += 1
        case .uploadCommitted: committed += 1
        case .uploadAlreadyStored: alreadyStored += 1
        case .uploadFailed: uploadFailures += 1
        case .pipelinedAnswered(_, .committed): committed += 1
        case .pipelinedAnswered(_, .failed): uploadFailures += 1
        case .storeAnswered, .getFinished: storeAnswers += 1
        case .getStarted, .getData: break
        case .rotated: rotations += 1
        case .peerClosed: peerClosed += 1
        }
    }
}
