// The store's requests of a session other than Get (docs/PROTOCOL.md §14): Stat, List, Delete, Rename and Verify.
// What the session can check alone — draining, the index being kept, whose namespace, the paths' rules — is answered at
// once with OperationError; the rest is a job on the thread pool (an IndexLookup for Stat and List, a StoreChange for
// Delete and Rename, a StoredFileVerifier's steps for Verify), whose answer ServerSession passes to the connection. One
// request at a time (the protocol's rule): `inFlight` while its job runs, so a shutdown waits for the answer.
//
//   idle ──request──► (refused at once: OperationError) ──► idle
//                └──► in flight (its job on the pool) ──answer──► idle
import FerrydConfig
import Logging
import Protocol
import Store

struct StoreRequestHandler {
    private(set) var inFlight = false
    /// Requests answered in this session, and those refused (the "session closed" line).
    private(set) var answered: UInt64 = 0
    private(set) var refused: UInt64 = 0
    private let refusalLog = RateLimitedLog()

    /// The job that answers a request on the thread pool.
    enum Job {
        case lookUp(IndexLookup)
        case change(StoreChange)
        case verify(StoredFileVerifier, StoreRequest)
    }

    /// The job that answers `request` (any but a Get: ServerSession+Get), or the refusal to send at once.
    mutating func requested(_ request: StoreRequest, identity: String, environment: UploadHandler.Environment,
                            logger: Logger) -> Result<Job, UploadFailure> {
        if let failure = Self.refusal(request, identity: identity, environment: environment) {
            refuse(request, failure, logger: logger)
            return .failure(failure)
        }
        guard let index = environment.store.index else {
            let failure = UploadFailure(.notSupported, "this server keeps no metadata index ([index] backend = \"off\"), "
                + "so it cannot list, stat, delete, rename or verify what it stores; ask its operator")
            refuse(request, failure, logger: logger)
            return .failure(failure)
        }
        let job: Job
        let namespace = request.namespace(of: identity)
        switch request {
        case .stat, .list: job = .lookUp(IndexLookup(request: request, namespace: namespace, index: index))
        case .delete, .rename:
            job = .change(StoreChange(request: request, namespace: namespace, store: environment.store, index: index,
                                      durable: environment.settings.fsync))
        case .verify(let verify):
            do throws(StorageNameError) {
                let path = try environment.store.rules.storedPath(identity: namespace, relativePath: verify.path)
                job = .verify(StoredFileVerifier(store: environment.store, index: index, path: path), request)
            } catch {
                let failure = UploadFailure(.badPath, "\(error)")
                refuse(request, failure, logger: logger)
                return .failure(failure)
            }
        case .get: preconditionFailure("a Get is served by ServerSession+Get")
        }
        inFlight = true
        return .success(job)
    }

    /// The job ended: its answer, logged when it failed.
    mutating func answered(_ request: StoreRequest, _ outcome: StoreOutcome, logger: Logger) -> StoreAnswer {
        inFlight = false
        guard case .failed(let failure) = outcome.answer else {
            answered += 1
            return outcome.answer
        }
        refuse(request, failure, detail: outcome.detail, logger: logger)
        return outcome.answer
    }

    /// What refuses a request before any job: the daemon stopping, a namespace or path against the rules, an
    /// operation the identity may not do there (AccessPolicy: its own namespace, and what [access] grants).
    static func refusal(_ request: StoreRequest, identity: String, environment: UploadHandler.Environment) -> UploadFailure? {
        if environment.draining { return UploadFailure(.busy, "the server is shutting down; retry later") }
        // Each path, and the operations of which one allows the request there (AccessPolicy).
        let checks: [([AccessOperation], String)]
        switch request {
        case .stat(let stat): checks = [([.list, .read, .write, .delete], stat.path)]
        case .list(let list): checks = [([.list, .read, .delete], String(list.directory.dropLast()))]
        case .get(let get): checks = [([.read], get.path)]
        case .verify(let verify): checks = [([.read], verify.path)]
        case .delete(let delete): checks = [([.delete], delete.path)]
        case .rename(let rename): checks = [([.delete], rename.from), ([.write], rename.to)]
        }
        if case .rename(let rename) = request, rename.overwrite, !environment.settings.allowOverwrite {
            return UploadFailure(.exists, "this server does not allow replacing files ([storage] allow_overwrite)")
        }
        let namespace = request.namespace(of: identity)
        if let refusal = Self.namespaceRefusal(namespace, identity: identity, rules: environment.store.rules) { return refusal }
        do throws(StorageNameError) {
            for (_, path) in checks where !path.isEmpty {
                _ = try NameRules.validateRelativePath(path, staging: environment.store.rules.staging)
            }
        } catch {
            return UploadFailure(.badPath, "\(error)")
        }
        for (operations, path) in checks {
            if let refusal = environment.settings.access.refusal(identity, operations, namespace: namespace, path: path) {
                return refusal
            }
        }
        return nil
    }

    /// A namespace another than the client's own must be a name an identity's directory could have (never `..`, the
    /// staging directory or the index's).
    static func namespaceRefusal(_ namespace: String, identity: String, rules: NameRules) -> UploadFailure? {
        guard !namespace.utf8.elementsEqual(identity.utf8) else { return nil }  // bytes, not canonical equivalence
        do throws(StorageNameError) { try rules.validateIdentity(namespace) } catch {
            return UploadFailure(.badPath, "'\(namespace)' cannot be a namespace: \(error.nameProblem)")
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
        var metadata: Logger.Metadata = ["request": "\(request.summary)", "code": "\(failure.code.name)", "reason": "\(failure.message)"]
        if let detail { metadata["detail"] = "\(detail)" }
        let serverSide = failure.code == .storageFailure || failure.code == .notSupported
        // A missing name is the client's everyday question, not the operator's concern.
        let level: Logger.Level = serverSide ? .warning : failure.code == .notFound ? .info : .notice
        refusalLog.log(logger, level, kind: "\(failure.code)", "store request refused", metadata: metadata)
    }
}

extension StoreRequest {
    /// The namespace it names, `identity`'s own when it names none.
    func namespace(of identity: String) -> String {
        let named = switch self {
        case .stat(let stat): stat.namespace
        case .list(let list): list.namespace
        case .get(let get): get.namespace
        case .delete(let delete): delete.namespace
        case .rename(let rename): rename.namespace
        case .verify(let verify): verify.namespace
        }
        return named.isEmpty ? identity : named
    }

    /// For log lines: the request and its path.
    var summary: String {
        switch self {
        case .stat(let stat): "stat \(stat.namespace.isEmpty ? "" : stat.namespace + ":")\(stat.path)"
        case .list(let list):
            "list\(list.recursive ? " -R" : "") \(list.namespace.isEmpty ? "" : list.namespace + ":")\(list.directory)"
        case .get(let get): "get \(get.namespace.isEmpty ? "" : get.namespace + ":")\(get.path) from \(get.offset)"
        case .delete(let delete): "delete\(delete.recursive ? " -r" : "") \(delete.namespace.isEmpty ? "" : delete.namespace + ":")\(delete.path)"
        case .rename(let rename):
            "rename\(rename.overwrite ? " -f" : "") \(rename.namespace.isEmpty ? "" : rename.namespace + ":")\(rename.from) \(rename.to)"
        case .verify(let verify): "verify \(verify.namespace.isEmpty ? "" : verify.namespace + ":")\(verify.path)"
        }
    }
}
