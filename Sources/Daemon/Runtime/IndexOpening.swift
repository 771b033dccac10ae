// The metadata index [index] names (docs/STORE.md), opened at start before the store settles what a crash left in it.
// Under the storage root it is `<root>/<.directory>/<file>`, its directory opened without following links and made
// when missing (Store.prepareIndexFile); elsewhere it is the operator's path as given. The intent journal is always
// `<root>/.index/intents.*` (IntentJournal). PostgreSQL is reached at `[index] url` (PostgresIndex).
import ArgumentParser
import FerrydConfig
import Foundation
import Index
import Store

enum IndexOpening {
    /// The index to record in, or nil when `[index] backend = "off"`. Blocking; at start and by `ferryd reindex`.
    /// `sharing`: the root is shared, and this daemon's journal is its node's (locked: `inUse` when another daemon
    /// of that name runs).
    static func open(_ section: DaemonConfig.IndexSection, storageRoot: URL,
                     sharing: StoreSharing? = nil) throws -> (any MetadataIndex)? {
        guard section.backend != .off else { return nil }
        // The intent journal is about this tree, so it lives under its root whatever holds the rows.
        let journal: String, indexDirectory: String
        let rootPath = storageRoot.standardizedFileURL.path
        do {
            indexDirectory = try Store.prepareOwnDirectory(rootPath: rootPath, name: DaemonConfig.defaultIndexDirectory)
            journal = try sharing.map { sharing throws(StoreError) in
                try Store.prepareNodeDirectory(rootPath: rootPath, name: DaemonConfig.defaultIndexDirectory, node: sharing.node)
            } ?? indexDirectory
        } catch {
            throw ValidationError("index: \(error)")
        }
        let rows: any RowStore
        switch section.backend {
        case .off:
            return nil
        case .sqlite:
            let path = try databasePath(section, storageRoot: storageRoot)
            do { rows = try SQLiteIndex(path: path) } catch {
                throw ValidationError("index: \(error.description). If the file is damaged, move it away and run "
                    + "`ferryd reindex` to rebuild it from the stored files")
            }
        case .postgresql:
            let owner = try rootID(in: indexDirectory)
            do {
                rows = try PostgresIndex(url: section.url, owner: owner, poolSize: section.poolSize,
                                         connectTimeout: section.connectTimeout,
                                         statementTimeoutMilliseconds: section.queryTimeout * 1000)
            } catch {
                throw ValidationError("index: \(error.description). Check [index] url and that the server accepts "
                    + "ferryd's connections (pg_hba.conf, the passfile)")
            }
        }
        // Another shared daemon settling this node's journal (it found its lock free: a restart) holds it for
        // milliseconds: waited for, half a minute at most, before a daemon of this name is said to run.
        var attempts = sharing == nil ? 1 : Self.journalAttempts
        while true {
            attempts -= 1
            do {
                // Made again each time: another daemon that found it departed and empty removes it.
                if let sharing {
                    _ = try Store.prepareNodeDirectory(rootPath: rootPath, name: DaemonConfig.defaultIndexDirectory,
                                                       node: sharing.node)
                }
                return try JournaledIndex(rows: rows, journalDirectory: journal, exclusive: sharing != nil)
            } catch let error as IndexError where error.kind == .inUse && attempts > 0 {
                usleep(100_000)
            } catch let error as IndexError {
                try journalRefusal(error, journal: journal, sharing: sharing)
            } catch {
                throw ValidationError("index: \(error)")
            }
        }
    }

    /// Tries, 100 ms apart, to lock this node's journal when another daemon holds it: 30 s, past what settling a
    /// journal takes even with the index's statements slow.
    static let journalAttempts = 300

    private static func journalRefusal(_ error: IndexError, journal: String, sharing: StoreSharing?) throws -> Never {
        if error.kind == .inUse, let sharing {
            throw ValidationError("index: another ferryd named \"\(sharing.node)\" is running on this storage root "
                + "(\(journal) is locked): give each daemon sharing it its own [index] node")
        }
        throw ValidationError("index: \(error.description)")
    }

    /// gethostname(2): the kernel's name, without a lookup (Foundation's hostName asks the resolver).
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The index's directory under the root (`<root>/.index`: the intent journals), nil when the index is off.
    static func journals(_ settings: RuntimeSettings) -> String? {
        guard settings.index.backend != .off else { return nil }
        let root = settings.storageRoot.standardizedFileURL.path
        return (root.hasSuffix("/") ? root : root + "/") + DaemonConfig.defaultIndexDirectory
    }

    /// How this daemon shares its root, when `storage.shared`: its node name (`index.node`, else the host name).
    static func sharing(_ settings: RuntimeSettings) -> StoreSharing? {
        guard settings.sharedStorage else { return nil }
        let node = settings.index.node.isEmpty ? NodeName.fromHostName(hostName()) : settings.index.node
        return StoreSharing(node: node)
    }

    /// This storage root's id (`<root>/.index/root-id`, made at its first start with a server index): what a
    /// PostgreSQL schema is taken by, so that two roots never share one (PostgresIndex+Schema.swift). Daemons sharing
    /// the root may start at once: the id is written to a file of this process's own and linked into place, which
    /// fails when another was first, whose id is then read — never two ids, never a half-written one read.
    static func rootID(in directory: String) throws -> String {
        let path = directory + "/root-id"
        if let id = try readRootID(path) { return id }
        let id = UUID().uuidString.lowercased()
        // A name of its own (pids repeat across hosts and containers), the id read back from the name it was linked to.
        let temporary = directory + "/root-id.\(id).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((id + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("index: cannot write \(temporary)")
        }
        defer { unlink(temporary) }
        if link(temporary, path) != 0, errno != EEXIST {
            throw ValidationError("index: cannot make \(path): \(String(cString: strerror(errno)))")
        }
        guard let found = try readRootID(path) else { throw ValidationError("index: \(path) vanished as it was made") }
        return found
    }

    /// The id in `path`; nil when there is no such file.
    private static func readRootID(_ path: String) throws -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let allowed = Set("0123456789abcdefABCDEF-".utf8)
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy(allowed.contains) else {
            throw ValidationError("index: \(path) is damaged (not an id); restore it, or remove it and the schema's "
                + "ferry_owner row, then run `ferryd reindex`")
        }
        return id
    }

    private static func databasePath(_ section: DaemonConfig.IndexSection, storageRoot: URL) throws -> String {
        let root = storageRoot.standardizedFileURL.path
        let given = section.path?.standardizedFileURL.path
        let below: (directory: String, file: String)
        if let given {
            // The configuration allows exactly <root>/<.directory>/<file> below the root (ConfigKeys+Index).
            let prefix = root.hasSuffix("/") ? root : root + "/"
            guard given.hasPrefix(prefix) else { return given }
            let parts = given.dropFirst(prefix.count).split(separator: "/").map(String.init)
            guard parts.count == 2 else { return given }
            below = (parts[0], parts[1])
        } else {
            below = (DaemonConfig.defaultIndexDirectory, DaemonConfig.defaultIndexFile)
        }
        do { return try Store.prepareIndexFile(rootPath: root, directory: below.directory, file: below.file) } catch {
            throw ValidationError("index: \(error)")
        }
    }
}
