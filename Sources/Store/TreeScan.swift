// Walking what the tree holds, for `ferryd reindex`: the identities' directories under the root and every regular file
// below each, with its size and SHA-256 (from the digest record beside it, or hashed when it has none). Every
// directory is opened below the root with no symbolic link on the way (DirectoryCalls.openDirectoryBeneath), every file
// with O_NOFOLLOW; links, devices, FIFOs and names a client could not have stored are reported, never followed or
// indexed. Iterative, one directory descriptor open at a time: depth costs neither stack nor descriptors.
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A regular file found below a namespace's directory.
struct ScannedFile: Equatable {
    /// Relative to the namespace's directory, as a client names it.
    let path: String
    let size: UInt64
    let sha256: [UInt8]
    /// st_mtime and st_ctime (the commit's link sets the latter), nanoseconds since the epoch.
    let modified: Int64
    let changed: Int64
    /// The file had no valid digest record and was read whole.
    let hashed: Bool
}

struct NamespaceScan {
    var files: [ScannedFile] = []
    /// "namespace/path: why" for every entry left out.
    var skipped: [String] = []
    /// Files and directories (relative paths) that are there but could not be read: what the index says of them and
    /// of everything below them stands.
    var unreadable: [String] = []

    /// Whether `path` is, or is below, something that could not be read.
    func isUnreadable(_ path: String) -> Bool {
        unreadable.contains { $0.isEmpty || path == $0 || path.hasPrefix($0 + "/") }
    }
}

extension Store {
    /// The identities' directories directly under the root (real directories whose names NameRules takes as
    /// identities), in byte order, and what else is there that is not the daemon's own (a name starting with ".").
    func namespaceDirectories() throws(StoreError) -> (names: [String], skipped: [String]) {
        let entries: [DirectoryEntry]
        switch DirectoryCalls.entries(of: root) {
        case .success(let read): entries = read
        case .failure(let error): throw StoreError("cannot read the storage root \(rootPath): \(error.message)")
        }
        var names: [String] = [], skipped: [String] = []
        for entry in entries {
            guard let name = String(validating: entry.name, as: UTF8.self) else {
                skipped.append("\(String(decoding: entry.name, as: UTF8.self)): not a UTF-8 name")
                continue
            }
            guard !name.hasPrefix("."), name != rules.staging else { continue }
            let kind = entry.kind ?? (try? DirectoryCalls.status(of: name, in: root))??.kind
            guard kind == .directory else {
                skipped.append("\(name): not a directory (identities' areas are directories)")
                continue
            }
            do { try rules.validateIdentity(name) } catch {
                skipped.append("\(name): not a name an identity can have (\(error))")
                continue
            }
            names.append(name)
        }
        return (names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, skipped)
    }

    /// Every regular file below `<root>/<namespace>`, in byte order of path. A file without a digest record is hashed
    /// (and the record written when `record`).
    func scan(namespace: String, record: Bool) -> NamespaceScan {
        var scan = NamespaceScan()
        var pending: [[String]] = [[]]  // directories still to read, as components below the namespace's
        while let directory = pending.popLast() {
            let shown = ([namespace] + directory).joined(separator: "/")
            let descriptor: Int32
            do { descriptor = try DirectoryCalls.openDirectoryBeneath([namespace] + directory, in: root) } catch {
                scan.skipped.append("\(shown)/: cannot open (\(error.message))")
                scan.unreadable.append(directory.joined(separator: "/"))
                continue
            }
            defer { DirectoryCalls.close(descriptor) }
            let entries: [DirectoryEntry]
            switch DirectoryCalls.entries(of: descriptor) {
            case .success(let read): entries = read
            case .failure(let error):
                scan.skipped.append("\(shown)/: cannot read (\(error.message))")
                scan.unreadable.append(directory.joined(separator: "/"))
                continue
            }
            for entry in entries {
                let name = String(decoding: entry.name, as: UTF8.self)
                let components = directory + [name]
                let path = components.joined(separator: "/")
                guard String(validating: entry.name, as: UTF8.self) != nil,
                      (try? NameRules.validateRelativePath(path, staging: rules.staging)) != nil else {
                    scan.skipped.append("\(namespace)/\(path): not a name a client could have stored")
                    continue
                }
                let kind = entry.kind ?? (try? DirectoryCalls.status(of: name, in: descriptor))??.kind
                switch kind {
                case .directory?:
                    pending.append(components)
                case .regular?:
                    switch Self.describe(name, in: descriptor, record: record) {
                    case .success(let found):
                        scan.files.append(ScannedFile(path: path, size: found.size, sha256: found.digest,
                                                      modified: found.modified, changed: found.changed, hashed: found.hashed))
                    case .failure(let reason):
                        scan.skipped.append("\(namespace)/\(path): \(reason)")
                        scan.unreadable.append(path)
                    }
                case .symbolicLink?:
                    scan.skipped.append("\(namespace)/\(path): a symbolic link (not followed)")
                case .other?, nil:
                    scan.skipped.append("\(namespace)/\(path): not a regular file")
                }
            }
        }
        scan.files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return scan
    }

    private struct Description {
        let size: UInt64
        let digest: [UInt8]
        let modified: Int64
        let changed: Int64
        let hashed: Bool
    }

    private static func describe(_ name: String, in directory: Int32, record: Bool) -> Result<Description, ScanRefusal> {
        let descriptor: Int32
        do { descriptor = try DirectoryCalls.openFile(name, in: directory, flags: O_RDONLY | O_NONBLOCK) } catch {
            return .failure(ScanRefusal("cannot open (\(error.message))"))
        }
        defer { DirectoryCalls.close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(ScanRefusal("cannot stat (\(SystemError.last("fstat").message))")) }
        guard let found = StoredDigest.of(descriptor, rehashUpTo: .max, record: record) else {
            return .failure(ScanRefusal("cannot be read to compute its SHA-256"))
        }
        return .success(Description(size: found.size, digest: found.digest,
                                    modified: nanoseconds(info.st_mtim), changed: nanoseconds(info.st_ctim),
                                    hashed: found.hashed))
    }

    private static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }
}

/// Why an entry was left out of a scan, said after its path.
struct ScanRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
