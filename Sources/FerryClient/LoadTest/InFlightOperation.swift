// The operation a LoadSession has under way, and what it keeps about it until the answer: one enum, so an upload's
// progress and a get's check cannot both be set.
enum InFlightOperation {
    case put(InFlightUpload)
    case get(InFlightGet)
    case list(OperationStart)

    var started: OperationStart {
        switch self {
        case .put(let upload): upload.started
        case .get(let get): get.started
        case .list(let started): started
        }
    }
}

/// Which operation, its number within the session, and when it was sent (hrtime nanoseconds: its latency's start).
struct OperationStart {
    let operation: LoadOperation
    let index: Int
    let openedAt: UInt64

    /// "upload 3" for a put (the word every report and example uses), "get 4", "list 5".
    var name: String { "\(operation == .put ? "upload" : operation.rawValue) \(index + 1)" }

    /// The staging session's uploads: "storing file 2 of 16 before the load".
    func name(staging files: Int) -> String { "storing file \(index + 1) of \(files) before the load" }
}

struct InFlightUpload {
    let started: OperationStart
    /// Accepted arrived: Data may be sealed from `sent` on.
    var accepted = false
    var sent: UInt64 = 0
    /// Close is sent; Committed is awaited.
    var closed = false
}

struct InFlightGet {
    let started: OperationStart
    /// Set by the GetHeader; the bytes hashed so far.
    var check: GetCheck?
}
