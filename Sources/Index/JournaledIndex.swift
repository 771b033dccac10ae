// The metadata index as the store uses it (MetadataIndex): intents in the journal (IntentJournal, one append each),
// rows in a RowStore (SQLite, or PostgreSQL when servers share one store) written in batches. A finished commit's row
// waits in memory until `batchSize` have gathered or someone reads: then one transaction writes them all, and the
// journal forgets their intents. So a stored file costs one append (and, when durable, one sync of the journal) plus a
// share of a transaction, where a transaction of its own cost more than the rest of a small file's upload (SQLite
// through GRDB, this machine type: docs/STORE.md).
//
// A crash loses nothing of this: a finished commit whose row was still in memory has its intent in the journal, and
// start-up settles it against the tree. Every read (a listing, a stat, usage) first writes what is waiting, so a
// reader sees every commit that was finished before it asked.
import Foundation

// @unchecked: `waiting` is guarded by `lock`, the journal by its own.
public final class JournaledIndex: MetadataIndex, @unchecked Sendable {
    /// Rows written in one transaction at most, and what makes a finish write them.
    public static let batchSize = 256
    /// Finished rows kept waiting when the row store cannot be written: past this, new intents are refused.
    public static let maximumWaiting = 65_536

    private let rows: any RowStore
    private let journal: IntentJournal
    /// A batch that could not be written waits for the next try (false: it is dropped, its intents pending again).
    private let retainsFailedBatches: Bool
    /// Guards `waiting`.
    private let lock = NSLock()
    private var waiting: [(id: Int64, change: RowChange?)] = []
    /// One batch written at a time, in the order its changes were finished.
    private let writing = NSLock()

    /// `journalDirectory` must exist; what a previous process left there is pending until settled. `exclusive`: the
    /// journal is locked for this process's life (`inUse` when another has it), for daemons that share a storage
    /// root, each with its own journal (IntentJournal) — and a batch that cannot be written is dropped rather than
    /// kept for the next flush, its intents pending again: the name it changes is let go once its change returns,
    /// and another daemon may change that name before the next flush would write the stale row. What is pending is
    /// then settled against the tree under the name's lock (Store+Sharing.swift).
    /// `backlogLimit`: changes not yet in the index past which new ones are refused (`maximumWaiting`).
    public init(rows: any RowStore, journalDirectory: String, exclusive: Bool = false,
                backlogLimit: Int = JournaledIndex.maximumWaiting) throws(IndexError) {
        self.rows = rows
        journal = try IntentJournal(directory: journalDirectory, exclusive: exclusive)
        retainsFailedBatches = !exclusive
        self.backlogLimit = backlogLimit
    }

    private let backlogLimit: Int

    /// Removes this journal when nothing is pending (a departed daemon's, opened by `journal(in:)`); whether it did.
    public func removeIfEmpty() -> Bool {
        lock.lock()
        let idle = waiting.isEmpty
        lock.unlock()
        return idle && journal.removeIfEmpty()
    }

    /// Where quotas count uploads in progress across daemons, when the rows are kept where all of them see them.
    public var quotaLedger: (any QuotaLedger)? { rows as? any QuotaLedger }

    /// Another journal over the same rows (a departed daemon's, to settle what it left), locked like `exclusive`.
    public func journal(in directory: String) throws(IndexError) -> JournaledIndex {
        try JournaledIndex(rows: rows, journalDirectory: directory, exclusive: true)
    }

    // MARK: Changes

    public func beginCommit(_ file: IndexedFile, durable: Bool) throws(IndexError) -> Intent {
        try refuseWhenBackedUp()
        return try journal.append(kind: .commit, namespace: file.namespace, path: file.path, file: file, durable: durable)
    }

    public func finishCommit(_ intent: Intent, waiting wait: Bool) throws(IndexError) {
        guard journal.claim(intent.id).claimed, intent.kind == .commit, let file = intent.file else {
            throw IndexError(.unknownIntent, "no pending commit \(intent.id)")
        }
        if queue(intent.id, .put(file)) >= Self.batchSize || wait { try flush() }
    }

    public func beginDelete(namespace: String, path: String, durable: Bool) throws(IndexError) -> Intent {
        try refuseWhenBackedUp()
        return try journal.append(kind: .delete, namespace: namespace, path: path, file: nil, durable: durable)
    }

    @discardableResult
    public func finishDelete(_ intent: Intent) throws(IndexError) -> IndexedFile? {
        guard journal.claim(intent.id).claimed, intent.kind == .delete else {
            throw IndexError(.unknownIntent, "no pending delete \(intent.id)")
        }
        do {
            try flush()
            let old = try rows.file(namespace: intent.namespace, path: intent.path)
            _ = queue(intent.id, .remove(namespace: intent.namespace, path: intent.path))
            try flush()
            return old
        } catch {
            journal.unclaim([intent.id])
            throw error
        }
    }

    public func finishDelete(_ intent: Intent, waiting wait: Bool) throws(IndexError) {
        guard journal.claim(intent.id).claimed, intent.kind == .delete else {
            throw IndexError(.unknownIntent, "no pending delete \(intent.id)")
        }
        if queue(intent.id, .remove(namespace: intent.namespace, path: intent.path)) >= Self.batchSize || wait { try flush() }
    }

    public func abandon(_ intent: Intent) throws(IndexError) {
        guard journal.claim(intent.id).claimed else { throw IndexError(.unknownIntent, "no pending intent \(intent.id)") }
        // Nothing changed in the tree, so nothing to write: it is forgotten in order with the finishes around it.
        if queue(intent.id, nil) >= Self.batchSize { try flush() }
    }

    public func pendingIntents() throws(IndexError) -> [Intent] { journal.pending }

    /// Writes every finished change still waiting, in one transaction (durable when an intent it finishes was), and
    /// lets the journal forget their intents. On failure they wait on for the next try. Blocking.
    public func flush() throws(IndexError) {
        writing.lock()
        defer { writing.unlock() }
        lock.lock()
        let batch = waiting
        waiting = []
        lock.unlock()
        guard !batch.isEmpty else { return }
        let changes = batch.compactMap(\.change)
        let ids = batch.map(\.id)
        do {
            if !changes.isEmpty { try rows.apply(changes, durable: journal.anyDurable(ids)) }
        } catch {
            if retainsFailedBatches {
                lock.lock()
                waiting = batch + waiting
                lock.unlock()
            } else {
                // Abandons changed nothing and are done; the rest are pending again, for settling against the tree.
                journal.forget(batch.filter { $0.change == nil }.map(\.id))
                journal.unclaim(batch.filter { $0.change != nil }.map(\.id))
            }
            throw error
        }
        journal.forget(ids)
    }

    /// Queues a finished change; returns how many wait.
    private func queue(_ id: Int64, _ change: RowChange?) -> Int {
        lock.lock()
        defer { lock.unlock() }
        waiting.append((id, change))
        return waiting.count
    }

    /// Past `backlogLimit` changes not yet in the index, new ones are refused. Alone on the root they wait in
    /// memory; shared, a batch the index refused is dropped and its intents wait in the journal for settling, so
    /// those are counted (an index down for long would otherwise let them grow without bound).
    private func refuseWhenBackedUp() throws(IndexError) {
        let count: Int
        if retainsFailedBatches {
            lock.lock()
            count = waiting.count
            lock.unlock()
        } else {
            count = journal.count
        }
        guard count < backlogLimit else {
            throw IndexError(.unavailable, "\(count) stored files wait to be written to the index, which refuses them")
        }
    }

    /// Before a read: what is waiting is written. Alone on the root, a batch being written by another thread is
    /// waited for too (its changes were answered before this read was asked). Shared, every change's row is written
    /// before its change returns (finishCommit waits), so a reader has nothing to wait for when nothing waits, and
    /// does not queue behind a write to a slow index.
    private func flushForReading() throws(IndexError) {
        if !retainsFailedBatches {
            lock.lock()
            let idle = waiting.isEmpty
            lock.unlock()
            if idle { return }
        }
        try flush()
    }

    // MARK: Reading: what is waiting is written first

    public func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try flushForReading()
        return try rows.file(namespace: namespace, path: path)
    }

    public func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] {
        try flushForReading()
        return try rows.files(namespace: namespace, prefix: prefix, after: cursor, limit: limit)
    }

    public func usage(namespace: String) throws(IndexError) -> Usage {
        try flushForReading()
        return try rows.usage(namespace: namespace)
    }

    public func usage(namespace: String, prefix: String) throws(IndexError) -> Usage {
        try flushForReading()
        return try rows.usage(namespace: namespace, prefix: prefix)
    }

    public func children(namespace: String, directory: String, after cursor: String?, limit: Int) throws(IndexError)
        -> [IndexChild] {
        try flushForReading()
        return try rows.children(namespace: namespace, directory: directory, after: cursor, limit: limit)
    }

    public func totalUsage() throws(IndexError) -> Usage {
        try flushForReading()
        return try rows.totalUsage()
    }

    public func namespaces() throws(IndexError) -> [String] {
        try flushForReading()
        return try rows.namespaces()
    }

    public func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) {
        try flush()
        try rows.replaceNamespace(namespace, with: files)
    }
}
