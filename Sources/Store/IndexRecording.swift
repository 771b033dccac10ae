// The store's side of the metadata index (docs/STORE.md): a commit is recorded as an intent before its name appears
// and finished once the name is durable; whatever a crash or a failure leaves pending is settled against the tree —
// the file at the path, its digest recorded beside it (StoredDigest) — never by walking the tree.
//
//   commit:  digest recorded on the part ─► beginCommit ─► link/rename ─► fsyncs ─► finishCommit
//                                              │ fails: the upload fails (nothing linked)
//                                              └ a later step fails: settle (the tree decides)
import Index
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Store {
    /// What the tree holds at `path` below the root: size and SHA-256 from the digest record, or nil when there is no
    /// regular file there (or no record: a file the index cannot describe without re-reading it). Never follows a
    /// link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS for the directories, O_NOFOLLOW for the file). Blocking.
    static func storedFile(namespace: String, path: String, below root: Int32) -> (size: UInt64, digest: [UInt8])? {
        let components = path.split(separator: "/").map(String.init)
        guard let name = components.last else { return nil }
        let directories = ([namespace] + components.dropLast()).joined(separator: "/")
        guard let directory = try? DirectoryCalls.openBeneath(directories, in: root, flags: O_RDONLY | O_DIRECTORY) else {
            return nil
        }
        defer { DirectoryCalls.close(directory) }
        return StoredDigest.of(name, in: directory)
    }

    /// Finishes or abandons `intent` by what the tree holds: a commit whose file is there with the intent's digest
    /// is finished, any other abandoned; a delete whose file is gone is finished, any other abandoned. Blocking.
    func settle(_ intent: Intent, in index: any MetadataIndex) throws(IndexError) {
        try Self.settle(intent, in: index, below: root)
    }

    static func settle(_ intent: Intent, in index: any MetadataIndex, below root: Int32) throws(IndexError) {
        let stored = storedFile(namespace: intent.namespace, path: intent.path, below: root)
        switch intent.kind {
        case .commit:
            if let stored, let file = intent.file, stored.size == file.size, stored.digest == file.sha256 {
                try index.finishCommit(intent)
            } else {
                try index.abandon(intent)
            }
        case .delete:
            if stored == nil { _ = try index.finishDelete(intent) } else { try index.abandon(intent) }
        }
    }

    /// At start: every intent a crash left, settled. Returns how many there were, for the log.
    static func replayIntents(in index: (any MetadataIndex)?, below root: Int32) throws(IndexError) -> Int {
        guard let index else { return 0 }
        let pending = try index.pendingIntents()
        for intent in pending { try settle(intent, in: index, below: root) }
        try index.flush()  // the settled intents forgotten, the journal's old files gone
        return pending.count
    }
}
