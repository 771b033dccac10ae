// A store request that changes the tree (docs/PROTOCOL.md §14.8, §14.9): Delete (Store+Delete.swift) and Rename
// (Store+Rename.swift), one thread-pool job each, recorded in the metadata index on both sides of the change. What it
// answers is what the session sends; what it could not do is an OperationError, with the server side in the detail
// for the log.
import Index
import Protocol

public final class StoreChange: Sendable {
    public let request: StoreRequest
    /// The namespace the request resolved to (the client's own when it sent "").
    public let namespace: String
    private let store: Store
    private let index: any MetadataIndex
    /// Each change durable before it is answered (storage.fsync).
    private let durable: Bool

    public init(request: StoreRequest, namespace: String, store: Store, index: any MetadataIndex, durable: Bool) {
        self.request = request
        self.namespace = namespace
        self.store = store
        self.index = index
        self.durable = durable
    }

    public func run(executor: BlockingExecutor, then completion: @escaping (StoreOutcome) -> Void) {
        executor.run({ [self] in answer() }, then: completion)
    }

    /// The change made (or refused), and its answer. Blocking: the thread pool's.
    public func answer() -> StoreOutcome {
        do throws(IndexError) {
            switch request {
            case .delete(let delete): return try store.delete(delete, namespace: namespace, index: index, durable: durable)
            case .rename(let rename): return try store.rename(rename, namespace: namespace, index: index, durable: durable)
            case .stat, .list, .get, .verify:
                preconditionFailure("a \(request.messageName) changes nothing (StoreRequestHandler)")
            }
        } catch {
            return StoreOutcome(answer: .failed(UploadFailure(.storageFailure, "the server cannot read its index; its log says why")),
                                detail: "\(error)")
        }
    }
}
