// The last step of a commit: the file's name appears (link or rename) and is made durable, recorded in the metadata
// index on both sides of it when the store keeps one (IndexRecording.swift).
import Index
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension UploadJobs {
    /// The row the index gets for this commit, when the store keeps one.
    static func indexRecord(_ context: Context, digest: [UInt8], times: FileTimes?) -> IndexedFile? {
        guard context.store.index != nil else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let modified = times.map { $0.modificationSeconds &* 1_000_000_000 &+ Int64($0.modificationNanoseconds) }
        return IndexedFile(namespace: context.path.identity, path: context.path.relativePath, size: context.size,
                           sha256: digest, modified: modified,
                           uploaded: Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec),
                           uploader: context.uploader ?? context.path.identity)
    }

    /// The file's name appears (link or rename) and is made durable, recorded in the index on both sides of it
    /// (IndexRecording.swift): an intent before, finished after; a failure once the name may exist is settled by
    /// what the tree holds.
    static func publish(_ context: Context, _ prepared: PreparedUpload, record: IndexedFile?) -> Result<Void, StoreFailure> {
        let store = context.store, relative = context.path.relativePath
        if context.durable, let part = prepared.part {
            do { try DirectoryCalls.sync(part) } catch {
                return .failure(.system(error, while: "writing '\(relative)' to disk (fsync)", at: stagingPath(context)))
            }
        }
        var intent: Intent?
        if let index = store.index, let record {
            do { intent = try index.beginCommit(record, durable: context.durable) } catch {
                prepared.closePart()
                return .failure(StoreFailure(UploadFailure(.storageFailure, "the server could not record '\(relative)' in its index"),
                                             detail: "index: \(error)"))
            }
        }
        let linked = link(context, prepared)
        guard case .success = linked else {
            if let index = store.index, let intent { try? index.abandon(intent) }  // nothing took the name
            return linked
        }
        let synced = syncDirectory(context, prepared.directory)
        if let index = store.index, let intent {
            // A finish that fails leaves the intent pending: the next start settles it (the file is stored).
            if case .success = synced {
                // Under the namespace's quota gate: a quota check sees this file in the index or in progress, never
                // in both or neither (PartialIndex+Quota.swift).
                store.partials.withQuotaGate(namespace: context.path.identity) {
                    // Shared: the row is written before the name is let go, so that no other daemon's change of the
                    // name can reach the index before it does.
                    try? index.finishCommit(intent, waiting: store.sharing != nil)
                    store.partials.setQuotaShare(prepared.partName, .indexed)
                }
            } else {
                try? store.settle(intent, in: index)
            }
        }
        return synced
    }

    /// Makes the file's name appear: link the unnamed file, link the .part (EEXIST refuses), or rename it over the name.
    static func link(_ context: Context, _ prepared: PreparedUpload) -> Result<Void, StoreFailure> {
        let store = context.store, directory = prepared.directory, relative = context.path.relativePath
        if prepared.anonymous, let part = prepared.part {
            // linkat fails with EEXIST instead of replacing, a symbolic link there included: the name is checked by it.
            defer { prepared.closePart() }
            do { try DirectoryCalls.linkAnonymous(part, as: context.path.name, in: directory.descriptor) } catch {
                if error.number == EEXIST { return .failure(StoreFailure(UploadFailure(.exists, "'\(relative)' already exists"))) }
                if error.number == ENOENT { anonymousFiles.store(false, ordering: .relaxed) }  // no /proc: named .parts from now on
                return .failure(.system(error, while: "storing '\(relative)' under its name", at: serverPath(context)))
            }
            return .success(())
        }
        prepared.closePart()
        if let refused = checkFinalName(context, in: directory.descriptor) { return .failure(refused) }
        do {
            if context.overwrite {
                try DirectoryCalls.rename(prepared.partName, in: store.staging, to: context.path.name, in: directory.descriptor)
            } else {
                // linkat fails with EEXIST instead of replacing: no race with another upload of the same name.
                do {
                    try DirectoryCalls.link(prepared.partName, in: store.staging, as: context.path.name, in: directory.descriptor)
                } catch where error.number == EEXIST {
                    return .failure(StoreFailure(UploadFailure(.exists, "'\(relative)' already exists")))
                }
            }
        } catch {
            return .failure(.system(error, while: "storing '\(relative)' under its name", at: serverPath(context)))
        }
        return .success(())
    }

    /// The new name made durable: the directory's fsync, and its parents' where this upload made them.
    static func syncDirectory(_ context: Context, _ directory: HeldDirectory) -> Result<Void, StoreFailure> {
        let relative = context.path.relativePath
        guard context.durable else { return .success(()) }
        do {
            try DirectoryCalls.sync(directory.descriptor)
            // Shared, a directory of the chain may have been made by another daemon's upload, still in progress or
            // failed, which this daemon's provisional marks know nothing of: every parent of the chain is synced.
            try syncParents(directory, levels: context.store.sharing == nil ? directory.provisional.count
                                                                            : context.path.directoryComponents.count)
        } catch {
            return .failure(.system(error, while: "writing the directory of '\(relative)' to disk (fsync)", at: serverPath(context)))
        }
        return .success(())
    }

    /// A directory made since the last commit below it is durable only once its parent's entry is: fsync the parent
    /// of each of the chain's last `levels` directories (its provisional ones, which are the last), reached through
    /// ".." from the held directory.
    static func syncParents(_ directory: HeldDirectory, levels: Int) throws(SystemError) {
        var current = directory.descriptor
        defer { if current != directory.descriptor { DirectoryCalls.close(current) } }
        for _ in 0..<levels {
            let parent = try DirectoryCalls.openDirectory("..", in: current)
            if current != directory.descriptor { DirectoryCalls.close(current) }
            current = parent
            try DirectoryCalls.sync(parent)
        }
    }
}
