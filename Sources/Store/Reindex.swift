// `ferryd reindex`: the metadata index made equal to the tree (docs/STORE.md) — for an index lost, damaged or restored
// from an older backup, and as the check the crash tests run after every kill -9. The tree is the truth for content:
// for every namespace, a row whose file is there with the same size and SHA-256 is kept as it is (its upload time and
// uploader are the index's alone); a file the index lacks or describes otherwise gets a row from the tree (modified:
// its mtime; uploaded: its ctime, which the commit's link set; uploader: the namespace); a row whose file is gone
// goes; usage is recomputed. The digests come from the records beside the files: only a file without one is read.
// Run with the store open, so under its lock (no daemon changes the tree meanwhile) and after its pending intents
// were settled.
import Index

public struct ReindexReport: Sendable {
    public var namespaces = 0
    /// Regular files found in the tree.
    public var files = 0
    /// "namespace/path" of each difference found, by kind.
    public var added: [String] = []
    public var updated: [String] = []
    public var removed: [String] = []
    /// Namespaces whose usage row differed from their files' sum.
    public var usageCorrected: [String] = []
    /// Changes begun and not finished ("commit namespace/path"): a crash's, which ferryd settles when it starts.
    public var pending: [String] = []
    /// Files read whole because they had no digest record.
    public var hashed = 0
    /// "path: why" for each entry of the tree left out.
    public var skipped: [String] = []

    /// Whether the index differed from the tree.
    public var differs: Bool {
        !(added.isEmpty && updated.isEmpty && removed.isEmpty && usageCorrected.isEmpty && pending.isEmpty)
    }
}

extension Store {
    /// Compares the index with the tree and, when `apply`, makes it equal (one transaction per namespace that
    /// differs; digest records written for files that had none). Blocking.
    public func reindex(apply: Bool) throws(StoreError) -> ReindexReport {
        guard let index else {
            throw StoreError("no metadata index is kept ([index] backend = \"off\"): there is nothing to rebuild")
        }
        var report = ReindexReport()
        do {
            report.pending = try index.pendingIntents().map { "\($0.kind.rawValue) \($0.namespace)/\($0.path)" }
        } catch {
            throw StoreError("cannot read the index: \(error)")
        }
        guard report.pending.isEmpty || !apply else {
            throw StoreError("the index has \(report.pending.count) change(s) pending: the store settles them when it opens")
        }
        let tree = try namespaceDirectories()
        report.skipped = tree.skipped
        let known: [String]
        do { known = try index.namespaces() } catch { throw StoreError("cannot read the index: \(error)") }
        let all = Set(tree.names).union(known).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let inTree = Set(tree.names)
        for namespace in all {
            let scan = inTree.contains(namespace) ? scan(namespace: namespace, record: apply) : NamespaceScan()
            report.namespaces += inTree.contains(namespace) ? 1 : 0
            report.files += scan.files.count
            report.hashed += scan.files.filter(\.hashed).count
            report.skipped += scan.skipped
            try reconcile(namespace, scan: scan, in: index, apply: apply, into: &report)
        }
        return report
    }

    private func reconcile(_ namespace: String, scan: NamespaceScan, in index: any MetadataIndex, apply: Bool,
                           into report: inout ReindexReport) throws(StoreError) {
        let rows: [IndexedFile]
        let usage: Usage
        do {
            rows = try Self.allRows(namespace, in: index)
            usage = try index.usage(namespace: namespace)
        } catch {
            throw StoreError("cannot read the index: \(error)")
        }
        var byPath: [String: IndexedFile] = [:]
        for row in rows { byPath[row.path] = row }
        var wanted: [IndexedFile] = []
        var changed = false
        for file in scan.files {
            let row = byPath.removeValue(forKey: file.path)
            if let row, row.size == file.size, row.sha256 == file.sha256 {
                wanted.append(row)
                continue
            }
            if row == nil { report.added.append("\(namespace)/\(file.path)") } else { report.updated.append("\(namespace)/\(file.path)") }
            changed = true
            wanted.append(IndexedFile(namespace: namespace, path: file.path, size: file.size, sha256: file.sha256,
                                      modified: file.modified, uploaded: file.changed, uploader: namespace))
        }
        // What is left has no file in the scan: gone, unless it is there but could not be read (then it stands).
        for (path, row) in byPath.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            if !scan.unreadable.isEmpty, scan.isUnreadable(path) {
                wanted.append(row)
            } else {
                report.removed.append("\(namespace)/\(path)")
                changed = true
            }
        }
        let sum = wanted.reduce(Usage()) { Usage(bytes: $0.bytes &+ $1.size, files: $0.files + 1) }
        if sum != usage, !changed { report.usageCorrected.append(namespace) }
        guard apply, changed || sum != usage else { return }
        do { try index.replaceNamespace(namespace, with: wanted) } catch {
            throw StoreError("cannot write the index for \(namespace): \(error)")
        }
    }

    private static func allRows(_ namespace: String, in index: any MetadataIndex) throws(IndexError) -> [IndexedFile] {
        var rows: [IndexedFile] = []
        var cursor: String?
        while true {
            let page = try index.files(namespace: namespace, prefix: "", after: cursor, limit: 10_000)
            rows += page
            guard page.count == 10_000, let last = page.last else { return rows }
            cursor = last.path
        }
    }
}
