// Where the metadata index may be: never where a client could write (an identity's directory below the root), never
// the staging directory (its entries are removed as stale partials). Lexical, on the resolved paths: the daemon opens
// the index's directory through the root's descriptor without following links when it is below the root.
import Foundation

extension ConfigKeys {
    static func validateIndexPlace(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
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

extension ConfigKeys {
    /// Daemons share a root through the PostgreSQL index (one for them all); `index.node` names one of them, so it
    /// goes with `storage.shared` and only with it, and is a name its journal's directory can have.
    static func validateSharing(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
        if config.storage.shared, config.index.backend != .postgresql {
            let key = "storage.shared"
            throw .invalid(key, "daemons share a storage root through one PostgreSQL index: set [index] backend = "
                + "\"postgresql\" with its url (\"\(config.index.backend.rawValue)\" is one daemon's)", line: line(key))
        }
        let node = config.index.node
        guard !node.isEmpty else { return }
        let key = "index.node"
        guard config.storage.shared else {
            throw .invalid(key, "names this daemon among those sharing storage.root: set storage.shared = true, or "
                + "remove it", line: line(key))
        }
        if let problem = NodeName.problem(node) { throw .invalid(key, problem, line: line(key)) }
    }
}

/// A daemon's name among those sharing a root: its intent journal's directory (`<root>/.index/nodes/<node>/`).
package enum NodeName {
    static let maximumLength = 64

    /// Why `name` cannot name a node; nil when it can.
    package static func problem(_ name: String) -> String? {
        guard (1...maximumLength).contains(name.utf8.count) else {
            return "must be 1 to \(maximumLength) characters"
        }
        guard name.utf8.allSatisfy({ allowed($0) }), name.first != "." else {
            return "must be letters, digits, '.', '_' and '-' (not starting with '.'), as a host name is"
        }
        return nil
    }

    /// The host name made a node name (characters it cannot hold become '-'), or "ferryd" when it has none.
    package static func fromHostName(_ host: String) -> String {
        let mapped = String(decoding: host.utf8.prefix(maximumLength).map { allowed($0) ? $0 : UInt8(ascii: "-") }, as: UTF8.self)
        return problem(mapped) == nil ? mapped : "ferryd"
    }

    private static func allowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}
