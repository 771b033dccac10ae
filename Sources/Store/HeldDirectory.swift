// How an upload reaches the directory its file goes into, and how it leaves no trace when it fails.
//
// Reaching it: from the root's descriptor, one openat(O_DIRECTORY | O_NOFOLLOW) per component, mkdirat where one is
// missing (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS first, where the kernel has it, so an existing deep
// path costs one call). A symbolic link on the way — the identity's directory or any below it — refuses the upload
// (TreeRefusal.symbolicLink); nothing is created past it. The upload then holds the last directory's descriptor: its
// file is created, linked and fsynced relative to it, never by name from the root.
//
// Leaving no trace: a directory made by an upload is *provisional* until an upload whose chain holds it commits (then
// it is permanent: it leads to a stored file). Every live upload counts itself on each provisional directory of its
// chain — the directories it made and those other live uploads made — which are always the chain's last ones (below
// a provisional directory everything was made since, by uploads that are live or committed; a commit makes the whole
// chain permanent). When an upload fails, it drops its count on each; those no live upload counts any more and that
// are still empty are removed, deepest first, each reached through ".." from the one below and checked to be the very
// directory (device and inode). So overlapping uploads that all fail leave nothing, whichever ends last, and no
// directory that existed before, that a live upload holds, or that leads to a stored file is ever removed. Walks,
// commits and clean-ups take a claim lock, so none of them sees another half done — except the common case's one
// openat2, made before the lock: a path whose directories all exist and lead to stored files; the lock then checks
// that its last directory is not provisional and that no clean-up removed a directory since the open began (a count
// of removals), else the walk goes as before. Every chain starts at an identity's
// directory (the root is in none), so chains of different identities share no directory: the locks are per identity
// (one of `DirectoryClaims.shards`, by a hash of the identity), and a client whose deep paths keep its walks long
// slows only its own uploads.
import Platform
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A directory's identity on the file system, whatever its name.
struct DirectoryKey: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    init(_ status: EntryStatus) {
        device = status.device
        inode = status.inode
    }
}

/// The directories live uploads hold, and the provisional ones with how many live uploads count on each, in shards
/// by identity.
final class DirectoryClaims: Sendable {
    struct Table {
        /// Directories held open by live uploads (their file goes there): never removed.
        var held: [DirectoryKey: Int] = [:]
        /// Directories made by uploads and not yet leading to a stored file: live uploads counting on each.
        var provisional: [DirectoryKey: Int] = [:]
        /// Directories clean-ups of this shard removed, ever (published in `Shard.removals` before the lock is freed).
        var removals: UInt64 = 0
    }

    /// Enough that unrelated identities rarely share a lock on a busy server; a shared one only costs waiting.
    static let shards = 64
    /// Each shard's lock and counter in an object of its own. The lock is taken twice per upload by the pool's
    /// threads: PlainMutex (Platform) says why not Synchronization's Mutex.
    private final class Shard: Sendable {
        let table = PlainMutex(Table())
        /// `table.removals`, readable without the lock: the fast path reads it before its open.
        let removals = Atomic<UInt64>(0)
    }

    private let tables = (0..<DirectoryClaims.shards).map { _ in Shard() }
    /// Directories an upload made are removed when it fails and nothing else counts on them; false when daemons share
    /// the root, since another daemon may be about to store there.
    let removingUnused: Bool

    init(removingUnused: Bool = true) {
        self.removingUnused = removingUnused
    }

    /// The shard of `identity`'s chains: FNV-1a of its UTF-8 bytes (stable, unlike Swift's seeded hashValue).
    static func shard(of identity: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(shards))
    }

    func withLock<R>(_ shard: Int, _ body: (inout Table) throws(TreeRefusal) -> R) throws(TreeRefusal) -> R {
        let shard = tables[shard]
        return try shard.table.withLock { (table: inout Table) throws(TreeRefusal) -> R in
            defer { shard.removals.store(table.removals, ordering: .releasing) }
            return try body(&table)
        }
    }

    /// How many directories the shard's clean-ups have removed so far.
    func removals(_ shard: Int) -> UInt64 { tables[shard].removals.load(ordering: .acquiring) }

    var count: Int { tables.reduce(0) { sum, shard in sum + shard.table.withLock { $0.held.values.reduce(0, +) } } }
}

/// Why the walk refused or failed; UploadJobs turns it into the client's UploadFailure and the log's line.
enum TreeRefusal: Error, Equatable {
    /// A symbolic link at this many components below the root (1 = the identity's directory).
    case symbolicLink(depth: Int)
    /// Something that is not a directory where one is needed.
    case notADirectory(depth: Int)
    case system(SystemError)
}

/// A provisional directory of an upload's chain: its name in its parent and its identity.
struct ChainEntry {
    let name: String
    let key: DirectoryKey
}

/// The directory an upload's file goes into, held open, and the provisional directories of its chain.
final class HeldDirectory: @unchecked Sendable {
    // @unchecked: used by one upload's jobs, one at a time (the writer runs its file-system jobs in sequence).
    let descriptor: Int32
    let key: DirectoryKey
    /// The chain's provisional directories, outermost first; the last is the held directory when there are any.
    let provisional: [ChainEntry]
    /// The claim lock of the chain's identity.
    var shard = 0
    var released = false

    init(descriptor: Int32, key: DirectoryKey, provisional: [ChainEntry]) {
        self.descriptor = descriptor
        self.key = key
        self.provisional = provisional
    }

    deinit { if !released { DirectoryCalls.close(descriptor) } }

    /// Reaches (creating what is missing) `components` below `root`, claims the last one and returns it held.
    /// `useOpenat2` false forces the component walk (tests; kernels without openat2 take it anyway).
    static func reach(_ components: [String], below root: Int32, claims: DirectoryClaims,
                      useOpenat2: Bool) throws(TreeRefusal) -> HeldDirectory {
        let shard = DirectoryClaims.shard(of: components.first ?? "")
        if useOpenat2, let held = try reachExisting(components, below: root, claims: claims, shard: shard) { return held }
        return try claims.withLock(shard) { (table: inout DirectoryClaims.Table) throws(TreeRefusal) -> HeldDirectory in
            let held = try walk(components, below: root, &table)
            held.shard = shard
            table.held[held.key, default: 0] += 1
            return held
        }
    }

    /// The fast path, its system calls outside the claim lock (pool threads of one identity would otherwise queue
    /// behind each other's openat2): every component exists, none is a link, and none is provisional (then the walk
    /// counts the chain). A directory open but since removed by a clean-up (it was provisional, and its last upload
    /// failed) would take the file into a directory no name leads to: the count of removals, unchanged from before
    /// the open to the claim, rules that out. nil when the walk must go instead. `beforeClaim`: the tests' way into
    /// the window between the open and the claim.
    static func reachExisting(_ components: [String], below root: Int32, claims: DirectoryClaims, shard: Int,
                              beforeClaim: () -> Void = {}) throws(TreeRefusal) -> HeldDirectory? {
        let removalsBefore = claims.removals(shard)
        guard let (fd, key) = try openExisting(components, below: root) else { return nil }
        beforeClaim()
        // Provisional directories are the chain's last ones: a permanent leaf means none above it is provisional.
        let claimed = try claims.withLock(shard) { (table: inout DirectoryClaims.Table) -> Bool in
            guard table.removals == removalsBefore, table.provisional[key] == nil else { return false }
            table.held[key, default: 0] += 1
            return true
        }
        guard claimed else {
            DirectoryCalls.close(fd)
            return nil
        }
        let held = HeldDirectory(descriptor: fd, key: key, provisional: [])
        held.shard = shard
        return held
    }

    /// The open of the fast path: the last directory and its identity, or nil when some component is missing, a
    /// link, or not a directory (the walk names which).
    private static func openExisting(_ components: [String], below root: Int32) throws(TreeRefusal) -> (Int32, DirectoryKey)? {
        let fd: Int32
        do {
            fd = try DirectoryCalls.openBeneath(components.joined(separator: "/"), in: root, flags: O_RDONLY | O_DIRECTORY)
        } catch {
            // ENOENT: the walk creates what is missing; ELOOP/EXDEV/ENOTDIR: it names the component; ENOSYS/EPERM: no
            // openat2 here (an old kernel, or a seccomp filter that predates it); EAGAIN: a rename raced the lookup;
            // ENAMETOOLONG: the joined path passes PATH_MAX, which no single component of the walk does.
            if [ENOENT, ELOOP, EXDEV, ENOTDIR, ENOSYS, EPERM, EAGAIN, ENAMETOOLONG].contains(error.number) { return nil }
            throw .system(error)
        }
        let key: DirectoryKey
        do { key = DirectoryKey(try DirectoryCalls.status(of: fd)) } catch {
            DirectoryCalls.close(fd)
            throw .system(error)
        }
        return (fd, key)
    }

    /// One component at a time from the root, creating what is missing and counting the chain's provisional
    /// directories. A failure part-way removes what it made.
    private static func walk(_ components: [String], below root: Int32,
                             _ table: inout DirectoryClaims.Table) throws(TreeRefusal) -> HeldDirectory {
        var parent = root
        var parentKey: DirectoryKey?
        var chain: [ChainEntry] = []
        do {
            for (index, name) in components.enumerated() {
                let depth = index + 1
                var made = false
                let fd: Int32
                do {
                    fd = try openOrCreate(name, in: parent, made: &made)
                } catch where error.number == ENOTDIR || error.number == ELOOP {
                    // O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR (ELOOP without O_DIRECTORY): look at it.
                    let kind = try? DirectoryCalls.status(of: name, in: parent)?.kind
                    throw kind == .symbolicLink ? TreeRefusal.symbolicLink(depth: depth) : .notADirectory(depth: depth)
                } catch {
                    throw TreeRefusal.system(error)
                }
                let key: DirectoryKey
                do { key = DirectoryKey(try DirectoryCalls.status(of: fd)) } catch {
                    DirectoryCalls.close(fd)
                    if made, (try? DirectoryCalls.removeDirectory(name, in: parent)) != nil { table.removals += 1 }
                    throw TreeRefusal.system(error)
                }
                if made || table.provisional[key] != nil {
                    table.provisional[key, default: 0] += 1
                    chain.append(ChainEntry(name: name, key: key))
                }
                if parent != root { DirectoryCalls.close(parent) }
                parent = fd
                parentKey = key
            }
        } catch let refusal as TreeRefusal {
            // Undo this walk's counts, and remove what it made (and no one else counts on) from where it stopped.
            if parent != root {
                unwind(chain, from: parent, &table)
                DirectoryCalls.close(parent)
            }
            throw refusal
        } catch {
            preconditionFailure("walk threw \(error)")
        }
        guard let parentKey, parent != root else { preconditionFailure("walk of no components") }
        return HeldDirectory(descriptor: parent, key: parentKey, provisional: chain)
    }

    private static func openOrCreate(_ name: String, in parent: Int32, made: inout Bool) throws(SystemError) -> Int32 {
        do { return try DirectoryCalls.openDirectory(name, in: parent) } catch where error.number == ENOENT {}
        do {
            try DirectoryCalls.makeDirectory(name, in: parent)
            made = true
        } catch where error.number == EEXIST {}  // made since by someone outside the store: not ours to remove
        return try DirectoryCalls.openDirectory(name, in: parent)
    }

    /// Drops the counts of `chain` (this upload's) and removes, deepest first, the directories no live upload counts
    /// on or holds and that are empty; stops at the first it must keep (its ancestors are not empty, or are counted).
    /// `descriptor` is the chain's deepest directory (the last entry's, when the chain reaches it).
    private static func unwind(_ chain: [ChainEntry], from descriptor: Int32, _ table: inout DirectoryClaims.Table) {
        for entry in chain {
            guard let count = table.provisional[entry.key] else { continue }
            table.provisional[entry.key] = count > 1 ? count - 1 : nil
        }
        var current = descriptor
        defer { if current != descriptor { DirectoryCalls.close(current) } }
        for entry in chain.reversed() {
            // Counted by another live upload, held, or permanent since (a commit dropped it from the table): kept.
            guard table.provisional[entry.key] == nil, table.held[entry.key] == nil else { break }
            guard let parent = try? DirectoryCalls.openDirectory("..", in: current) else { break }
            if current != descriptor { DirectoryCalls.close(current) }
            current = parent
            // The name must still be the very directory (not one that replaced it), and empty.
            guard let status = try? DirectoryCalls.status(of: entry.name, in: parent), status.kind == .directory,
                  DirectoryKey(status) == entry.key,
                  (try? DirectoryCalls.removeDirectory(entry.name, in: parent)) != nil else { break }
            table.removals += 1
        }
    }

    /// Releases the claim. `committed`: a file is stored below the chain, so its provisional directories are
    /// permanent; otherwise they are unwound (removed when no one else counts on them and they are empty). Closes
    /// the descriptor. Blocking; once.
    func release(claims: DirectoryClaims, committed: Bool) {
        guard !released else { return }
        released = true
        try? claims.withLock(shard) { (table: inout DirectoryClaims.Table) throws(TreeRefusal) in
            let remaining = (table.held[key] ?? 1) - 1
            table.held[key] = remaining > 0 ? remaining : nil
            if committed || !claims.removingUnused {
                for entry in provisional { table.provisional[entry.key] = nil }
            } else {
                Self.unwind(provisional, from: descriptor, &table)
            }
        }
        DirectoryCalls.close(descriptor)
    }
}
