// What a LoadSession is given (where to connect, with which configuration and payload; what it is for) and how it
// reports back to the runner.
import Protocol

/// Where and how every session connects.
struct LoadTarget: Sendable {
    /// An address literal (the event loop does not resolve names).
    let host: String
    let port: UInt16
    let configuration: ClientConfiguration
    let payload: Payload
    /// Names are "loadtest/<runID>/<slot>-<iteration>-<file>".
    let runID: String
    /// --timeout, per operation.
    let timeoutNanoseconds: UInt64
}

/// What a session is for.
struct SessionWork: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case load(files: Int)
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
    func sessionDidCommitUpload(_ session: LoadSession, nanoseconds: UInt64, bytes: UInt64)
    /// A failure: an upload (the session goes on) or the session (it ends next).
    func session(_ session: LoadSession, didFail failure: LoadFailure)
    /// Exactly once, last. `completed`: every upload committed and Goodbye sent (idle: closed by `closeIdle`).
    func sessionDidEnd(_ session: LoadSession, completed: Bool, rotations: (sent: Int, received: Int))
}
