// What to upload: the files named on the command line, directories walked recursively, each with the relative path it
// will have on the server (`--dest DIR/` prefixed).
//
// A path that cannot be sent — missing, unreadable, a broken link, a FIFO or socket — is an entry of its own that fails
// with its reason while the rest is sent (issue #15, point 7): one bad path must not cost the whole batch, nor vanish
// from the report. An empty directory and a link to a directory met in a walk are entries reported as skipped.
import Foundation
import Platform
import Protocol

struct PlannedFile: Sendable, Equatable {
    let localPath: String
    let remotePath: String
    let size: UInt64
}

struct PlanError: Error, CustomStringConvertible {
    let description: String
}

enum UploadPlan {
    /// One thing the plan met, in command-line order (a directory's entries sorted by path).
    enum Entry: Equatable {
        case file(PlannedFile)
        /// Left out by design, and said so: an empty directory, a link to a directory in a walk.
        case skipped(path: String, reason: String)
        /// Cannot be sent; the reason names the path ("cannot read photos/a.jpg: permission denied").
        case failed(path: String, reason: String)
    }

    struct Plan {
        var entries: [Entry] = []

        /// The files to send, in order: what the upload engine takes.
        var files: [PlannedFile] {
            entries.compactMap { if case .file(let file) = $0 { file } else { nil } }
        }

        /// One result per entry, in order: for a file the next of `sent` (the engine's results, one per `files`
        /// element, in the same order), for an entry failed or skipped here a result that says so.
        func results(sent: [FileResult]) -> [FileResult] {
            var next = sent.makeIterator()
            return entries.map { entry in
                switch entry {
                case .file(let file):
                    // Never short (the engine has one result per file), but a missing one is reported, not trapped on.
                    return next.next() ?? Self.result(file.localPath, error: "internal error: the file has no outcome")
                case .failed, .skipped:
                    return Self.unsent(entry) ?? Self.result("", error: "internal error: the entry has no outcome")
                }
            }
        }

        /// The results of the entries failed or skipped here (nothing of them is sent), in order: what is said of
        /// them before sending.
        var unsent: [FileResult] { entries.compactMap(Self.unsent) }

        private static func unsent(_ entry: Entry) -> FileResult? {
            switch entry {
            case .file:
                return nil
            case .failed(let path, let reason):
                return result(path, error: reason)
            case .skipped(let path, let reason):
                var result = result(path, error: nil)
                result.skipped = reason
                return result
            }
        }

        private static func result(_ path: String, error: String?) -> FileResult {
            FileResult(file: PlannedFile(localPath: path, remotePath: "", size: 0), stored: nil, bytes: 0, sha256: nil,
                       seconds: 0, rotations: 0, error: error)
        }
    }

    /// A file argument keeps its base name; a directory argument keeps its own name and everything under it.
    /// Symbolic links are followed to regular files, as scp does: a link named on the command line, or found in a
    /// directory, is sent as the file it points to under the link's own name. A link to a directory named on the
    /// command line is walked; one met inside a walk is not followed (a link back up the tree would never end).
    /// Throws only when two entries would be stored under one name: the command line contradicts itself.
    /// `filter` leaves out what --exclude / --include say (PathFilter), matched against the name an entry is stored
    /// under below --dest; an excluded directory is not walked, and nothing left out is reported.
    /// `openingEveryFile`: every regular file is opened here to prove it readable (a dry run's report); otherwise only
    /// those an upload announces before reading them (`opensFrom`).
    static func make(paths: [String], destination: String?, filter: PathFilter = .none,
                     openingEveryFile: Bool = false) throws(PlanError) -> Plan {
        let prefix = destination.map { LocalPath.components($0).joined(separator: "/") } ?? ""
        var plan = Plan()
        for argument in paths {
            let path = withoutTrailingSlashes(argument)
            let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
            guard !excluded(path, storedAs: name, by: filter) else { continue }
            switch probe(path, shown: path, opening: openingEveryFile) {
            case .file(let size):
                plan.entries.append(.file(PlannedFile(localPath: path, remotePath: join(prefix, name), size: size)))
            case .directory:
                plan.entries += walk(path, named: name, storedUnder: prefix, filter: filter, openingEveryFile: openingEveryFile)
            case .failed(let reason):
                plan.entries.append(.failed(path: path, reason: reason))
            }
        }
        plan.entries = plan.entries.map(applyingNamePolicy)
        // One stored name, two files: the same file named twice is a contradiction of the command line; two files
        // (a name and its decomposed twin, from macOS) fail the second alone, saying why.
        var seen: [String: String] = [:]
        for (index, entry) in plan.entries.enumerated() {
            guard case .file(let file) = entry else { continue }
            guard let first = seen[file.remotePath] else {
                seen[file.remotePath] = file.localPath
                continue
            }
            // Bytes: Swift's == takes a name and its decomposed twin for one (canonical equivalence).
            guard !first.utf8.elementsEqual(file.localPath.utf8) else {
                throw PlanError(description: "two files would be stored as '\(file.remotePath)'")
            }
            let (one, other) = (Self.lastComponent(first), Self.lastComponent(file.localPath))
            let twins = !one.utf8.elementsEqual(other.utf8)
                && NamePolicy.normalized(String(one)).utf8.elementsEqual(NamePolicy.normalized(String(other)).utf8)
            plan.entries[index] = .failed(path: file.localPath, reason: "cannot send \(file.localPath): \(first) is stored "
                + "as '\(file.remotePath)' too" + (twins ? " (their names differ only in Unicode normalisation, and the "
                + "server keeps names in one form, NFC)" : "") + "; rename one, or send it separately with --dest")
        }
        return plan
    }

    private static func lastComponent(_ path: String) -> Substring {
        let bytes = path.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return Substring(path) }
        return Substring(path[path.utf8.index(after: slash)...])
    }

    /// The stored name in Unicode NFC (a name made on macOS arrives decomposed), and a file whose name breaks the rest
    /// of the policy (invisible characters, odd spaces, lookalike slashes: NamePolicy) failed here, before any byte
    /// is sent, rather than refused by the server after a connection.
    private static func applyingNamePolicy(_ entry: Entry) -> Entry {
        guard case .file(let file) = entry else { return entry }
        let remote = NamePolicy.normalized(file.remotePath)
        for component in LocalPath.components(remote).map({ Substring($0) }) {
            if let problem = NamePolicy.problem(in: String(component)) {
                return .failed(path: file.localPath, reason: "cannot send \(file.localPath): the name \"\(printable(component))\" "
                    + "\(problem); rename it")
            }
        }
        return .file(PlannedFile(localPath: file.localPath, remotePath: remote, size: file.size))
    }

    /// A name for a message: invisible and control characters shown as \u{…}, so the message shows what is there.
    private static func printable(_ name: Substring) -> String {
        name.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F || (scalar != " " && NamePolicy.problem(in: String(scalar)) != nil)
                ? "\\u{\(String(scalar.value, radix: 16, uppercase: true))}" : String(scalar)
        }.joined()
    }

    // MARK: Walking

    private enum Probe {
        case file(size: UInt64)
        case directory
        case failed(String)
    }

    /// Files above this size are announced to the server (Open) before their first byte is read, so the plan opens
    /// them once to fail an unreadable one before anything is sent for it. Smaller files are read whole before their
    /// Open (pipelined uploads, PROTOCOL.md §8.10): their read says the same, and an open here would be a second one
    /// per file. (With a server that has no pipelining they go one at a time, and an unreadable one is Aborted.)
    static let opensFrom = Limits.maxPipelinedFileSize

    /// What `path` is for the plan (links followed); a regular file above `opensFrom`, or any with `opening`, must
    /// also open for reading.
    private static func probe(_ path: String, shown: String, opening: Bool) -> Probe {
        let kind = LocalFiles.kind(of: path).flatMap { kind -> Result<LocalFiles.Kind, SystemError> in
            if case .regular(let size) = kind, opening || size > opensFrom { return LocalFiles.openable(path) }
            return .success(kind)
        }
        switch kind {
        case .success(.regular(let size)):
            return .file(size: size)
        case .success(.directory):
            return .directory
        case .success(.special(let what)):
            return .failed("cannot read \(shown): \(what), not a regular file")
        case .failure(let error) where error.number == ENOENT && LocalFiles.isSymbolicLink(path):
            return .failed("cannot read \(shown): a broken symbolic link")
        case .failure(let error) where error.number == ENOENT && path.unicodeScalars.contains("\u{FFFD}"):
            // The name as the shell passed it was not valid UTF-8, and was repaired on the way in: no such file.
            return .failed("cannot read \(shown): no such file — its name is probably not valid UTF-8, which Ferry cannot "
                + "store (names are UTF-8): rename it")
        case .failure(let error):
            return .failed("cannot read \(shown): \(error.reason)")
        }
    }

    /// Everything below the directory `root`, sorted by path, the files stored as `name`/… under `prefix`. A
    /// subdirectory that cannot be listed fails as one entry; the walk goes on beside it. Iterative: a deep tree costs
    /// no stack.
    /// readdir's d_type spares the stat of a directory and the lstat of a regular file (neither is a link).
    private static func walk(_ root: String, named name: String, storedUnder prefix: String, filter: PathFilter,
                             openingEveryFile: Bool) -> [Entry] {
        let base = join(prefix, name)
        var found: [(relative: String, entry: Entry)] = []
        var pending = [""]  // directories still to list, relative to `root`
        while let directory = pending.popLast() {
            let shownDirectory = local(root, directory)
            let entries: [DirectoryEntry]
            switch LocalFiles.entries(in: shownDirectory) {
            case .failure(let error):
                found.append((directory, .failed(path: shownDirectory, reason: "cannot read \(shownDirectory): \(error.reason)")))
                continue
            case .success(let listed):
                entries = listed
            }
            if entries.isEmpty {
                found.append((directory, .skipped(path: shownDirectory, reason: "empty directory")))
            }
            for entry in entries {
                let raw = entry.name
                // The server takes UTF-8 names only, and a name decoded with replacement characters could not be
                // opened again: such a name fails, shown as best it can be.
                guard let entryName = String(validating: raw, as: UTF8.self) else {
                    let relative = join(directory, String(decoding: raw, as: UTF8.self))
                    let shown = local(root, relative)
                    found.append((relative, .failed(path: shown, reason: "cannot send \(shown): its name is not valid UTF-8")))
                    continue
                }
                let relative = join(directory, entryName)
                let path = local(root, relative)
                guard !excluded(path, storedAs: join(name, relative), by: filter) else { continue }
                if entry.kind == .directory {
                    pending.append(relative)
                    continue
                }
                if entry.kind != .regular, LocalFiles.isSymbolicLink(path), case .success(.directory) = LocalFiles.kind(of: path) {
                    found.append((relative, .skipped(path: path, reason: "a symbolic link to a directory (not followed)")))
                    continue
                }
                switch probe(path, shown: path, opening: openingEveryFile) {
                case .file(let size):
                    found.append((relative, .file(PlannedFile(localPath: path, remotePath: join(base, relative), size: size))))
                case .directory:
                    pending.append(relative)
                case .failed(let reason):
                    found.append((relative, .failed(path: path, reason: reason)))
                }
            }
        }
        return found.sorted { $0.relative < $1.relative }.map(\.entry)
    }

    /// Whether the filter leaves out the entry at `path`, stored as `stored` below --dest. Decided before the entry is
    /// probed, so a path left out is never opened, nor reported when it could not be; a stat tells a directory
    /// pattern ("build/") from a file's, and only when there is a filter.
    private static func excluded(_ path: String, storedAs stored: String, by filter: PathFilter) -> Bool {
        guard !filter.isEmpty else { return false }
        let isDirectory = if case .success(.directory) = LocalFiles.kind(of: path) { true } else { false }
        return filter.excludes(stored, isDirectory: isDirectory)
    }

    /// `relative` below the local directory `root` ("" is the root itself).
    private static func local(_ root: String, _ relative: String) -> String {
        relative.isEmpty ? root : root.hasSuffix("/") ? root + relative : root + "/" + relative
    }

    /// "photos/" is walked and shown as "photos" (a file below it is "photos/a.jpg", not "photos//a.jpg"); "/" stays.
    private static func withoutTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    private static func join(_ parts: String...) -> String { parts.filter { !$0.isEmpty }.joined(separator: "/") }
}
