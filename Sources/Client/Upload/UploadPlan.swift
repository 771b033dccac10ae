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
    /// A file argument keeps its base name; a directory argument keeps its own name and everything under it.
    static func make(paths: [String], destination: String?) throws -> [PlannedFile] {
        let prefix = destination.map { $0.split(separator: "/").joined(separator: "/") } ?? ""
        var files: [PlannedFile] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw PlanError(description: "\(path): no such file or directory")
            }
            let base = URL(fileURLWithPath: path).standardizedFileURL
            if isDirectory.boolValue {
                guard let walker = manager.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) else {
                    throw PlanError(description: "\(path): cannot read the directory")
                }
                var found: [PlannedFile] = []
                for case let url as URL in walker {
                    let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
                    guard values.isRegularFile == true else { continue }
                    let relative = url.standardizedFileURL.path.dropFirst(base.path.count).drop { $0 == "/" }
                    found.append(PlannedFile(localPath: url.path, remotePath: join(prefix, base.lastPathComponent, String(relative)),
                                             size: UInt64(values.fileSize ?? 0)))
                }
                files += found.sorted { $0.remotePath < $1.remotePath }
            } else {
                let attributes = try manager.attributesOfItem(atPath: path)
                guard attributes[.type] as? FileAttributeType == .typeRegular else {
                    throw PlanError(description: "\(path): not a regular file")
                }
                let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
                files.append(PlannedFile(localPath: path, remotePath: join(prefix, base.lastPathComponent), size: size))
            }
        }
        guard !files.isEmpty else { throw PlanError(description: "nothing to upload") }
        var seen = Set<String>()
        for file in files where !seen.insert(file.remotePath).inserted {
            throw PlanError(description: "two files would be stored as '\(file.remotePath)'")
        }
        return files
    }

    private static func join(_ parts: String...) -> String { parts.filter { !$0.isEmpty }.joined(separator: "/") }
}
