// What to upload: the files named on the command line, directories walked recursively, each with the relative path it
// will have on the server (`--dest DIR/` prefixed).
import Foundation

struct PlannedFile: Sendable {
    let localPath: String
    let remotePath: String
    let size: UInt64
}

struct PlanError: Error, CustomStringConvertible {
    let description: String
}

enum UploadPlan {
    /// The files to send, and what was left out of the directory walks (with why), for a warning each.
    struct Plan {
        var files: [PlannedFile] = []
        var skipped: [String] = []
    }

    /// A file argument keeps its base name; a directory argument keeps its own name and everything under it.
    /// Symbolic links are followed to regular files, as scp does: a link named on the command line, or found in a
    /// directory, is sent as the file it points to under the link's own name. Links to directories inside a walk are
    /// not followed (a link back up the tree would never end); they, broken links and special files are skipped.
    static func make(paths: [String], destination: String?) throws -> Plan {
        let prefix = destination.map { $0.split(separator: "/").joined(separator: "/") } ?? ""
        var plan = Plan()
        let manager = FileManager.default
        for path in paths {
            guard let target = FileKind(following: path) else {
                throw PlanError(description: "\(path): no such file or directory")
            }
            let base = URL(fileURLWithPath: path).standardizedFileURL
            switch target {
            case .regular(let size):
                plan.files.append(PlannedFile(localPath: path, remotePath: join(prefix, base.lastPathComponent), size: size))
            case .other:
                throw PlanError(description: "\(path): not a regular file or a directory")
            case .directory:
                // A link named on the command line is walked where it points (the enumerator does not go through it),
                // and stored under the link's name.
                let walked = base.resolvingSymlinksInPath()
                guard let walker = manager.enumerator(at: walked, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey]) else {
                    throw PlanError(description: "\(path): cannot read the directory")
                }
                var found: [PlannedFile] = []
                for case let url as URL in walker {
                    let values = try url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
                    if values.isDirectory == true && values.isSymbolicLink != true { continue }  // walked into
                    let relative = String(url.standardizedFileURL.path.dropFirst(walked.path.count).drop { $0 == "/" })
                    let shown = join(path, relative)
                    switch FileKind(following: url.path) {
                    case .regular(let size)?:
                        found.append(PlannedFile(localPath: url.path, remotePath: join(prefix, base.lastPathComponent, relative),
                                                 size: size))
                    case .directory?:
                        plan.skipped.append("\(shown): a symbolic link to a directory (not followed)")
                    case .other?:
                        plan.skipped.append("\(shown): not a regular file")
                    case nil:
                        plan.skipped.append("\(shown): " + (values.isSymbolicLink == true ? "a broken symbolic link"
                                                                                     : "gone or unreadable"))
                    }
                }
                plan.files += found.sorted { $0.remotePath < $1.remotePath }
            }
        }
        guard !plan.files.isEmpty else { throw PlanError(description: "nothing to upload") }
        var seen = Set<String>()
        for file in plan.files where !seen.insert(file.remotePath).inserted {
            throw PlanError(description: "two files would be stored as '\(file.remotePath)'")
        }
        return plan
    }

    private static func join(_ parts: String...) -> String { parts.filter { !$0.isEmpty }.joined(separator: "/") }
}

/// What a path is once symbolic links are followed (stat(2)); nil when nothing is there (or a link is broken).
private enum FileKind {
    case regular(size: UInt64)
    case directory
    case other

    init?(following path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: self = .regular(size: UInt64(status.st_size))
        case S_IFDIR: self = .directory
        default: self = .other
        }
    }
}
