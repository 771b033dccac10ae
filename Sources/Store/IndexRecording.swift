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
    /// What the tree holds at a stored file's path.
    enum TreeState: Equatable {
        /// A regular file: its size and SHA-256 from the digest record (nil: none the index can trust without
        /// re-reading the file).
        case file(size: UInt64, digest: [UInt8]?)
        /// Nothing there that is a stored file: a directory on the way is missing, or the name is (or is not a
        /// regular file).
        case absent
        /// The tree could not be read (an error, a link on the way): neither of the above may be assumed.
        case unknown
    }

    /// What the tree holds at `path` below the root, reached through descriptors with no link followed
    /// (StoredFileProbe.openChain: openat2, else one component at a time). Blocking.
    static func treeState(namespace: String, path: String, below root: Int32) -> TreeState {
        let components = NameRules.components(of: path)
        guard let name = components.last else { return .absent }
        let directory: Int32
        switch StoredFileProbe.openChain([namespace] + components.dropLast(), below: root) {
        case .success(nil), .failure(.notADirectory): return .absent
        case .success(let found?): directory = found
        case .failure: return .unknown
        }
        defer { DirectoryCalls.close(directory) }
        let status: EntryStatus?
        do { status = try DirectoryCalls.status(of: name, in: directory) } catch { return .unknown }
        guard let status, status.kind == .regular else { return .absent }
        return .file(size: status.size, digest: StoredDigest.of(name, in: directory)?.digest)
    }

    /// Finishes or abandons `intent` by what the tree holds: a commit whose file is there with the intent's digest
    /// is finished, any other abandoned; a delete whose file is gone is finished, one whose file is there abandoned.
    /// When the tree cannot be read, the intent stays pending (the next start settles it). Blocking.
    func settle(_ intent: Intent, in index: any MetadataIndex) throws(IndexError) {
        try Self.settle(intent, in: index, below: root)
    }

    /// Returns false when the tree could not be read (the intent stays pending). A commit whose file is there when a
    /// row of the same content is in the index already keeps that row: settled late (another daemon's, or after the
    /// index was down), the intent's uploader and times may be older than the row's.
    @discardableResult
    static func settle(_ intent: Intent, in index: any MetadataIndex, below root: Int32) throws(IndexError) -> Bool {
        let state = treeState(namespace: intent.namespace, path: intent.path, below: root)
        switch (intent.kind, state) {
        case (_, .unknown):
            return false
        case (.commit, .file(let size, let digest)):
            let row = try index.file(namespace: intent.namespace, path: intent.path)
            if let file = intent.file, size == file.size, digest == file.sha256,
               row?.size != file.size || row?.sha256 != file.sha256 {
                try index.finishCommit(intent)
            } else {
                try index.abandon(intent)
            }
        case (.commit, .absent):
            try index.abandon(intent)
        case (.delete, .absent):
            _ = try index.finishDelete(intent)
        case (.delete, .file):
            try index.abandon(intent)
        }
        return true
    }
}
