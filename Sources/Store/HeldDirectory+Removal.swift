// How a delete or a rename reaches the directory of a stored file, and what it leaves behind.
//
// Reaching it: nothing is created (a missing component means the file is not there), no link is followed, and the
// directory is held (DirectoryClaims) for the change, as an upload holds its own, so no clean-up removes it meanwhile.
//
// Leaving: a directory exists in the store while a file is stored below it (PROTOCOL.md §14.1), so the directories a
// removed file leaves empty go too — from its own up to, not including, the identity's — each only while no live
// upload holds it or counts on it (a provisional directory), reached through ".." from the one below and checked to be
// the very directory, under the identity's claim lock like the uploads' own clean-up. A directory that still holds
// anything (rmdir's ENOTEMPTY) stops the climb. An upload between its open and its claim sees the count of removals
// move and walks again (HeldDirectory.reachExisting).
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension HeldDirectory {
    /// The directory of `components` (the identity's first) below `root`, held; nil when a component is missing or
    /// is not a directory. A symbolic link on the way is refused (`TreeRefusal.symbolicLink`).
    static func reachWithoutCreating(_ components: [String], below root: Int32,
                                     claims: DirectoryClaims) throws(TreeRefusal) -> HeldDirectory? {
        let shard = DirectoryClaims.shard(of: components.first ?? "")
        return try claims.withLock(shard) { (table: inout DirectoryClaims.Table) throws(TreeRefusal) -> HeldDirectory? in
            let fd: Int32
            switch StoredFileProbe.openChain(components, below: root) {
            case .success(nil), .failure(.notADirectory): return nil
            case .success(let found?): fd = found
            case .failure(let refusal): throw refusal
            }
            let key: DirectoryKey
            do throws(SystemError) { key = DirectoryKey(try DirectoryCalls.status(of: fd)) } catch {
                DirectoryCalls.close(fd)
                throw .system(error)
            }
            table.held[key, default: 0] += 1
            let held = HeldDirectory(descriptor: fd, key: key, provisional: [])
            held.shard = shard
            return held
        }
    }

    /// Lets go of the directory (`components`: the identity's down to this one) after a file left it, and removes
    /// what that left empty (above). Its provisional directories, if any, are permanent: a file was stored below them.
    /// Blocking; once.
    func releaseRemovingEmptied(_ components: [String], claims: DirectoryClaims) {
        guard !released else { return }
        released = true
        try? claims.withLock(shard) { (table: inout DirectoryClaims.Table) throws(TreeRefusal) in
            let remaining = (table.held[key] ?? 1) - 1
            table.held[key] = remaining > 0 ? remaining : nil
            for entry in provisional { table.provisional[entry.key] = nil }
            // Shared, another daemon may be storing into one of them (listings come from the index: nobody sees them).
            if claims.removingUnused { Self.removeEmptied(components, from: descriptor, key: key, &table) }
        }
        DirectoryCalls.close(descriptor)
    }

    /// From the directory `descriptor` (`components`' last) upwards: removes each that is empty, not held and not
    /// provisional, stopping at the first that is not, and never the identity's (`components`' first).
    private static func removeEmptied(_ components: [String], from descriptor: Int32, key: DirectoryKey,
                                      _ table: inout DirectoryClaims.Table) {
        var current = descriptor
        var currentKey = key
        defer { if current != descriptor { DirectoryCalls.close(current) } }
        for name in components.dropFirst().reversed() {
            guard table.held[currentKey] == nil, table.provisional[currentKey] == nil,
                  let parent = try? DirectoryCalls.openDirectory("..", in: current) else { return }
            if current != descriptor { DirectoryCalls.close(current) }
            current = parent
            // The name must still be the very directory (not one that replaced it), and empty.
            guard let status = try? DirectoryCalls.status(of: name, in: parent), status.kind == .directory,
                  DirectoryKey(status) == currentKey,
                  (try? DirectoryCalls.removeDirectory(name, in: parent)) != nil else { return }
            table.removals += 1
            guard let parentStatus = try? DirectoryCalls.status(of: parent) else { return }
            currentKey = DirectoryKey(parentStatus)
        }
    }
}
