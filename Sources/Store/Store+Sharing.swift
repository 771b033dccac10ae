// Several ferryd on one storage root (`storage.shared`, docs/STORE.md "Several daemons on one root"): a shared file
// system and one PostgreSQL index. What a daemon alone on its root keeps in its memory is, shared, kept where every
// daemon sees it:
//
//   the root        its lock taken shared (StoreLock): an unshared daemon or `ferryd reindex` cannot run beside them
//   a file's name   a lock file per name in staging (NameLocks, through PartialIndex): one upload, delete, rename or
//                   settling of a file at a time, whichever daemon does it
//   kept partials   their records on disk, whoever wrote them: an upload resumes on whichever daemon its client
//                   reaches; expiry is a scan of staging, each name under its lock (scanSharedStaging)
//   intents         a journal per daemon in `<root>/.index/nodes/<node>/`, locked by it; a journal whose lock is free is
//                   a departed daemon's, and whoever finds it settles it (settleDepartedNodes: at start, every minute)
//   rows            written before the name is let go, so no daemon's batch outlives its name's lock
//
// Left to each daemon: the free-space admission and the quotas count the uploads in progress it runs itself (and the
// stored files, which the index counts for all).
import Foundation
import Index
import Platform

/// How this daemon shares its root with others.
public struct StoreSharing: Sendable {
    /// This daemon's name among them (`index.node`): its journal is `<journals>/<node>/`.
    public let node: String
    /// The journals' directory, `<root>/.index/nodes`.
    public let journals: String

    public init(node: String, journals: String) {
        self.node = node
        self.journals = journals
    }

    /// The directory `nodes` below the index's journal directory, holding one per daemon.
    public static let journalsDirectory = "nodes"
}

extension Store {
    /// Shared with a ledger the others see (the PostgreSQL index): where quotas count uploads in progress.
    var quotaLedger: (any QuotaLedger)? {
        sharing == nil ? nil : (index as? JournaledIndex)?.quotaLedger
    }

    /// Settles `intent` (Store.settle) holding its file's name, its row written before the name is let go. false when
    /// another daemon holds the name (an upload of it runs there): the intent stays pending, for a later try.
    /// Blocking.
    static func settleHolding(_ intent: Intent, in index: any MetadataIndex, below root: Int32,
                              partials: PartialIndex, rules: NameRules) throws(IndexError) -> Bool {
        guard partials.across != nil else {
            try settle(intent, in: index, below: root)
            return true
        }
        let name = rules.partName(identity: intent.namespace, relativePath: intent.path)
        guard let hold = partials.hold(name, now: SystemClock.unixSeconds()) else { return false }
        defer { partials.letGo(hold) }
        try settle(intent, in: index, below: root)
        try index.flush()
        return true
    }

    /// At start: every intent a crash left in this daemon's journal, settled; returns how many there were, and those
    /// left for later (shared: their names busy on another daemon; `settleDepartedNodes` tries them again).
    static func replayIntents(in index: (any MetadataIndex)?, below root: Int32, partials: PartialIndex,
                              rules: NameRules) throws(IndexError) -> (count: Int, left: [Intent]) {
        guard let index else { return (0, []) }
        let pending = try index.pendingIntents()
        var left: [Intent] = []
        for intent in pending where !(try settleHolding(intent, in: index, below: root, partials: partials, rules: rules)) {
            left.append(intent)
        }
        try index.flush()  // the settled intents forgotten, the journal's old files gone
        return (pending.count, left)
    }

    /// What settling the departed daemons' journals did: daemons whose journal held intents, intents settled, and
    /// what could not be read (for the log).
    public struct DepartedNodes: Equatable, Sendable {
        public var nodes: [String] = []
        public var settled = 0
        public var left = 0
        public var failures: [String] = []
    }

    /// Settles the journals of the daemons that shared this root and are gone (their journal's lock is free): each
    /// intent under its name's lock, as a crash's own are at start. Journals of running daemons are left alone. Shared
    /// only; blocking (a few opens and the intents' settling).
    public func settleDepartedNodes() -> DepartedNodes {
        var result = DepartedNodes()
        guard let sharing, let journaled = index as? JournaledIndex else { return result }
        // First this daemon's own intents a crash left whose names were busy when it started.
        let left = leftIntents.withLock { left in
            defer { left = [] }
            return left
        }
        var stillLeft: [Intent] = []
        for intent in left {
            do {
                if try !Self.settleHolding(intent, in: journaled, below: root, partials: partials, rules: rules) {
                    stillLeft.append(intent)
                }
            } catch {
                stillLeft.append(intent)
                result.failures.append("\(sharing.node): \(error)")
            }
        }
        leftIntents.withLock { $0 += stillLeft }
        result.left += stillLeft.count
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: sharing.journals)) ?? []
        for node in nodes.sorted() where node != sharing.node {
            let journal: JournaledIndex
            do { journal = try journaled.journal(in: sharing.journals + "/" + node) } catch where error.kind == .inUse {
                continue
            } catch {
                result.failures.append("\(node): \(error)")
                continue
            }
            do {
                // Its uploads in progress ended with it: their quota claims go.
                try quotaLedger?.releaseQuotas(node: node)
                let pending = try journal.pendingIntents()
                guard !pending.isEmpty else { continue }
                result.nodes.append(node)
                for intent in pending {
                    let done = try Self.settleHolding(intent, in: journal, below: root, partials: partials, rules: rules)
                    if done { result.settled += 1 } else { result.left += 1 }
                }
                try journal.flush()
            } catch {
                result.failures.append("\(node): \(error)")
            }
        }
        return result
    }

    /// Shared: every name in staging, under its lock, as `recoverPartials` treats them at start — a .part with a
    /// valid record not older than `ttlSeconds` is kept, any other .part or record removed, and a lock file left by
    /// a departed daemon goes with the lock's giving back. Names an upload holds, here or in another daemon, are left.
    /// Returns how many were kept and removed. Blocking; at start and every minute.
    func scanSharedStaging(ttlSeconds: Int64, now: Int64) -> (kept: Int, removed: Int) {
        var stems = Set<String>()
        for name in stagingEntries() {
            for suffix in [NameRules.partSuffix, PartialJobs.recordSuffix, NameLocks.suffix] where name.hasSuffix(suffix) {
                stems.insert(String(name.dropLast(suffix.count)))
            }
        }
        var kept = 0, removed = 0, bytes: UInt64 = 0
        for stem in stems.sorted() {
            let partName = stem + NameRules.partSuffix
            guard let hold = partials.hold(partName, now: now) else { continue }
            defer { partials.letGo(hold) }
            let found: EntryStatus?
            do { found = try DirectoryCalls.status(of: partName, in: staging) } catch { continue }
            guard let status = found else {
                try? DirectoryCalls.removeFile(PartialJobs.recordName(partName), in: staging)  // committed or removed
                continue
            }
            guard status.kind != .directory else { continue }
            if let record = recoverable(partName, ttlSeconds: ttlSeconds, now: now) {
                kept += 1
                bytes += record.offset
            } else {
                PartialJobs.remove(partName, in: staging)
                removed += 1
            }
        }
        keptOnDisk.withLock { $0 = (kept, bytes) }
        return (kept, removed)
    }
}
