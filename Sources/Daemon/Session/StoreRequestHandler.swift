// The store's read requests of a session (docs/PROTOCOL.md §14): Stat and List. What the session can check alone —
// draining, the index being kept, whose namespace, the path's rules — is answered at once with OperationError;
// the rest is an IndexLookup on the thread pool, whose answer ServerSession passes to the connection. One request at
// a time (the protocol's rule): `inFlight` while its lookup runs, so a shutdown waits for the answer.
//
//   idle ──Stat / List──► (refused at once: OperationError) ──► idle
//                    └──► looking up (IndexLookup on the pool) ──answer──► idle
import Logging
import Protocol
import Store

struct StoreRequestHandler {
    private(set) var inFlight = false
    /// Requests answered in this session, and those refused (the "session closed" line).
    private(set) var answered: UInt64 = 0
    private(set) var refused: UInt64 = 0
    private let refusalLog = RateLimitedLog()

    /// The lookup that answers `request`, or the refusal to send at once.
    mutating func requested(_ request: StoreRequest, identity: String, environment: UploadHandler.Environment,
                            logger: Logger) -> Result<IndexLookup, UploadFailure> {
        if let failure = Self.refusal(request, identity: identity, environment: environment) {
            refuse(request, failure, logger: logger)
            return .failure(failure)
        }
        guard let index = environment.store.index else {
            let failure = UploadFailure(.notSupported, "this server keeps no metadata index ([index] backend = \"off\"), "
                + "so it cannot list or stat what it stores; ask its operator")
            refuse(request, failure, logger: logger)
            return .failure(failure)
        }
        inFlight = true
        return .success(IndexLookup(request: request, namespace: identity, index: index))
    }

    /// The lookup ended: its answer, logged when it failed.
    mutating func lookedUp(_ lookup: IndexLookup, _ outcome: IndexLookup.Outcome, logger: Logger) -> StoreAnswer {
        inFlight = false
        guard case .failed(let failure) = outcome.answer else {
            answered += 1
            return outcome.answer
        }
        refuse(lookup.request, failure, detail: outcome.detail, logger: logger)
        return outcome.answer
    }

    /// What refuses a request before any lookup: the daemon stopping, another's namespace, a path against the rules.
    static func refusal(_ request: StoreRequest, identity: String, environment: UploadHandler.Environment) -> UploadFailure? {
        if environment.draining { return UploadFailure(.busy, "the server is shutting down; retry later") }
        let namespace: String, path: String
        switch request {
        case .stat(let stat): (namespace, path) = (stat.namespace, stat.path)
        case .list(let list): (namespace, path) = (list.namespace, String(list.directory.dropLast()))
        case .get(let get): (namespace, path) = (get.namespace, get.path)
        }
        if !namespace.isEmpty, namespace != identity {
            return UploadFailure(.permissionDenied, "'\(identity)' may read only its own files, not those of '\(namespace)'")
        }
        guard !path.isEmpty else { return nil }
        do throws(StorageNameError) {
            _ = try NameRules.validateRelativePath(path, staging: environment.store.rules.staging)
        } catch {
            return UploadFailure(.badPath, "\(error)")
        }
        return nil
    }

    /// A Get sent to its end.
    mutating func countAnswered() { answered += 1 }

    /// A Get refused or failed (ServerSession+Get): logged and counted as the others.
    mutating func refused(_ request: StoreRequest, _ failure: UploadFailure, detail: String?, logger: Logger) {
        refuse(request, failure, detail: detail, logger: logger)
    }

    private mutating func refuse(_ request: StoreRequest, _ failure: UploadFailure, detail: String? = nil, logger: Logger) {
        refused += 1
        var metadata: Logger.Metadata = ["request": "\(request.summary)", "code": "\(failure.code)", "reason": "\(failure.message)"]
        if let detail { metadata["detail"] = "\(detail)" }
        let serverSide = failure.code == .storageFailure || failure.code == .notSupported
        // A missing name is the client's everyday question, not the operator's concern.
        let level: Logger.Level = serverSide ? .warning : failure.code == .notFound ? .info : .notice
        refusalLog.log(logger, level, kind: "\(failure.code)", "store request refused", metadata: metadata)
    }
}

extension StoreRequest {
    /// For log lines: the request and its path.
    var summary: String {
        switch self {
        case .stat(let stat): "stat \(stat.namespace.isEmpty ? "" : stat.namespace + ":")\(stat.path)"
        case .list(let list):
            "list\(list.recursive ? " -R" : "") \(list.namespace.isEmpty ? "" : list.namespace + ":")\(list.directory)"
        case .get(let get): "get \(get.namespace.isEmpty ? "" : get.namespace + ":")\(get.path) from \(get.offset)"
        }
    }
}
