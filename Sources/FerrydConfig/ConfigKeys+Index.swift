// Where the metadata index may be: never where a client could write (an identity's directory below the root), never
// the staging directory (its entries are removed as stale partials). Lexical, on the resolved paths: the daemon opens
// the index's directory through the root's descriptor without following links when it is below the root.
import Foundation

extension ConfigKeys {
    static func validateIndexPlace(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
        try validateIndexServer(config, line: line)
        guard config.index.backend != .off else { return }
        // The intent journal is always there, whatever holds the rows; staging's stale entries are removed.
        let staging = config.storage.staging
        if staging == DaemonConfig.defaultIndexDirectory {
            let key = "storage.staging"
            throw .invalid(key, "\"\(staging)\" is where the index keeps its intent journal (and by default its SQLite "
                + "file); name staging otherwise", line: line(key))
        }
        guard config.index.backend == .sqlite, let path = config.index.path else { return }
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

extension ConfigKeys {
    /// `index.url` goes with `backend = "postgresql"`, and only with it: a URL left beside another back end would
    /// otherwise be silently unused.
    static func validateIndexServer(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
        let url = config.index.url.trimmingCharacters(in: .whitespaces)
        switch config.index.backend {
        case .postgresql:
            guard !url.isEmpty else {
                let key = "index.backend"
                throw .invalid(key, "\"postgresql\" needs 'index.url', the server's connection string (for example "
                    + "\"postgresql://ferry@db.example/ferry?passfile=/etc/ferry/pgpass\")", line: line(key))
            }
            guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.contains("=") else {
                let key = "index.url"
                throw .invalid(key, "must be a libpq URI (postgresql://...) or keyword string (host=... dbname=...)",
                               line: line(key))
            }
        case .sqlite, .off:
            guard url.isEmpty else {
                let key = "index.url"
                throw .invalid(key, "is the PostgreSQL server's, but 'index.backend' is \"\(config.index.backend.rawValue)\": "
                    + "set backend = \"postgresql\" or remove the url", line: line(key))
            }
        }
    }
}
