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
// commits and clean-ups take a claim lock, so none of them sees another half done. Every chain starts at an identity's
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
    }

    /// Enough that unrelated identities rarely share a lock on a busy server; a shared one only costs waiting.
    static let shards = 64
    /// A Mutex cannot sit in an array (it is not copyable): each shard's is in an object of its own.
    private final class Shard: Sendable {
        let table = Mutex(Table())
    }

    private let tables = (0..<DirectoryClaims.shards).map { _ in Shard() }

    /// The shard of `identity`'s chains: FNV-1a of its UTF-8 bytes (stable, unlike Swift's seeded hashValue).
    static func shard(of identity: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(shards))
    }

    func withLock<R>(_ shard: Int, _ body: (inout Table) throws(TreeRefusal) -> R) throws(TreeRefusal) -> R {
        try tables[shard].table.withLock { (table: inout Table) throws(TreeRefusal) -> R in try body(&table) }
    }

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
    private(set) var shard = 0
    private var released = false

    private init(descriptor: Int32, key: DirectoryKey, provisional: [ChainEntry]) {
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
        return try claims.withLock(shard) { (table: inout DirectoryClaims.Table) throws(TreeRefusal) -> HeldDirectory in
            var held = useOpenat2 ? try openExisting(components, below: root, table) : nil
            if held == nil { held = try walk(components, below: root, &table) }
            guard let held else { preconditionFailure("walk returned nothing") }
            held.shard = shard
            table.held[held.key, default: 0] += 1
            return held
        }
    }

    /// The fast path: every component exists, none is a link, and none is provisional (then the walk counts the
    /// chain). nil when the walk must go instead.
    private static func openExisting(_ components: [String], below root: Int32,
                                     _ table: DirectoryClaims.Table) throws(TreeRefusal) -> HeldDirectory? {
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
        // Provisional directories are the chain's last ones: a permanent leaf means none above it is provisional.
        guard table.provisional[key] == nil else {
            DirectoryCalls.close(fd)
            return nil
        }
        return HeldDirectory(descriptor: fd, key: key, provisional: [])
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
                    if made { try? DirectoryCalls.removeDirectory(name, in: parent) }
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
            if committed {
                for entry in provisional { table.provisional[entry.key] = nil }
            } else {
                Self.unwind(provisional, from: descriptor, &table)
            }
        }
        DirectoryCalls.close(descriptor)
    }
}
