// Where the metadata index may be: never where a client could write (an identity's directory below the root), never
// the staging directory (its entries are removed as stale partials). Lexical, on the resolved paths: the daemon opens
// the index's directory through the root's descriptor without following links when it is below the root.
import Foundation

extension ConfigKeys {
    static func validateIndexPlace(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
        guard config.index.backend == .sqlite else { return }
        let staging = config.storage.staging
        guard let path = config.index.path else {
            if staging == DaemonConfig.defaultIndexDirectory {
                let key = "storage.staging"
                throw .invalid(key, "\"\(staging)\" is where the index is kept by default; name staging otherwise, or "
                    + "set 'index.path'", line: line(key))
            }
            return
        }
        let key = "index.path"
        let root = config.storage.root.standardizedFileURL.path
        let file = path.standardizedFileURL.path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard file.hasPrefix(prefix) else { return }
        let below = file.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: true)
        guard below.count == 2, let top = below.first, top.hasPrefix("."), String(top) != staging else {
            throw .invalid(key, "\"\(file)\" is below storage.root where clients store files or partial uploads are "
                + "kept: put it directly in a directory of its own whose name starts with \".\" (the default is "
                + "\(DaemonConfig.defaultIndexDirectory)/\(DaemonConfig.defaultIndexFile)), or outside the root",
                line: line(key))
        }
    }
}
