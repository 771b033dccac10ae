// Everything below the storage root: the one place that opens, creates, links, renames or removes anything there.
//
// The root is opened once, when the store opens; everything below it is reached through directory descriptors, one
// component at a time without following links (HeldDirectory), and files are created, linked, renamed and removed with
// the `*at` calls relative to those descriptors — never by a path the kernel resolves from the root. A symbolic link
// anywhere below the root (an identity's directory, a directory below it, a final name, the staging directory) refuses
// the operation with a clear error, and nothing is created, written or removed outside the root.
//
// Layout: `<root>/<identity>/<relative path>` for stored files, `<root>/<staging>/*.part` for partial uploads (same
// file system, so the final link or rename is atomic) with their `*.resume` records, `<root>/.ferryd.lock` (StoreLock).
//
// Where each operation goes: an upload is an UploadWriter (UploadWriter.swift; its blocking steps in UploadJobs.swift);
// reading a stored file, listing, removing and keeping partial uploads are each a file of their own beside it, reaching
// the tree through `reach`/`HeldDirectory` as the upload does.
import Index
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class Store: Sendable {
    public let rules: NameRules
    public let rootPath: String
    let root: Int32
    let staging: Int32
    let claims: DirectoryClaims
    /// Uploads in progress and partials kept for resume, process-wide (busy and space checks, metrics).
    public let partials: PartialIndex
    /// With whom this daemon shares its root; nil: nobody (Store+Sharing.swift).
    public let sharing: StoreSharing?
    /// Why the root's file system keeps no digest records (user extended attributes, StoredDigest), or nil when it
    /// does: without them `ferry get` and "already stored" answers work only for files that can be hashed again.
    public let keepsDigestRecords: String?
    /// The index's directory (`<root>/.index`): an unshared daemon's journal, and `nodes/` the shared daemons'; nil
    /// when there is no index.
    let journals: String?
    /// Shared: the partials the last scan of staging kept for resume, and the bytes they hold (for the metrics).
    let keptOnDisk = PlainMutex((count: 0, bytes: UInt64(0)))
    /// Shared: quota claims of uploads that ended unstored and that the index could not remove then.
    let unreleasedClaims = PlainMutex([QuotaClaim]())
    /// Try openat2 before walking (false in tests of the walk).
    let useOpenat2: Bool
    private let lock: StoreLock

    /// The metadata index commits are recorded in (docs/STORE.md); nil: none kept.
    public let index: (any MetadataIndex)?
    /// Intents a crash left, settled when the store opened (for the log).
    public let replayedIntents: Int

    /// Opens the root (which must exist), takes its lock, and opens (creating it if missing) the staging directory,
    /// which must be a real directory on the root's file system; then opens the index — only under the lock, so that a
    /// second daemon or `ferryd reindex` refused by it never touches the running one's intent journal — and settles what
    /// it has pending (unless `settlingIntents` is false: `ferryd reindex --check` reports them, changing nothing).
    /// Blocking; once, at start.
    /// `sharing`: the root is shared with other daemons (its lock taken shared, names taken from them: Store+Sharing).
    /// `journals`: the index's directory, whose other journals `settleUnfinished` settles.
    public init(rootPath: String, staging stagingName: String, sharing: StoreSharing? = nil, journals: String? = nil,
                useOpenat2: Bool = true,
                index openIndex: @autoclosure () throws -> (any MetadataIndex)? = nil,
                settlingIntents: Bool = true) throws(StoreError) {
        rules = NameRules(staging: stagingName)
        self.rootPath = rootPath
        self.useOpenat2 = useOpenat2
        self.sharing = sharing
        self.journals = journals
        // Shared, a directory an upload made stays when it is discarded: another daemon may be about to store there.
        claims = DirectoryClaims(removingUnused: sharing == nil)
        do { root = try DirectoryCalls.openDirectory(path: rootPath) } catch {
            throw StoreError("cannot open the storage root \(rootPath): \(error.message)")
        }
        do {
            lock = try StoreLock(root: root, rootPath: rootPath, shared: sharing != nil)
            staging = try Self.openStaging(stagingName, in: root, rootPath: rootPath)
        } catch {
            DirectoryCalls.close(root)
            throw error
        }
        partials = PartialIndex(across: sharing == nil ? nil : NameLocks(staging: staging))
        keepsDigestRecords = StoredDigest.probe(in: staging)
        if sharing != nil, let problem = keepsDigestRecords {
            DirectoryCalls.close(staging)
            DirectoryCalls.close(root)
            throw StoreError("storage.shared needs a file system that keeps user extended attributes (each stored "
                + "file's SHA-256 record, by which a daemon settles what another left unfinished), and the one under "
                + "\(rootPath) refuses them (\(problem)): mount it with them (NFS 4.2 and its server's xattr support, "
                + "ext4's user_xattr), or run one ferryd on it")
        }
        do {
            index = try openIndex()
            // Under the lock: no daemon but the ones sharing the root changes the tree while its intents are settled,
            // and those only under the names' locks (settleHolding).
            replayedIntents = settlingIntents ? try Self.replayIntents(in: index, below: root, partials: partials, rules: rules)
                                              : 0
            // What this daemon's previous run claimed for quotas ended with it (its journal's lock says it is gone);
            // a daemon alone on the root (an unshared one, `ferryd reindex`) clears what shared ones left.
            if settlingIntents, let ledger = (index as? JournaledIndex)?.quotaLedger {
                if let sharing { try ledger.releaseQuotas(node: sharing.node) } else { try ledger.releaseAllQuotas() }
            }
        } catch {
            DirectoryCalls.close(staging)
            DirectoryCalls.close(root)
            throw error as? StoreError ?? StoreError(error is IndexError ? "cannot settle the index's pending changes: \(error)"
                                                                         : "\(error)")
        }
    }

    deinit {
        DirectoryCalls.close(staging)
        DirectoryCalls.close(root)
    }

    /// What `init` checks, without taking the lock (`ferryd check-config` and a reload, while a daemon may run): the
    /// root opens, the staging directory below it is a real directory (created if missing) on the root's file system,
    /// and this process may write there. Blocking.
    public static func checkLayout(rootPath: String, staging: String) throws(StoreError) {
        let root: Int32
        do { root = try DirectoryCalls.openDirectory(path: rootPath) } catch {
            throw StoreError("cannot open the storage root \(rootPath): \(error.message)")
        }
        defer { DirectoryCalls.close(root) }
        DirectoryCalls.close(try openStaging(staging, in: root, rootPath: rootPath))
    }

    private static func openStaging(_ name: String, in root: Int32, rootPath: String) throws(StoreError) -> Int32 {
        try openOwnDirectory(name, in: root, rootPath: rootPath, what: "the staging directory", sameFileSystem: true)
    }

    /// Takes stock of the partial uploads a previous process left (PartialRecord.swift): each .part with a valid
    /// record, written less than `ttlSeconds` ago, is kept for resume; every other .part, record or temporary record is
    /// removed. Returns how many were kept and removed. Blocking; at start, before any upload.
    public func recoverPartials(ttlSeconds: Int64, now: Int64) -> (kept: Int, removed: Int) {
        if sharing != nil { return scanSharedStaging(ttlSeconds: ttlSeconds, now: now) }
        let names = Set(stagingEntries())
        var kept = 0, removed = 0
        for name in names.sorted() {
            if name.hasSuffix(NameRules.partSuffix) {
                guard (try? DirectoryCalls.status(of: name, in: staging))?.kind != .directory else { continue }
                if let record = recoverable(name, ttlSeconds: ttlSeconds, now: now) {
                    partials.register(name, size: record.size, offset: record.offset, updated: record.updated,
                                      namespace: record.namespace)
                    kept += 1
                } else {
                    PartialJobs.remove(name, in: staging)
                    removed += 1
                }
            } else if name.hasSuffix(PartialJobs.recordSuffix),
                      !names.contains(String(name.dropLast(PartialJobs.recordSuffix.count)) + NameRules.partSuffix) {
                try? DirectoryCalls.removeFile(name, in: staging)  // its .part was committed or removed
            } else if name.hasSuffix(NameLocks.suffix) {
                // A name's lock file from when the root was shared (NameLocks): alone on the root, none is in use.
                try? DirectoryCalls.removeFile(name, in: staging)
            }
        }
        return (kept, removed)
    }

    /// The record of `partName` if the partial can be resumed: well-formed, named for this .part, not expired, and the
    /// .part a regular file holding at least the recorded bytes.
    func recoverable(_ partName: String, ttlSeconds: Int64,
                     now: Int64) -> (size: UInt64, offset: UInt64, updated: Int64, namespace: String)? {
        let recordName = PartialJobs.recordName(partName)
        guard let record = PartialJobs.readRecord(recordName, in: staging), record.offset > 0,
              rules.partName(identity: record.identity, relativePath: record.path) == partName,
              let written = try? DirectoryCalls.status(of: recordName, in: staging), now - written.modifiedSeconds < ttlSeconds,
              let part = try? DirectoryCalls.status(of: partName, in: staging), part.kind == .regular,
              part.size >= record.offset else { return nil }
        return (record.size, record.offset, written.modifiedSeconds, record.identity)
    }

    /// Removes the kept partials last written `ttlSeconds` or more before `now` (none an upload is writing); returns
    /// how many. Blocking (a few unlinks).
    public func expirePartials(ttlSeconds: Int64, now: Int64) -> Int {
        if sharing != nil { return scanSharedStaging(ttlSeconds: ttlSeconds, now: now).removed }
        let expired = partials.claimExpired(before: now - ttlSeconds + 1)
        for name in expired {
            PartialJobs.remove(name, in: staging)
            partials.release(name, kept: nil, now: now)
        }
        return expired.count
    }

    /// Partials kept for resume and the bytes they hold, for the metrics (shared: as the last scan of staging found).
    public var keptPartials: (count: Int, bytes: UInt64) {
        sharing == nil ? partials.kept : keptOnDisk.withLock { $0 }
    }

    /// The names in the staging directory (through its descriptor).
    func stagingEntries() -> [String] {
        guard case .success(let entries) = DirectoryCalls.entries(of: staging) else { return [] }
        return entries.map { String(decoding: $0.name, as: UTF8.self) }
    }

    /// Directories live uploads hold (tests: none is left held once every upload ended).
    public var heldDirectories: Int { claims.count }

    /// The buffers of a worker's uploads: one pool per event loop, shared by its UploadWriters.
    public static func makeUploadBufferPool() -> IOBufferPool { BatchPipeline.makeBufferPool() }
}
