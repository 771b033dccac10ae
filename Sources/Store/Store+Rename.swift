// Rename (PROTOCOL.md §14.9): a stored file to another name of its namespace, as one rename(2) — the inode keeps its
// bytes, its times and its digest record (StoredDigest), so the file stays the one that was checked at commit —
// recorded in the index as two intents, a delete of the old name and a commit of the new one with the old row's fields:
//
//   hold both names (PartialIndex: `busy` while an upload writes either) ─► reach the old directory (creating nothing)
//   and the new one (made as an upload's: provisional until the rename, removed again if it fails)
//   ─► beginDelete(old) + beginCommit(new) (one sync of the journal when durable)
//   ─► renameat2 (RENAME_NOREPLACE unless overwriting: no race with an upload or a rename to the same name)
//   ─► fsync both directories, and the new one's parents where they were made ─► finishDelete + finishCommit
//   ─► the old directories left empty removed (HeldDirectory+Removal); the names let go
//
// The rename is one atomic step of the file system, so a crash settles the two intents together (Store.settle): the
// file at its new name with its digest finishes both, the file still at its old name abandons both.
import Index
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Store {
    /// Whether some file is stored below `path` (a directory there): one row read, where a count would read the whole
    /// subtree (millions of rows for a large directory, on every Rename near it).
    static func anythingBelow(_ path: String, namespace: String, in index: any MetadataIndex) throws(IndexError) -> Bool {
        !(try index.files(namespace: namespace, prefix: path + "/", after: nil, limit: 1)).isEmpty
    }

    /// Answers `request` for `namespace` (blocking: the pool's).
    func rename(_ request: RenameRequest, namespace: String, index: any MetadataIndex,
                durable: Bool) throws(IndexError) -> StoreOutcome {
        let from = request.from, to = request.to
        guard try index.file(namespace: namespace, path: from) != nil else {
            if try Self.anythingBelow(from, namespace: namespace, in: index) {
                return .refused(.badPath, "'\(from)' is a directory: rename the files below it one by one (ferry mv does)")
            }
            return .refused(.notFound, "'\(from)' is not stored")
        }
        guard !from.utf8.elementsEqual(to.utf8) else { return .refused(.badPath, "'\(from)' already has that name") }
        if try Self.anythingBelow(to, namespace: namespace, in: index) {
            return .refused(.badPath, "'\(to)' is a directory: give the file's whole new path (\(to)/\(NameRules.components(of: from).last ?? ""))")
        }
        let now = SystemClock.unixSeconds()
        guard let fromHold = partials.hold(rules.partName(identity: namespace, relativePath: from), now: now) else {
            return .refused(.busy, "'\(from)' is being uploaded; rename it once that upload ended")
        }
        defer { partials.letGo(fromHold) }
        guard let toHold = partials.hold(rules.partName(identity: namespace, relativePath: to), now: now) else {
            return .refused(.busy, "'\(to)' is being uploaded; retry once that upload ended")
        }
        defer { partials.letGo(toHold) }
        // Read again under the holds: an upload (here, or on another daemon sharing the root) may have replaced it
        // between the first read and the holds, and the moved row must be the file that moves.
        guard let row = try index.file(namespace: namespace, path: from) else {
            return .refused(.notFound, "'\(from)' is not stored")
        }
        let moved = IndexedFile(namespace: namespace, path: to, size: row.size, sha256: row.sha256, modified: row.modified,
                                uploaded: row.uploaded, uploader: row.uploader)
        guard let entry = IndexLookup.entry(moved) else { return IndexLookup.unsendable(row) }
        switch move(row, to: moved, overwrite: request.overwrite, index: index, durable: durable) {
        case .success: return StoreOutcome(answer: .stat(.file(entry)), detail: nil)
        case .failure(let failure): return StoreOutcome(answer: .failed(failure.failure), detail: failure.detail)
        }
    }

    /// Moves the file of `row` to `moved`'s path, both names held. Blocking.
    private func move(_ row: IndexedFile, to moved: IndexedFile, overwrite: Bool, index: any MetadataIndex,
                      durable: Bool) -> Result<Void, StoreFailure> {
        let namespace = row.namespace
        let fromNames = NameRules.components(of: row.path), toNames = NameRules.components(of: moved.path)
        let fromComponents = [namespace] + fromNames.dropLast(), toComponents = [namespace] + toNames.dropLast()
        let fromName = fromNames.last ?? "", toName = toNames.last ?? ""
        let source: HeldDirectory
        do {
            guard let reached = try HeldDirectory.reachWithoutCreating(fromComponents, below: root, claims: claims) else {
                return .failure(StoreFailure(UploadFailure(.notFound, "'\(row.path)' is not stored"),
                                             detail: "the index lists '\(row.path)' of '\(namespace)', which is not on disk: run `ferryd reindex`"))
            }
            source = reached
        } catch {
            return .failure(treeFailure(error, row.path, fromComponents))
        }
        var renamed = false
        defer { source.releaseRemovingEmptied(fromComponents, claims: claims) }
        let destination: HeldDirectory
        do {
            destination = try HeldDirectory.reach(toComponents, below: root, claims: claims, useOpenat2: useOpenat2)
        } catch {
            if case .notADirectory = error {
                return .failure(StoreFailure(UploadFailure(.badPath, "'\(moved.path)' cannot be made: a file is in the way on the server")))
            }
            return .failure(treeFailure(error, moved.path, toComponents))
        }
        defer { destination.release(claims: claims, committed: renamed) }
        if let refused = checkNames(namespace, row.path, fromName, in: source.descriptor, moved.path, toName,
                                    in: destination.descriptor, overwrite: overwrite) {
            return .failure(refused)
        }
        if sharing != nil, let stale = staleRow(row, fromName, in: source.descriptor) { return .failure(stale) }
        let deleteIntent: Intent, commitIntent: Intent
        do { deleteIntent = try index.beginDelete(namespace: namespace, path: row.path, durable: false) } catch {
            return .failure(indexFailure(error))
        }
        do { commitIntent = try index.beginCommit(moved, durable: durable) } catch {
            try? index.abandon(deleteIntent)
            return .failure(indexFailure(error))
        }
        do {
            if overwrite {
                try DirectoryCalls.rename(fromName, in: source.descriptor, to: toName, in: destination.descriptor)
            } else {
                try Self.renameWithoutReplacing(fromName, in: source.descriptor, to: toName, in: destination.descriptor)
            }
        } catch {
            // By the tree, not abandoned: the fallback's link may have made the new name before its unlink failed.
            try? settle(deleteIntent, in: index)
            try? settle(commitIntent, in: index)
            if error.number == EEXIST { return .failure(exists(moved.path)) }
            return .failure(.system(error, while: "renaming '\(row.path)' to '\(moved.path)'", at: "\(rootPath)/\(namespace)/\(row.path)"))
        }
        renamed = true
        if durable {
            do {
                try DirectoryCalls.sync(destination.descriptor)
                try UploadJobs.syncParents(destination, levels: sharing == nil ? destination.provisional.count
                                                                               : toComponents.count)
                if destination.key != source.key { try DirectoryCalls.sync(source.descriptor) }
            } catch {
                try? settle(deleteIntent, in: index)
                try? settle(commitIntent, in: index)
                return .failure(.system(error, while: "renaming '\(row.path)' to '\(moved.path)' (fsync)",
                                        at: "\(rootPath)/\(namespace)/\(moved.path)"))
            }
        }
        do {
            try index.finishDelete(deleteIntent, waiting: false)
            try index.finishCommit(commitIntent, waiting: true)
        } catch {
            // Left pending: the next start settles both by the tree (the file is at its new name).
        }
        return .success(())
    }

    /// The old name must be a regular file, the new one free (or, overwriting, a regular file): never a link, never a
    /// directory. RENAME_NOREPLACE checks the new name again, atomically.
    /// Shared, the index can lag the tree for a minute after PostgreSQL refused a change (until its intent is
    /// settled): a file whose digest record says other than its row is not renamed with that row. A file with no
    /// record is taken at its row's word (it is not read here).
    private func staleRow(_ row: IndexedFile, _ name: String, in directory: Int32) -> StoreFailure? {
        guard let fd = try? DirectoryCalls.openFile(name, in: directory, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
            return nil  // checkNames found it a regular file: a race with its removal, which the rename then meets
        }
        defer { DirectoryCalls.close(fd) }
        guard let recorded = StoredDigest.of(fd, rehashUpTo: 0, record: false),
              recorded.size != row.size || recorded.digest != row.sha256 else { return nil }
        return StoreFailure(UploadFailure(.busy, "'\(row.path)' changed on the server and its index has not caught up "
                                          + "yet; retry in a minute"),
                            detail: "the index's row of '\(row.path)' of '\(row.namespace)' differs from the file's digest record")
    }

    private func checkNames(_ namespace: String, _ fromPath: String, _ fromName: String, in source: Int32, _ toPath: String,
                            _ toName: String, in destination: Int32, overwrite: Bool) -> StoreFailure? {
        do {
            switch try DirectoryCalls.status(of: fromName, in: source)?.kind {
            case .regular?: break
            case .symbolicLink?: return .linkInTheWay(fromPath, at: "\(rootPath)/\(namespace)/\(fromPath)")
            default: return StoreFailure(UploadFailure(.notFound, "'\(fromPath)' is not stored"))
            }
            switch try DirectoryCalls.status(of: toName, in: destination)?.kind {
            case nil: return nil
            case .regular? where overwrite: return nil
            case .regular?: return exists(toPath)
            case .symbolicLink?: return .linkInTheWay(toPath, at: "\(rootPath)/\(namespace)/\(toPath)")
            default: return StoreFailure(UploadFailure(.badPath, "'\(toPath)' is a directory on the server"))
            }
        } catch {
            return .system(error, while: "renaming '\(fromPath)' to '\(toPath)'", at: "\(rootPath)/\(namespace)/\(fromPath)")
        }
    }

    /// RENAME_NOREPLACE, or where the file system has no such rename (EINVAL) a link then an unlink: the new name is
    /// taken atomically all the same (linkat's EEXIST), and a crash between the two leaves the file under both names,
    /// each settled as stored.
    private static func renameWithoutReplacing(_ name: String, in directory: Int32, to newName: String,
                                               in newDirectory: Int32) throws(SystemError) {
        do {
            try DirectoryCalls.renameWithoutReplacing(name, in: directory, to: newName, in: newDirectory)
        } catch where error.number == EINVAL || error.number == ENOSYS {
            try DirectoryCalls.link(name, in: directory, as: newName, in: newDirectory)
            try DirectoryCalls.removeFile(name, in: directory)
        }
    }

    private func exists(_ path: String) -> StoreFailure {
        StoreFailure(UploadFailure(.exists, "'\(path)' already exists (replace it with ferry mv --force, where the server allows replacing files)"))
    }
}
