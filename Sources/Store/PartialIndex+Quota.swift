// What a namespace's quota counts of the uploads in progress (UploadJobs+Quota.swift), exactly once each however the
// uploads interleave:
//
//   claimed ──admit──▶ unchecked ──its quota check passes──▶ counted ──its row is in the index──▶ indexed ──▶ released
//
//   - unchecked: claimed, not yet checked; counts what it holds on disk (a resumed partial's bytes), not its size. Two
//     uploads checked at once would otherwise each count the other's whole size and both be refused, where one fits;
//   - counted: its whole declared size, until its commit puts its row in the index;
//   - indexed: nothing; the index's usage counts it from then on.
//
// A quota check (read what is pending, read the index's usage, decide, mark counted) and a commit's step from counted
// to indexed (queue its row, mark indexed) each run under the namespace's gate, so a check never sees a file in both
// or in neither. Kept partials (no writer) count the bytes they hold.

extension PartialIndex {
    enum QuotaShare: Equatable {
        case unchecked, counted, indexed
    }

    /// Gates a namespace hashes to: checks of different namespaces rarely wait for each other.
    static let quotaGateCount = 64

    /// Runs `body` holding `namespace`'s gate: a quota check, or a commit's move to `indexed`. Shared, without it:
    /// quotas count from the index's ledger, under its own lock (QuotaLedger), and the gate would only hold this
    /// daemon's commits of the namespace one behind the other across their writes to the index.
    func withQuotaGate<Result>(namespace: String, _ body: () -> Result) -> Result {
        guard across == nil else { return body() }
        let gate = quotaGates[Int(UInt(bitPattern: namespace.hashValue) % UInt(Self.quotaGateCount))]
        return gate.withLock { _ in body() }
    }

    /// How the namespace's quota counts the upload writing `name` from now on.
    func setQuotaShare(_ name: String, _ share: QuotaShare) {
        table.withLock { table in
            if table[name]?.active == true { table[name]?.quota = share }
        }
    }

    /// What the other uploads into `namespace` hold besides `name` (quotas: what the index's usage does not count yet).
    func pending(namespace: String, besides name: String) -> (bytes: UInt64, files: UInt64) {
        table.withLock { table in
            table.entries.reduce((UInt64(0), UInt64(0))) { sum, item in
                let entry = item.value
                guard item.key != name, entry.namespace == namespace else { return sum }
                let held: (bytes: UInt64, files: UInt64)
                switch (entry.active, entry.quota) {
                case (false, _): held = (entry.offset, 1)
                case (true, .unchecked): held = (entry.offset, entry.offset > 0 ? 1 : 0)
                case (true, .counted): held = (entry.size, 1)
                case (true, .indexed): held = (0, 0)
                }
                return (sum.0 &+ held.bytes, sum.1 + held.files)
            }
        }
    }
}
