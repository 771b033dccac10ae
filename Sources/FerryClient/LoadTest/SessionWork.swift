// What a LoadSession is given (where to connect, with which configuration and payload; what it is for) and how it
// reports back to the runner.
import Protocol

/// Where and how every session connects, and the names it uses.
struct LoadTarget: Sendable {
    /// An address literal (the event loop does not resolve names).
    let host: String
    let port: UInt16
    let configuration: ClientConfiguration
    let payload: Payload
    /// Names are "loadtest/<runID>/<slot>-<iteration>-<file>"; the files for gets "loadtest/<runID>/get/<k>".
    let runID: String
    /// --timeout, per operation.
    let timeoutNanoseconds: UInt64
    /// --mix; nil: uploads only.
    var mix: OperationMix? = nil
    var seed: UInt64 = LoadTestPlan.defaultSeed
    /// How many files are stored for the gets (`getPath(_:)` 0..<getFiles).
    var getFiles: Int = 0

    /// Files the run stores before the load: the gets' files; or, for lists without gets, one, so the run's
    /// directory exists before the first list (a List of a directory nothing was stored in yet is refused, not_found,
    /// and a list may well come before any put has committed). None for a run of puts alone.
    var filesToStage: Int {
        guard let mix else { return 0 }
        if mix.weight(.get) > 0 { return getFiles }
        return mix.weight(.list) > 0 ? 1 : 0
    }

    /// The directory every file of the run goes in: what a list lists.
    var runDirectory: String { "loadtest/\(runID)/" }

    func putPath(slot: Int, iteration: Int, index: Int) -> String { runDirectory + "\(slot)-\(iteration)-\(index)" }

    /// A file for the gets (or the one stored for lists); "get" is no name a put makes (those start with a digit).
    func getPath(_ index: Int) -> String { runDirectory + "get/\(index)" }
}

/// What a session is for.
struct SessionWork: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// `operations` uploads, or with --mix that many operations picked by weight.
        case load(operations: Int)
        /// Before the load: stores `files` files (`LoadTarget.filesToStage`, LoadRunner). Counted in no figure.
        case stage(files: Int)
        case idle
    }

    let kind: Kind
    let slot: Int
    let iteration: Int
    /// Added to every latency this session reports: in open loop, how late it started against its schedule.
    var lateness: UInt64 = 0
}

protocol LoadSessionDelegate: AnyObject {
    func sessionDidCompleteHandshake(_ session: LoadSession, nanoseconds: UInt64)
    /// An operation succeeded: an upload committed with our digest, a get's bytes matched its header's SHA-256 and the
    /// file stored, a list page arrived. `bytes`: the file's size for put and get, 0 for list.
    func session(_ session: LoadSession, completed operation: LoadOperation, nanoseconds: UInt64, bytes: UInt64)
    /// A failure: an operation's (the session goes on) or the session's (it ends next).
    func session(_ session: LoadSession, didFail failure: LoadFailure)
    /// Exactly once, last. `completed`: every operation succeeded and Goodbye was sent (idle: closed by `closeIdle`).
    func sessionDidEnd(_ session: LoadSession, completed: Bool, rotations: (sent: Int, received: Int))
}
