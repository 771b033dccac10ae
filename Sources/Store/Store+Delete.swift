// Delete (PROTOCOL.md §14.8): a stored file, or with `recursive` the files below a directory, a batch per request.
// The files are those the index lists (what Stat and List report); each is removed as one step of the tree recorded on
// both sides, like a commit (IndexRecording.swift):
//
//   hold the name (PartialIndex: `busy` while an upload writes it; an upload that starts meanwhile gets `busy`)
//   ─► reach its directory, creating nothing and following no link, held (HeldDirectory+Removal)
//   ─► beginDelete (the journal: one sync for the whole batch when durable) ─► unlinkat
//   ─► fsync each directory (when durable) ─► finishDelete (the rows in one transaction)
//   ─► the directories left empty removed, up to the identity's; the names let go
//
// A crash anywhere leaves intents that start-up settles by the tree (Store.settle): a file gone finishes its delete, a
// file still there abandons it. A Get of the file that already opened it keeps reading the version it opened.
import Index
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Store {
    /// Files one recursive Delete removes at most: a bounded job (one sync of the journal, one of each directory, one
    /// transaction) whose answer shows the client progress.
    public static let deleteBatch = 1000

    /// Answers `request` for `namespace` (blocking: the pool's).
    func delete(_ request: DeleteRequest, namespace: String, index: any MetadataIndex,
                durable: Bool, batch: Int = Store.deleteBatch) throws(IndexError) -> StoreOutcome {
        let path = request.path
        let rows: [IndexedFile]
        var more = false
        if let row = try index.file(namespace: namespace, path: path) {
            rows = [row]
        } else {
            let found = try index.files(namespace: namespace, prefix: path + "/", after: nil, limit: batch + 1)
            guard !found.isEmpty else { return .refused(.notFound, "'\(path)' is not stored") }
            guard request.recursive else {
                return .refused(.badPath, "'\(path)' is a directory: delete it recursively (ferry rm -r) to remove the files below it")
            }
            rows = Array(found.prefix(batch))
            more = found.count > batch
        }
        let removal = remove(rows, namespace: namespace, index: index, durable: durable)
        if let failure = removal.failure {
            return StoreOutcome(answer: .failed(failure.failure), detail: failure.detail + removal.alsoRemoved)
        }
        if removal.removed.isEmpty, let busy = removal.busy.first {
            return .refused(.busy, "'\(busy)' is being uploaded; delete it once that upload ended")
        }
        let bytes = removal.removed.reduce(UInt64(0)) { $0 &+ $1.size }
        return StoreOutcome(answer: .deleted(DeleteOutcome(files: UInt64(removal.removed.count), bytes: bytes,
                                                           more: request.recursive && (more || !removal.busy.isEmpty))),
                            detail: nil)
    }

    struct Removal {
        var removed: [IndexedFile] = []
        /// Paths skipped because an upload writes them.
        var busy: [String] = []
        /// What stopped the removal (files removed before it stay removed).
        var failure: StoreFailure?

        /// For the log, when a failure stopped a removal part-way.
        var alsoRemoved: String { removed.isEmpty ? "" : " (\(removed.count) files were removed before that)" }
    }

    /// One file's delete in flight: its row, its name's hold, its directory, its intent once begun.
    private struct Pending {
        let row: IndexedFile
        let hold: PartialIndex.Hold
        let directory: HeldDirectory?
        var intent: Intent?
    }

    /// Removes the files of `rows` (all of `namespace`), as the diagram above says. Blocking.
    func remove(_ rows: [IndexedFile], namespace: String, index: any MetadataIndex, durable: Bool) -> Removal {
        var removal = Removal()
        var pending: [Pending] = []
        var directories: [[String]: HeldDirectory?] = [:]
        defer {
            for item in pending { partials.letGo(item.hold) }
            for (components, directory) in directories.sorted(by: { $0.key.count > $1.key.count }) {
                directory?.releaseRemovingEmptied(components, claims: claims)
            }
        }
        // Names held and directories reached first, so that every intent is begun before anything is unlinked.
        for row in rows {
            guard let hold = partials.hold(rules.partName(identity: namespace, relativePath: row.path),
                                           now: SystemClock.unixSeconds()) else {
                removal.busy.append(row.path)
                continue
            }
            let components = [namespace] + NameRules.components(of: row.path).dropLast()
            if directories[components] == nil {
                do { directories[components] = .some(try HeldDirectory.reachWithoutCreating(components, below: root, claims: claims)) } catch {
                    partials.letGo(hold)
                    removal.failure = treeFailure(error, row.path, components)
                    return removal
                }
            }
            pending.append(Pending(row: row, hold: hold, directory: directories[components] ?? nil))
        }
        for position in pending.indices {
            // The last append syncs the journal, and with it every append before it.
            do {
                pending[position].intent = try index.beginDelete(namespace: namespace, path: pending[position].row.path,
                                                                 durable: durable && position == pending.count - 1)
            } catch {
                for item in pending[..<position] { if let intent = item.intent { try? index.abandon(intent) } }
                removal.failure = indexFailure(error)
                return removal
            }
        }
        var unlinked: [Pending] = []
        for (position, item) in pending.enumerated() {
            if let refused = unlink(item) {
                for rest in pending[position...] { if let intent = rest.intent { try? index.abandon(intent) } }
                removal.failure = refused
                break
            }
            unlinked.append(item)
        }
        if durable, let failure = syncDirectories(of: unlinked, in: index) {
            removal.failure = failure
            return removal
        }
        for item in unlinked {
            guard let intent = item.intent else { continue }
            do { try index.finishDelete(intent, waiting: false) } catch { try? settle(intent, in: index) }
            removal.removed.append(item.row)
        }
        do { try index.flush() } catch {
            // The finished deletes are in the journal: they are written with the next change, or settled at start.
        }
        return removal
    }

    /// Removes one file's name; nil when it is gone (already: a stale row is finished all the same).
    private func unlink(_ item: Pending) -> StoreFailure? {
        let path = item.row.path
        guard let directory = item.directory else { return nil }
        let name = NameRules.components(of: path).last ?? ""
        let serverPath = "\(rootPath)/\(item.row.namespace)/\(path)"
        do {
            switch try DirectoryCalls.status(of: name, in: directory.descriptor)?.kind {
            case nil: return nil
            case .regular?: break
            case .symbolicLink?: return .linkInTheWay(path, at: serverPath)
            default:
                return StoreFailure(UploadFailure(.storageFailure, "'\(path)' is no longer a file on the server; tell its operator"),
                                    detail: "the index lists a file at \(serverPath), which is not a regular file: run `ferryd reindex`")
            }
            try DirectoryCalls.removeFile(name, in: directory.descriptor)
        } catch where error.number == ENOENT {
            return nil
        } catch {
            return .system(error, while: "deleting '\(path)'", at: serverPath)
        }
        return nil
    }

    /// The removed names made durable: one fsync per directory. On failure the intents are settled by the tree.
    private func syncDirectories(of items: [Pending], in index: any MetadataIndex) -> StoreFailure? {
        var synced = Set<ObjectIdentifier>()
        for item in items {
            guard let directory = item.directory, synced.insert(ObjectIdentifier(directory)).inserted else { continue }
            do { try DirectoryCalls.sync(directory.descriptor) } catch {
                for item in items { if let intent = item.intent { try? settle(intent, in: index) } }
                return .system(error, while: "deleting '\(item.row.path)' (fsync of its directory)",
                               at: "\(rootPath)/\(item.row.namespace)/\(item.row.path)")
            }
        }
        return nil
    }

    /// A directory on the way that could not be reached.
    func treeFailure(_ refusal: TreeRefusal, _ path: String, _ components: [String]) -> StoreFailure {
        let serverPath = ([rootPath] + components).joined(separator: "/")
        switch refusal {
        case .symbolicLink(let depth):
            return .linkInTheWay(path, at: ([rootPath] + components.prefix(depth)).joined(separator: "/"))
        case .notADirectory:
            return StoreFailure(UploadFailure(.notFound, "'\(path)' is not stored"))
        case .system(let error):
            return .system(error, while: "reaching '\(path)'", at: serverPath)
        }
    }

    func indexFailure(_ error: IndexError) -> StoreFailure {
        StoreFailure(UploadFailure(.storageFailure, "the server could not record the change in its index; its log says why"),
                     detail: "index: \(error)")
    }
}
