// A store request answered from the metadata index (docs/PROTOCOL.md §14, docs/STORE.md): one thread-pool job that
// reads the index — never the tree, never a file's bytes — and returns the answer to send. Stat: a file's row, else
// the directory its path is a prefix of (files counted by a range of the key), else not_found. List: a directory's
// children (RowStore+Children) or, recursive, every file below it, one more than the page asked for so that the last
// page says it is the last.
//
// The index is on disk and could hold what the wire cannot carry (a hand-edited database: a digest of the wrong
// length, an empty path, an uploader past 255 bytes): such a row fails the request with storage_failure, the detail
// for the operator's log, rather than reaching an encoder's bound.
import Index
import Protocol

/// A store request's answer, and what the operator's log says beyond the client's text (an index error, a row that
/// cannot be sent, the server path of a failed change).
public struct StoreOutcome: Sendable {
    public let answer: StoreAnswer
    public let detail: String?

    public init(answer: StoreAnswer, detail: String?) {
        self.answer = answer
        self.detail = detail
    }

    /// A refusal the client's text says all of.
    static func refused(_ code: UploadErrorCode, _ message: String) -> StoreOutcome {
        StoreOutcome(answer: .failed(UploadFailure(code, message)), detail: nil)
    }
}

public final class IndexLookup: Sendable {
    public typealias Outcome = StoreOutcome

    public let request: StoreRequest
    /// The namespace the request resolved to (the client's own when it sent "").
    public let namespace: String
    private let index: any MetadataIndex

    public init(request: StoreRequest, namespace: String, index: any MetadataIndex) {
        self.request = request
        self.namespace = namespace
        self.index = index
    }

    public func run(executor: BlockingExecutor, then completion: @escaping (Outcome) -> Void) {
        executor.run({ [self] in answer() }, then: completion)
    }

    /// The answer, read from the index (blocking: the thread pool's).
    public func answer() -> Outcome {
        do throws(IndexError) {
            switch request {
            case .stat(let stat): return try self.stat(stat.path)
            case .list(let list): return try self.list(list)
            case .get, .delete, .rename, .verify:
                preconditionFailure("a \(request.messageName) is not answered from the index alone (StoreRequestHandler)")
            }
        } catch {
            return Outcome(answer: .failed(UploadFailure(.storageFailure, "the server cannot read its index; its log says why")),
                           detail: "\(error)")
        }
    }

    private func stat(_ path: String) throws(IndexError) -> Outcome {
        if path.isEmpty {
            let usage = try index.usage(namespace: namespace)
            return Outcome(answer: .stat(.directory(path: "", files: usage.files, bytes: usage.bytes)), detail: nil)
        }
        if let file = try index.file(namespace: namespace, path: path) {
            guard let entry = Self.entry(file) else { return Self.unsendable(file) }
            return Outcome(answer: .stat(.file(entry)), detail: nil)
        }
        let below = try index.usage(namespace: namespace, prefix: path + "/")
        guard below.files > 0 else {
            return Outcome(answer: .failed(UploadFailure(.notFound, "'\(path)' is not stored")), detail: nil)
        }
        return Outcome(answer: .stat(.directory(path: path, files: below.files, bytes: below.bytes)), detail: nil)
    }

    private func list(_ list: ListRequest) throws(IndexError) -> Outcome {
        var budget = ListPage.Budget(limit: list.limit)
        var entries: [ListEntry] = []
        var after = list.cursor.isEmpty ? nil : list.cursor
        var more = false
        // Batches from the index until the page is full (by count or by bytes: a page is one message, so a full one
        // holds fewer entries than `limit` when names are long) and one entry past it proves there is more.
        reading: while true {
            let wanted = min(Self.batchSize, list.limit - entries.count + 1)
            let batch: [ListEntry]
            switch try read(list, after: after, limit: wanted) {
            case .entries(let read): batch = read
            case .unsendable(let file): return Self.unsendable(file)
            }
            for entry in batch {
                guard budget.admit(entry) else {
                    more = true
                    break reading
                }
                entries.append(entry)
            }
            guard batch.count == wanted, let last = batch.last else { break }
            after = last.key
        }
        // A directory with nothing stored below it is no directory of the store (the index holds files only).
        if entries.isEmpty, list.cursor.isEmpty, !list.directory.isEmpty {
            let name = String(list.directory.dropLast())
            let what = try index.file(namespace: namespace, path: name) != nil ? "is a file, not a directory" : "is not stored"
            return Outcome(answer: .failed(UploadFailure(.notFound, "'\(name)' \(what)")), detail: nil)
        }
        return Outcome(answer: .list(ListPage(entries: entries, nextCursor: more ? entries.last?.key ?? "" : "")), detail: nil)
    }

    /// Rows read from the index per query while a page fills: a page holds up to 1,000 entries but often about 600
    /// (one message), so reading 1,001 rows at once wasted a third of the work.
    static let batchSize = 256

    private enum Read {
        case entries([ListEntry])
        /// A row the wire cannot carry.
        case unsendable(IndexedFile)
    }

    /// At most `limit` entries after `cursor` (a key), as the wire carries them.
    private func read(_ list: ListRequest, after cursor: String?, limit: Int) throws(IndexError) -> Read {
        var entries: [ListEntry] = []
        if list.recursive {
            for file in try index.files(namespace: namespace, prefix: list.directory, after: cursor, limit: limit) {
                guard let entry = Self.entry(file) else { return .unsendable(file) }
                entries.append(.file(entry))
            }
        } else {
            for child in try index.children(namespace: namespace, directory: list.directory, after: cursor, limit: limit) {
                switch child {
                case .file(let file):
                    guard let entry = Self.entry(file) else { return .unsendable(file) }
                    entries.append(.file(entry))
                case .directory(let path):
                    entries.append(.directory(path))
                }
            }
        }
        return .entries(entries)
    }

    /// A row as the wire carries it, or nil when it cannot be carried.
    static func entry(_ file: IndexedFile) -> StoredFileEntry? {
        guard !file.path.isEmpty, file.path.utf8.count <= Limits.maxPathLength, file.sha256.count == Limits.fileDigestLength,
              !file.uploader.isEmpty, file.uploader.utf8.count <= Limits.maxNamespaceLength else { return nil }
        return StoredFileEntry(path: file.path, size: file.size, sha256: file.sha256,
                               modified: file.modified.map(WireTime.init(nanosecondsSinceEpoch:)),
                               uploaded: WireTime(nanosecondsSinceEpoch: file.uploaded), uploader: file.uploader)
    }

    static func unsendable(_ file: IndexedFile) -> Outcome {
        Outcome(answer: .failed(UploadFailure(.storageFailure, "the server's index holds a row it cannot send; its log says which")),
                detail: "the index row of '\(file.path)' in namespace '\(file.namespace)' cannot go on the wire (path of "
                    + "\(file.path.utf8.count) bytes, digest of \(file.sha256.count), uploader of \(file.uploader.utf8.count)): "
                    + "run `ferryd reindex`")
    }
}
