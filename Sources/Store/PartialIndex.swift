// The store's account of partial files, process-wide (every worker's uploads): the uploads being written and the
// partials kept for resume, keyed by their .part name (one per identity and path, NameRules.partName). It decides the
// two things that must be atomic across workers:
//
//   - one writer per partial: a second upload of the same file while the first runs gets `busy`;
//   - room on the disk: an upload is admitted only if its remaining bytes fit in the free space, minus what every other
//     upload in progress and every kept partial still claims (their size minus what they hold), minus the reserve.
//
// Alone on its root it holds no descriptor and does no I/O: the blocking jobs (UploadJobs, PartialJobs) consult it and
// keep it current. When daemons share the root (`storage.shared`), a name it grants is also taken from the others
// (NameLocks, a lock file in staging), and it keeps no partial of its own for resume: a kept partial is whoever's
// client comes back to whichever daemon, found by its record on disk (Store+Sharing.swift).
import Platform

public final class PartialIndex: Sendable {
    struct Entry: Equatable {
        var size: UInt64
        /// Bytes the partial holds (for a kept one: on stable storage).
        var offset: UInt64
        /// A writer holds it.
        var active: Bool
        /// When it was last written (Unix seconds): the start of its time to live.
        var updated: Int64
        /// The namespace it is stored into (quotas count by namespace).
        var namespace = ""
        /// How the namespace's quota counts it while a writer holds it (PartialIndex+Quota.swift).
        var quota = QuotaShare.unchecked

        /// What it still needs of the disk.
        var claim: UInt64 { size > offset ? size - offset : 0 }
    }

    /// Why an upload was not admitted.
    enum Refusal: Equatable {
        /// Another upload of the same file is being written.
        case busy
        /// The name could not be taken from the other daemons sharing the root (its lock file: NameLocks).
        case unavailable(SystemError)
        /// `needed` bytes do not fit: `available` on the file system, `claimed` by others, `reserve` kept free.
        case noSpace(needed: UInt64, available: UInt64, claimed: UInt64, reserve: UInt64)
    }

    /// The entries, and the sum of their claims kept beside them: `admit` runs for every upload, and summing the
    /// table there made it O(uploads in flight) under the lock that every pool thread storing a file takes.
    struct Table {
        private(set) var entries: [String: Entry] = [:]
        private(set) var claimed: UInt64 = 0

        subscript(name: String) -> Entry? {
            get { entries[name] }
            set {
                if let old = entries[name] { claimed -= old.claim }
                if let newValue { claimed += newValue.claim }
                entries[name] = newValue
            }
        }
    }

    /// Taken by the pool's threads for every upload: PlainMutex (Platform) says why not Synchronization's.
    let table = PlainMutex(Table())
    /// Quota checks and the commits they count, one namespace at a time (PartialIndex+Quota.swift).
    let quotaGates = (0..<PartialIndex.quotaGateCount).map { _ in PlainMutex(()) }

    /// The names taken from the other daemons sharing the root; nil when this daemon has it to itself.
    let across: NameLocks?

    init(across: NameLocks? = nil) {
        self.across = across
    }

    /// Takes `name` for a writer (not yet admitted: `admit` checks the space once the resume offset is known).
    func claim(_ name: String, size: UInt64, now: Int64, namespace: String = "") -> Refusal? {
        claimReportingKept(name, size: size, now: now, namespace: namespace).refusal
    }

    /// `claim`, and whether a partial of that name was kept (only then is there a .part of it on disk: every kept one
    /// is registered, at start by `register` and later by `release`).
    func claimReportingKept(_ name: String, size: UInt64, now: Int64, namespace: String = "") -> (refusal: Refusal?, kept: Bool) {
        let before: Entry?? = table.withLock { table in
            if table[name]?.active == true { return .none }
            let kept = table[name]
            table[name] = Entry(size: size, offset: kept?.offset ?? 0, active: true, updated: kept?.updated ?? now,
                                namespace: namespace)
            return .some(kept)
        }
        guard let before else { return (.busy, true) }
        guard let across else { return (nil, before != nil) }
        // Shared: another daemon may have kept a partial of this name, so the disk is always looked at.
        if let refusal = Self.refusal(across.take(name)) {
            table.withLock { $0[name] = before }
            return (refusal, true)
        }
        return (nil, true)
    }

    /// A name held for a change of the stored file (a delete, a rename), with what the table had for it before.
    struct Hold {
        let name: String
        let before: Entry?
    }

    /// Takes `name` for a change of the stored file of that name: nil when an upload writes it (`busy`); else the
    /// hold, which `letGo` gives back — a kept partial of that name stays kept, for its upload to resume later. An
    /// upload that starts meanwhile gets `busy`, so a file's upload and its delete or rename never interleave.
    func hold(_ name: String, now: Int64) -> Hold? {
        let hold: Hold? = table.withLock { table in
            let before = table[name]
            if before?.active == true { return nil }
            table[name] = Entry(size: before?.size ?? 0, offset: before?.offset ?? 0, active: true, updated: before?.updated ?? now,
                                namespace: before?.namespace ?? "")
            return Hold(name: name, before: before)
        }
        guard let hold, let across else { return hold }
        guard Self.refusal(across.take(name)) == nil else {
            table.withLock { $0[name] = hold.before }
            return nil
        }
        return hold
    }

    func letGo(_ hold: Hold) {
        across?.give(hold.name)
        table.withLock { $0[hold.name] = hold.before }
    }

    private static func refusal(_ outcome: NameLocks.Outcome) -> Refusal? {
        switch outcome {
        case .taken: nil
        case .held: .busy
        case .failed(let error): .unavailable(error)
        }
    }

    /// The claimed upload resumes at `offset` (0: a fresh file): admitted if its remaining bytes fit. `available` nil
    /// when the file system did not say (no check then). On refusal the claim is released, the partial left as it was.
    func admit(_ name: String, size: UInt64, offset: UInt64, available: UInt64?, reserve: UInt64, kept: UInt64?) -> Refusal? {
        let refusal: Refusal? = table.withLock { table in
            let needed = size - offset
            if let available {
                let claimed = table.claimed - (table[name]?.claim ?? 0)
                let usable = available > reserve ? available - reserve : 0
                if needed > 0, claimed > usable || needed > usable - claimed {
                    return .noSpace(needed: needed, available: available, claimed: claimed, reserve: reserve)
                }
            }
            table[name]?.size = size
            table[name]?.offset = offset
            return nil
        }
        if refusal != nil { release(name, kept: kept, now: table.withLock { $0[name]?.updated ?? 0 }) }
        return refusal
    }

    /// A checkpoint: the active upload's bytes up to `offset` are durable.
    func progress(_ name: String, offset: UInt64, now: Int64) {
        table.withLock { table in
            table[name]?.offset = offset
            table[name]?.updated = now
        }
    }

    /// The writer let go: the partial is kept holding `kept` bytes, or gone (nil: committed or discarded).
    /// Shared, a kept partial is left to its record on disk: not remembered here, where it would go stale as soon as
    /// another daemon resumed it.
    func release(_ name: String, kept: UInt64?, now: Int64) {
        across?.give(name)
        table.withLock { table in
            guard let kept, across == nil, let entry = table[name] else {
                table[name] = nil
                return
            }
            table[name] = Entry(size: entry.size, offset: kept, active: false, updated: now, namespace: entry.namespace)
        }
    }

    /// A partial found at start (no writer).
    func register(_ name: String, size: UInt64, offset: UInt64, updated: Int64, namespace: String = "") {
        table.withLock { $0[name] = Entry(size: size, offset: offset, active: false, updated: updated, namespace: namespace) }
    }

    /// The kept partials last written before `cutoff`, claimed for removal (so no upload takes one meanwhile); the
    /// caller removes their files and then `release`s each with nil.
    func claimExpired(before cutoff: Int64) -> [String] {
        table.withLock { table in
            let expired = table.entries.filter { !$0.value.active && $0.value.updated < cutoff }.map(\.key)
            for name in expired { table[name]?.active = true }
            return expired.sorted()
        }
    }

    /// Kept partials (no writer) and the bytes they hold, for the metrics.
    public var kept: (count: Int, bytes: UInt64) {
        table.withLock { table in
            table.entries.values.reduce((0, UInt64(0))) { sum, entry in entry.active ? sum : (sum.0 + 1, sum.1 + entry.offset) }
        }
    }

    /// Test support: the entry for `name`.
    func entry(_ name: String) -> Entry? { table.withLock { $0[name] } }
}
