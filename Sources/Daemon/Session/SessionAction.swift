// What a session asks its driver to do: the only way the sans-socket session (ServerSession and its operation
// handlers) reaches the socket. The driver (Runtime/SessionDriver.swift) performs them in order.
import Platform
import Protocol
import Store

enum SessionAction: Equatable {
    /// Write what the protocol queued (`ServerSession.drainOutput`).
    case flush
    /// Stop reading the socket: the store is behind.
    case pauseReading
    /// Read again: first process what was already received (it may pause again), then the socket.
    case resumeReading
    /// Write what is queued, then close the connection.
    case close
    /// Route this writer's events to `ServerSession.storeEvent`: the store answers later, on this loop.
    case watch(UploadWriter)
    /// Run the store job of pipelined upload `id` and hand its outcome to `ServerSession.pipelinedStored`.
    case storePipelined(id: UInt64, WholeFileUpload, digest: [UInt8], times: FileTimes?)
    /// Run probe `id`'s lookup and hand its outcome to `ServerSession.pipelinedProbed`.
    case probePipelined(id: UInt64, StoredFileProbe)
    /// Run a store request's index lookup and hand its outcome to `ServerSession.storeAnswered`.
    case lookUp(IndexLookup)
    /// Run a Delete's or Rename's change of the tree and hand its outcome to `ServerSession.storeAnswered`.
    case change(StoreChange)
    /// Run one step of a Verify's re-read and hand it to `ServerSession.verifyStepped`.
    case verifyStep(StoredFileVerifier, StoreRequest)
    /// Open a Get's file on the pool and hand the outcome to `ServerSession.getOpened`.
    case openForGet(StoredFileReader)
    /// Read a block of a Get's file at `offset` into the buffer and hand it to `ServerSession.getRead`.
    case readForGet(StoredFileReader, offset: UInt64, IOBuffer)
    /// Seal the Get's blocks read so far (`ServerSession.sealGet`): after the read asked before it has started.
    case sealForGet

    static func == (lhs: SessionAction, rhs: SessionAction) -> Bool {
        switch (lhs, rhs) {
        case (.flush, .flush), (.pauseReading, .pauseReading), (.resumeReading, .resumeReading), (.close, .close),
             (.sealForGet, .sealForGet): true
        case (.watch(let a), .watch(let b)): a === b
        case (.storePipelined(let a, let fileA, _, _), .storePipelined(let b, let fileB, _, _)): a == b && fileA === fileB
        case (.probePipelined(let a, let probeA), .probePipelined(let b, let probeB)): a == b && probeA === probeB
        case (.lookUp(let a), .lookUp(let b)): a === b
        case (.change(let a), .change(let b)): a === b
        case (.verifyStep(let a, _), .verifyStep(let b, _)): a === b
        case (.openForGet(let a), .openForGet(let b)): a === b
        case (.readForGet(let a, let offsetA, let bufferA), .readForGet(let b, let offsetB, let bufferB)):
            a === b && offsetA == offsetB && bufferA === bufferB
        default: false
        }
    }
}
