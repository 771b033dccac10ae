// A namespace's quota (docs/STORE.md "Quotas"): bytes and files, checked when an upload is prepared — at Open, from
// its declared size, which the protocol holds it to (§8.1: Data past it ends the session) — against what the metadata
// index says is stored there, plus what the namespace's other uploads in progress and kept partials hold
// (PartialIndex.pending), less the file an overwrite replaces. Never a walk of the tree.
import Index
import Platform
import Protocol
import Units

/// Limits of one namespace; nil: none of that kind.
public struct StoreQuota: Equatable, Sendable {
    public var bytes: UInt64?
    public var files: UInt64?

    public init(bytes: UInt64?, files: UInt64?) {
        self.bytes = bytes
        self.files = files
    }
}

extension UploadJobs {
    /// The refusal when the namespace has a quota this upload would pass; else nil, and the upload counts towards it
    /// from now on, whole (PartialIndex+Quota.swift). Blocking.
    static func checkQuota(_ context: Context, in directory: Int32) -> StoreFailure? {
        let partials = context.store.partials, name = context.partName
        guard let quota = context.quota else {
            partials.setQuotaShare(name, .counted)  // a quota a reload sets counts it too
            return nil
        }
        return partials.withQuotaGate(namespace: context.path.identity) {
            let refused = overQuota(quota, context, in: directory)
            if refused == nil { partials.setQuotaShare(name, .counted) }
            return refused
        }
    }

    /// The refusal (`no_space`, naming the quota and the figures) when storing this file would pass `quota`; nil when
    /// it fits. Blocking (the index's usage). Shared, the uploads in progress of every daemon are counted, from the
    /// index's ledger, and this one is recorded there when it fits (QuotaLedger).
    static func overQuota(_ quota: StoreQuota, _ context: Context, in directory: Int32) -> StoreFailure? {
        guard let index = context.store.index else { return nil }
        let namespace = context.path.identity
        // An overwrite gives back the file it replaces.
        let replaced = context.overwrite ? StoredDigest.of(context.path.name, in: directory)?.size : nil
        if let ledger = context.store.quotaLedger, let node = context.store.sharing?.node {
            var refusal: StoreFailure?
            do {
                try index.flush()  // nothing of this daemon's waits unwritten (shared, nothing should)
                _ = try ledger.claimQuota(namespace: namespace, path: context.path.relativePath, node: node,
                                          bytes: context.size) { usage, pending in
                    refusal = judge(quota, context, usage: usage, pending: pending, replaced: replaced)
                    return refusal == nil
                }
            } catch {
                return unreadable(namespace, error)
            }
            return refusal
        }
        // Under the namespace's quota gate (checkQuota): no upload of it moves from in progress to indexed meanwhile.
        let pending = context.store.partials.pending(namespace: namespace, besides: context.partName)
        let usage: Usage
        do { usage = try index.usage(namespace: namespace) } catch { return unreadable(namespace, error) }
        return judge(quota, context, usage: usage, pending: Usage(bytes: pending.bytes, files: pending.files),
                     replaced: replaced)
    }

    /// The refusal when the file does not fit beside `usage` and `pending`, less the file it replaces.
    private static func judge(_ quota: StoreQuota, _ context: Context, usage: Usage, pending: Usage,
                              replaced: UInt64?) -> StoreFailure? {
        let namespace = context.path.identity, relative = context.path.relativePath
        let bytes = usage.bytes &+ pending.bytes, files = usage.files &+ pending.files
        let after = (bytes: bytes &+ context.size &- min(replaced ?? 0, bytes &+ context.size),
                     files: files + (replaced == nil ? 1 : 0))
        if let limit = quota.bytes, after.bytes > limit {
            return StoreFailure(UploadFailure(.noSpace, "'\(relative)' does not fit the quota of '\(namespace)', "
                + "\(ByteSize.approximate(limit)): \(ByteSize.approximate(usage.bytes)) stored, "
                + "\(ByteSize.approximate(pending.bytes)) in uploads in progress, and it needs \(ByteSize.approximate(context.size)); "
                + "delete files or ask the server's operator for more"))
        }
        if let limit = quota.files, after.files > limit {
            return StoreFailure(UploadFailure(.noSpace, "'\(relative)' does not fit the quota of '\(namespace)', \(limit) files: "
                + "\(usage.files) stored and \(pending.files) being uploaded; delete files or ask the server's operator for more"))
        }
        return nil
    }

    private static func unreadable(_ namespace: String, _ error: IndexError) -> StoreFailure {
        StoreFailure(UploadFailure(.storageFailure, "the server cannot check the quota of '\(namespace)': its index "
                                   + "cannot be read; its log says why"), detail: "index: \(error)")
    }

    /// The upload lets its name go: kept with `kept` bytes, or gone (committed when `stored`). Shared, a claim the
    /// quota ledger holds for it goes first — before the name, which another daemon's upload may take at once.
    static func letGo(_ context: Context, kept: UInt64?, stored: Bool = false) {
        let store = context.store
        if !stored, context.quota != nil, let ledger = store.quotaLedger, let node = store.sharing?.node {
            let claim = QuotaClaim(namespace: context.path.identity, path: context.path.relativePath)
            do { try ledger.releaseQuota(namespace: claim.namespace, path: claim.path, node: node) } catch {
                store.unreleasedClaims.withLock { $0.append(claim) }  // tried again every minute (settleUnfinished)
            }
        }
        store.partials.release(context.partName, kept: kept, now: SystemClock.unixSeconds())
    }
}
