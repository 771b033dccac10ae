// What each job queued on the SteppedExecutor (TestSupport) is, told from its result type.
import Platform
import TestSupport

@testable import Store

extension SteppedExecutor {
    /// A hash and a discard both return Void.
    enum Kind: Equatable {
        case prepare, write, commit, hashOrDiscard, other
    }

    var queuedKinds: [Kind] { queuedResultTypes.map(Self.kind(of:)) }

    private static func kind(of type: Any.Type) -> Kind {
        if type == Void.self { return .hashOrDiscard }
        // The write's result reaches `run` as an unlabelled tuple (the label is only in UploadJobs.write's signature).
        if type == (Result<Int, SystemError>, Bool).self || type == (Result<Int, SystemError>, fellBack: Bool).self {
            return .write
        }
        if type == Result<Void, StoreFailure>.self { return .commit }
        if type == Result<UploadJobs.Prepared, StoreFailure>.self { return .prepare }
        return .other
    }
}
