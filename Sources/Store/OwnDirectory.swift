// The daemon's own directories directly under the storage root (staging; the metadata index's by default): real
// directories, created when missing, opened through the root's descriptor without following a link, writable by this
// process. A name starting with "." there is never an identity's (NameRules), so no client can reach them.
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Store {
    /// The daemon's directory `name` under the root, made (0750) when missing and refused when it is a link; its path.
    /// Blocking; at start and by `ferryd reindex`.
    public static func prepareOwnDirectory(rootPath: String, name: String) throws(StoreError) -> String {
        let root: Int32
        do { root = try DirectoryCalls.openDirectory(path: rootPath) } catch {
            throw StoreError("cannot open the storage root \(rootPath): \(error.message)")
        }
        defer { DirectoryCalls.close(root) }
        DirectoryCalls.close(try openOwnDirectory(name, in: root, rootPath: rootPath, what: "the index directory",
                                                  sameFileSystem: false))
        return rootPath.hasSuffix("/") ? rootPath + name : rootPath + "/" + name
    }

    /// The intent journal's directory of the daemon `node` among those sharing the root, `<root>/<name>/nodes/<node>`,
    /// each level made (0750) when missing and refused when it is a link; its path. Blocking; at start.
    public static func prepareNodeDirectory(rootPath: String, name: String, node: String) throws(StoreError) -> String {
        let root: Int32
        do { root = try DirectoryCalls.openDirectory(path: rootPath) } catch {
            throw StoreError("cannot open the storage root \(rootPath): \(error.message)")
        }
        defer { DirectoryCalls.close(root) }
        var path = rootPath.hasSuffix("/") ? String(rootPath.dropLast()) : rootPath
        var parent = root
        defer { if parent != root { DirectoryCalls.close(parent) } }
        for component in [name, StoreSharing.journalsDirectory, node] {
            let next = try openOwnDirectory(component, in: parent, rootPath: path, what: "the index directory",
                                            sameFileSystem: false)
            if parent != root { DirectoryCalls.close(parent) }
            parent = next
            path += "/" + component
        }
        return path
    }

    /// Where the SQLite index goes when it lives under the root: `<root>/<directory>/<file>`, the directory made (0750)
    /// when missing and refused when it is a link, the file created (0600) when missing and refused when it is anything
    /// but a regular file. Returns the file's path for SQLite, which opens by name (the directory was checked here, and
    /// only ferryd's user can change the root's entries). Blocking; at start and by `ferryd reindex`.
    public static func prepareIndexFile(rootPath: String, directory: String, file: String) throws(StoreError) -> String {
        let root: Int32
        do { root = try DirectoryCalls.openDirectory(path: rootPath) } catch {
            throw StoreError("cannot open the storage root \(rootPath): \(error.message)")
        }
        defer { DirectoryCalls.close(root) }
        let held = try openOwnDirectory(directory, in: root, rootPath: rootPath, what: "the index directory",
                                        sameFileSystem: false)
        defer { DirectoryCalls.close(held) }
        let directoryPath = rootPath.hasSuffix("/") ? rootPath + directory : rootPath + "/" + directory
        let path = directoryPath + "/" + file
        let status: EntryStatus?
        do { status = try DirectoryCalls.status(of: file, in: held) } catch {
            throw StoreError("cannot stat the index \(path): \(error.message)")
        }
        guard let status else {
            // Created here, private: it names every stored file (SQLite gives its -wal and -shm files the same mode).
            do { DirectoryCalls.close(try DirectoryCalls.openFile(file, in: held, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW,
                                                               mode: 0o600)) } catch {
                throw StoreError("cannot create the index \(path): \(error.message)")
            }
            return path
        }
        if status.kind != .regular {
            throw StoreError("the index \(path) is \(status.kind == .symbolicLink ? "a symbolic link" : "not a regular file"): "
                + "move it away (ferryd creates the index when it is missing; `ferryd reindex` fills it from the tree)")
        }
        return path
    }

    static func openOwnDirectory(_ name: String, in root: Int32, rootPath: String, what: String,
                                 sameFileSystem: Bool) throws(StoreError) -> Int32 {
        let path = rootPath.hasSuffix("/") ? rootPath + name : rootPath + "/" + name
        var made = false
        let fd: Int32
        do {
            do { fd = try DirectoryCalls.openDirectory(name, in: root) } catch where error.number == ENOENT {
                // Another daemon sharing the root may make it at the same moment: its directory is as good.
                do { try DirectoryCalls.makeDirectory(name, in: root, mode: 0o750) } catch where error.number == EEXIST {}
                made = true
                fd = try DirectoryCalls.openDirectory(name, in: root)
            }
        } catch where (error.number == ELOOP || error.number == ENOTDIR)
                    && (try? DirectoryCalls.status(of: name, in: root))??.kind == .symbolicLink {
            throw StoreError("\(what) \(path) is a symbolic link: make it a directory of the storage root")
        } catch {
            throw StoreError("cannot open \(what) \(path): \(error.message)")
        }
        do {
            let elsewhere = try sameFileSystem && DirectoryCalls.status(of: fd).device != DirectoryCalls.status(of: root).device
            guard !elsewhere else {
                DirectoryCalls.close(fd)
                throw StoreError("\(what) \(path) is on another file system than the storage root: "
                    + "commits would not be atomic")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            DirectoryCalls.close(fd)
            throw StoreError("cannot stat \(path): \(error)")
        }
        guard faccessat(fd, ".", W_OK, 0) == 0 else {
            let reason = String(cString: strerror(errno))
            DirectoryCalls.close(fd)
            throw StoreError("\(what) \(path) is not writable by this process (uid \(getuid())): \(reason)")
        }
        if made { try? DirectoryCalls.sync(root) }
        return fd
    }
}
