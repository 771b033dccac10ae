// How an upload reaches the directory its file goes into, and how it leaves no trace when it fails.
//
// Reaching it: from the root's descriptor, one openat(O_DIRECTORY | O_NOFOLLOW) per component, mkdirat where one is
// missing (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS first, where the kernel has it, so an existing deep
// path costs one call). A symbolic link on the way — the identity's directory or any below it — refuses the upload
// (TreeRefusal.symbolicLink); nothing is created past it. The upload then holds the last directory's descriptor: its
// file is created, linked and fsynced relative to it, never by name from the root.
//
// Leaving no trace: the walk records the directories it created (always a suffix of the chain: below a created
// directory everything is new). When the upload fails, those that are still empty are removed, deepest first, each
// reached through ".." from the one below it and checked to be the very directory created (device and inode), and
// none that another upload holds. Two uploads never race here: walks and clean-ups take the store's claim lock, and an
// upload registers the directory it holds under that lock, so a clean-up cannot remove a directory another upload has
// just reached, and a walk cannot reach one that a clean-up is removing.
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

/// The directories live uploads hold (how many hold each): a clean-up never removes one of them.
final class DirectoryClaims: Sendable {
    private let held = Mutex<[DirectoryKey: Int]>([:])

    func withLock<R>(_ body: (inout [DirectoryKey: Int]) throws(TreeRefusal) -> R) throws(TreeRefusal) -> R {
        try held.withLock { (table: inout [DirectoryKey: Int]) throws(TreeRefusal) -> R in try body(&table) }
    }

    var count: Int { held.withLock { $0.values.reduce(0, +) } }
}

/// Why the walk refused or failed; UploadJobs turns it into the client's UploadFailure and the log's line.
enum TreeRefusal: Error, Equatable {
    /// A symbolic link at this many components below the root (1 = the identity's directory).
    case symbolicLink(depth: Int)
    /// Something that is not a directory where one is needed.
    case notADirectory(depth: Int)
    case system(SystemError)
}

/// The directory an upload's file goes into, held open, and what its walk created.
final class HeldDirectory: @unchecked Sendable {
    // @unchecked: used by one upload's jobs, one at a time (the writer runs its file-system jobs in sequence).
    let descriptor: Int32
    let key: DirectoryKey
    /// The directories the walk created, outermost first, with their identities: the chain's last entries.
    let created: [(name: String, key: DirectoryKey)]
    private var released = false

    private init(descriptor: Int32, key: DirectoryKey, created: [(name: String, key: DirectoryKey)]) {
        self.descriptor = descriptor
        self.key = key
        self.created = created
    }

    deinit { if !released { DirectoryCalls.close(descriptor) } }

    /// Reaches (creating what is missing) `components` below `root`, claims the last one and returns it held.
    /// `useOpenat2` false forces the component walk (tests; kernels without openat2 take it anyway).
    static func reach(_ components: [String], below root: Int32, claims: DirectoryClaims,
                      useOpenat2: Bool) throws(TreeRefusal) -> HeldDirectory {
        try claims.withLock { (table: inout [DirectoryKey: Int]) throws(TreeRefusal) -> HeldDirectory in
            var held = useOpenat2 ? try openExisting(components, below: root) : nil
            if held == nil { held = try walk(components, below: root) }
            guard let held else { preconditionFailure("walk returned nothing") }
            table[held.key, default: 0] += 1
            return held
        }
    }

    /// The fast path: every component exists and none is a link. nil when something is missing (the walk creates it,
    /// and finds which component is a link when there is one) or when there is no openat2.
    private static func openExisting(_ components: [String], below root: Int32) throws(TreeRefusal) -> HeldDirectory? {
        let fd: Int32
        do {
            fd = try DirectoryCalls.openBeneath(components.joined(separator: "/"), in: root, flags: O_RDONLY | O_DIRECTORY)
        } catch {
            // ENOENT: the walk creates what is missing; ELOOP/EXDEV/ENOTDIR: it names the component; ENOSYS/EPERM: no
            // openat2 here (an old kernel, or a seccomp filter that predates it); EAGAIN: a rename raced the lookup.
            if [ENOENT, ELOOP, EXDEV, ENOTDIR, ENOSYS, EPERM, EAGAIN].contains(error.number) { return nil }
            throw .system(error)
        }
        do {
            return HeldDirectory(descriptor: fd, key: DirectoryKey(try DirectoryCalls.status(of: fd)), created: [])
        } catch {
            DirectoryCalls.close(fd)
            throw .system(error)
        }
    }

    /// One component at a time from the root, creating what is missing.
    private static func walk(_ components: [String], below root: Int32) throws(TreeRefusal) -> HeldDirectory {
        var parent = root
        var created: [(name: String, key: DirectoryKey)] = []
        var parentKey: DirectoryKey?
        defer { if parent != root { DirectoryCalls.close(parent) } }
        for (index, name) in components.enumerated() {
            let depth = index + 1
            var made = false
            let fd: Int32
            do {
                fd = try openOrCreate(name, in: parent, made: &made)
            } catch where error.number == ENOTDIR || error.number == ELOOP {
                // O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR (ELOOP without O_DIRECTORY): look at what it is.
                let kind = try? DirectoryCalls.status(of: name, in: parent)?.kind
                throw kind == .symbolicLink ? .symbolicLink(depth: depth) : .notADirectory(depth: depth)
            } catch {
                throw .system(error)
            }
            let key: DirectoryKey
            do { key = DirectoryKey(try DirectoryCalls.status(of: fd)) } catch {
                DirectoryCalls.close(fd)
                throw .system(error)
            }
            if made { created.append((name, key)) }
            if parent != root { DirectoryCalls.close(parent) }
            parent = fd
            parentKey = key
        }
        guard let parentKey, parent != root else { preconditionFailure("walk of no components") }
        let held = HeldDirectory(descriptor: parent, key: parentKey, created: created)
        parent = root  // the descriptor now belongs to `held`
        return held
    }

    private static func openOrCreate(_ name: String, in parent: Int32, made: inout Bool) throws(SystemError) -> Int32 {
        do { return try DirectoryCalls.openDirectory(name, in: parent) } catch where error.number == ENOENT {}
        do {
            try DirectoryCalls.makeDirectory(name, in: parent)
            made = true
        } catch where error.number == EEXIST {}  // another upload made it since: use it
        return try DirectoryCalls.openDirectory(name, in: parent)
    }

    /// Releases the claim and, when `removeCreated`, removes the directories the walk created that are still empty and
    /// that no other upload holds, deepest first; stops at the first one it must keep (its ancestors are not empty).
    /// Closes the descriptor. Blocking; once.
    func release(claims: DirectoryClaims, removeCreated: Bool) {
        guard !released else { return }
        released = true
        try? claims.withLock { (table: inout [DirectoryKey: Int]) throws(TreeRefusal) in
            let remaining = (table[key] ?? 1) - 1
            table[key] = remaining > 0 ? remaining : nil
            guard removeCreated else { return }
            var current = descriptor
            for entry in created.reversed() {
                guard table[entry.key] == nil,
                      let parent = try? DirectoryCalls.openDirectory("..", in: current) else { break }
                if current != descriptor { DirectoryCalls.close(current) }
                current = parent
                // The name must still be the directory this upload created (not one that replaced it).
                guard let status = try? DirectoryCalls.status(of: entry.name, in: parent), status.kind == .directory,
                      DirectoryKey(status) == entry.key,
                      (try? DirectoryCalls.removeDirectory(entry.name, in: parent)) != nil else { break }
            }
            if current != descriptor { DirectoryCalls.close(current) }
        }
        DirectoryCalls.close(descriptor)
    }
}
