// What `ferry verify` found of each file, and the local side of it: the SHA-256 of each local file as `ferry upload`
// would have named it on the server (UploadPlan: the same walk, the same names).
import Foundation
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One file's verdict.
struct VerifyVerdict: Equatable {
    enum Status: String {
        /// The local file, the recorded digest and (unless --quick) the server's re-read all agree.
        case match
        /// The stored copy is intact but is another file than the local one.
        case differs
        /// The server's re-read no longer gives the digest it recorded: its copy changed or decayed.
        case damaged
        /// Here, not on the server.
        case missingOnServer = "missing_on_server"
        /// On the server (below the directory compared), not here.
        case onlyOnServer = "only_on_server"
        /// Could not be compared (unreadable here, refused or failed there).
        case failed
    }

    let remote: String
    let local: String?
    var status: Status
    var localSHA256: [UInt8]?
    var recordedSHA256: [UInt8]?
    var readSHA256: [UInt8]?
    var error: String?
}

/// A local file to compare, with the name it has on the server.
struct LocalCopy: Equatable {
    let local: String
    let remote: String
    /// Its SHA-256, or why it could not be read.
    let sha256: Result<[UInt8], LocalCopyError>
}

struct LocalCopyError: Error, Equatable {
    let message: String
}

enum LocalCopies {
    /// The files of `local` (a file, or a directory walked as an upload walks it) named as on the server: below
    /// `remote` when given, else below `local`'s own name; each hashed. Names the walk could not read are failures.
    static func of(_ local: String, remote: String?) throws(PlanError) -> [LocalCopy] {
        let plan = try UploadPlan.make(paths: [local], destination: nil)
        let name = URL(fileURLWithPath: local).standardizedFileURL.lastPathComponent
        func renamed(_ path: String) -> String {
            guard let remote else { return path }
            if path == name { return remote }
            return remote.isEmpty ? String(path.dropFirst(name.count + 1)) : remote + path.dropFirst(name.count)
        }
        return plan.entries.compactMap { entry -> LocalCopy? in
            switch entry {
            case .file(let file):
                return LocalCopy(local: file.localPath, remote: renamed(file.remotePath), sha256: sha256(of: file.localPath))
            case .failed(let path, let reason):
                return LocalCopy(local: path, remote: path, sha256: .failure(LocalCopyError(message: reason)))
            case .skipped:
                return nil
            }
        }
    }

    /// The SHA-256 of the whole file at `path`, read to its end. Blocking.
    static func sha256(of path: String) -> Result<[UInt8], LocalCopyError> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(LocalCopyError(message: "cannot open \(path): \(SystemError.last("open").message)")) }
        defer { close(fd) }
        let digest = DigestContext(.sha256)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                return .failure(LocalCopyError(message: "cannot read \(path): \(SystemError.last("read").message)"))
            }
            if count == 0 { return .success(digest.snapshot()) }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }
}
