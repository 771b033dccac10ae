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
//                   a departed daemon's, and whoever finds it settles it (settleUnfinished: at start, every minute)
//   rows            written before the name is let go, so no daemon's batch outlives its name's lock; a row the index
//                   cannot take is dropped, its intent settled against the tree later, under the name's lock
//   quotas          every daemon's uploads in progress in the index's ledger (QuotaLedger)
//
// Left to each daemon: the free-space admission counts the uploads in progress it runs itself.
import Foundation
import Index
import Platform

/// An upload's claim in the quota ledger: its file's name.
struct QuotaClaim: Equatable, Sendable {
    let namespace: String
    let path: String
}

/// How this daemon shares its root with others.
public struct StoreSharing: Sendable {
    /// This daemon's name among them (`index.node`): its journal is `<index directory>/nodes/<node>/`.
    public let node: String

    public init(node: String) {
        self.node = node
    }

    /// The directory below the index's (`<root>/.index`, where an unshared daemon keeps its journal) that holds a
    /// journal per shared daemon.
    public static let journalsDirectory = "nodes"
}

extension Store {
    /// Shared with a ledger the others see (the PostgreSQL index): where quotas count uploads in progress.
    var quotaLedger: (any QuotaLedger)? {
        sharing == nil ? nil : (index as? JournaledIndex)?.quotaLedger
    }

    /// Settles `intent` (Store.settle) holding its file's name, its row written before the name is let go. false when
    /// the name is held (a change of it runs, here or on another daemon) or the tree could not be read there: the
    /// intent stays pending, for a later try. Blocking.
    static func settleHolding(_ intent: Intent, in index: any MetadataIndex, below root: Int32,
                              partials: PartialIndex, rules: NameRules) throws(IndexError) -> Bool {
        // Held in this daemon's table too (alone on the root as well): an upload, delete or rename of the name here
        // never runs while it is settled.
        let name = rules.partName(identity: intent.namespace, relativePath: intent.path)
        guard let hold = partials.hold(name, now: SystemClock.unixSeconds()) else { return false }
        defer { partials.letGo(hold) }
        guard try settle(intent, in: index, below: root) else { return false }
        try index.flush()
        return true
    }

    /// `settleHolding` of each of `intents`, counted in `result`. An intent no longer pending when its name was held
    /// (its change, in progress when the list was read, finished meanwhile) is passed over; another failure is noted
    /// and the rest still settled — unless the index cannot be reached: each further try would wait out its connect
    /// timeout (ten seconds, a thousand intents nearly three hours), so they all wait for the next round. Returns
    /// false then.
    private func settle(_ intents: [Intent], in index: any MetadataIndex, node: String,
                        into result: inout Unfinished) -> Bool {
        for (number, intent) in intents.enumerated() {
            do {
                let done = try Self.settleHolding(intent, in: index, below: root, partials: partials, rules: rules)
                if done { result.settled += 1 } else { result.left += 1 }
            } catch where error.kind == .unknownIntent {
                continue
            } catch where error.kind == .unavailable {
                result.left += intents.count - number
                result.failures.append("\(node): \(error) (\(intents.count - number) left for the next try)")
                return false
            } catch {
                result.failures.append("\(node): \(error)")
            }
        }
        return true
    }

    /// At start: every intent a crash left in this daemon's journal, settled; returns how many there were. Shared,
    /// one whose name another daemon holds (an upload of it runs there) stays pending for `settleUnfinished`.
    static func replayIntents(in index: (any MetadataIndex)?, below root: Int32, partials: PartialIndex,
                              rules: NameRules) throws(IndexError) -> Int {
        guard let index else { return 0 }
        let pending = try index.pendingIntents()
        for intent in pending { _ = try settleHolding(intent, in: index, below: root, partials: partials, rules: rules) }
        try index.flush()  // the settled intents forgotten, the journal's old files gone
        return pending.count
    }

    /// What settling unfinished changes did: the departed daemons whose journal held intents, intents settled and left
    /// pending, and what could not be read (for the log).
    public struct Unfinished: Equatable, Sendable {
        public var nodes: [String] = []
        public var settled = 0
        public var left = 0
        public var failures: [String] = []

        mutating func merge(_ other: Unfinished) {
            nodes += other.nodes
            settled += other.settled
            left += other.left
            failures += other.failures
        }
    }

    /// At start, and shared every minute: this daemon's own pending intents whose change is over (shared: a row the
    /// index could not take, an intent another daemon's upload kept from being settled at start; those of changes in
    /// progress are skipped, their names being held) and its unreleased quota claims, then the journals other daemons
    /// left on this root (settleOtherJournals). Blocking (a few opens and the intents' settling).
    public func settleUnfinished() -> Unfinished {
        var result = Unfinished()
        guard let journaled = index as? JournaledIndex else { return result }
        if let sharing {
            releaseClaimsLeft(node: sharing.node)
            do {
                guard settle(try journaled.pendingIntents(), in: journaled, node: sharing.node, into: &result) else {
                    return result  // the index is unreachable: the other journals wait too
                }
            } catch {
                result.failures.append("\(sharing.node): \(error)")
            }
        }
        result.merge(settleOtherJournals(with: journaled))
        return result
    }

    /// The journals of other daemons on this root that are gone: shared daemons' (`<index>/nodes/*`, but this one's),
    /// and, shared, an unshared daemon's (`<index>` itself, from before the root was shared) — each opened under its
    /// lock (a running daemon's is `inUse`, and left alone), its intents settled under their names' locks, and a
    /// departed shared daemon's quota claims removed.
    private func settleOtherJournals(with journaled: JournaledIndex) -> Unfinished {
        var result = Unfinished()
        guard let journals else { return result }
        let nodesPath = journals + "/" + StoreSharing.journalsDirectory
        var others = ((try? FileManager.default.contentsOfDirectory(atPath: nodesPath)) ?? []).sorted()
            .filter { $0 != sharing?.node }.map { (node: $0, path: nodesPath + "/" + $0) }
        if sharing != nil { others.insert((Self.unsharedJournalName, journals), at: 0) }
        for (node, path) in others {
            let journal: JournaledIndex
            do { journal = try journaled.journal(in: path) } catch where error.kind == .inUse {
                continue
            } catch {
                result.failures.append("\(node): \(error)")
                continue
            }
            do {
                let pending = try journal.pendingIntents()
                if !pending.isEmpty { result.nodes.append(node) }
                guard settle(pending, in: journal, node: node, into: &result) else { break }
                try journal.flush()
                // Its uploads in progress ended with it: their quota claims go — once its commits are rows, so that
                // a file it linked is counted somewhere throughout.
                if node != Self.unsharedJournalName { try quotaLedger?.releaseQuotas(node: node) }
                // All settled: a departed shared daemon's journal goes (names come and go with hosts and containers;
                // each left behind would be opened every minute). It comes back when its daemon starts again.
                if node != Self.unsharedJournalName { _ = journal.removeIfEmpty() }
            } catch {
                result.failures.append("\(node): \(error)")
            }
        }
        return result
    }

    /// How the log names the journal an unshared daemon kept (no node name).
    static let unsharedJournalName = "(unshared)"

    /// The quota claims this daemon could not release when their uploads ended, released now — each under its name's
    /// lock, so that no upload of the name holds a claim of its own there meanwhile; those still busy wait on.
    private func releaseClaimsLeft(node: String) {
        guard let ledger = quotaLedger else { return }
        let claims = unreleasedClaims.withLock { claims in
            defer { claims = [] }
            return claims
        }
        var left: [QuotaClaim] = []
        for claim in claims {
            let name = rules.partName(identity: claim.namespace, relativePath: claim.path)
            guard let hold = partials.hold(name, now: SystemClock.unixSeconds()) else {
                left.append(claim)
                continue
            }
            defer { partials.letGo(hold) }
            do { try ledger.releaseQuota(namespace: claim.namespace, path: claim.path, node: node) } catch {
                left.append(claim)
            }
        }
        unreleasedClaims.withLock { $0 += left }
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
