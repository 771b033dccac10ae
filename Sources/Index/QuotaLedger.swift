// Quotas kept exact across daemons that share one storage root (docs/STORE.md "Several daemons on one root"): each
// daemon's uploads in progress are counted where every daemon sees them, beside the stored files' usage, and a check
// reads both and records its own upload in one step that no other check of the namespace interleaves with. One daemon
// alone keeps that count in its memory (the store's PartialIndex+Quota.swift); the PostgreSQL index keeps it in a
// table (PostgresIndex+Quota.swift).
public protocol QuotaLedger: Sendable {
    /// Under the namespace's lock: `decide` gets the namespace's usage and what the other uploads in progress there
    /// claim (bytes, files); when it returns true, this upload's claim of `bytes` is recorded for `node` under
    /// (namespace, path), until its file's row is written (which removes it in the same transaction) or
    /// `releaseQuota`. Returns what `decide` returned. Blocking.
    func claimQuota(namespace: String, path: String, node: String, bytes: UInt64,
                    decide: (_ usage: Usage, _ pending: Usage) -> Bool) throws(IndexError) -> Bool
    /// The upload of (namespace, path) by `node` ended without its file stored: its claim goes (none of another node's,
    /// which a later upload of the name made). Blocking.
    func releaseQuota(namespace: String, path: String, node: String) throws(IndexError)
    /// Every claim `node` recorded (its daemon is gone, or starting again). Returns how many. Blocking.
    @discardableResult
    func releaseQuotas(node: String) throws(IndexError) -> Int
    /// Every claim (a daemon that has the root to itself is starting: no upload runs anywhere). Blocking.
    func releaseAllQuotas() throws(IndexError)
}
