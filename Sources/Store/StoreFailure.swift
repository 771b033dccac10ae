// Why an upload could not be stored, in two voices: what the client is told (an UploadFailure: its own path, never a
// server path) and what the operator's log says (the server path and the system error).
import Platform
import Protocol

public struct StoreFailure: Error, Equatable, Sendable {
    /// Sent to the client.
    public let failure: UploadFailure
    /// For the daemon's log: names the server-side path or call.
    public let detail: String
    /// Something under the root that should not be there (a symbolic link): a warning, not a routine refusal.
    public let isSuspicious: Bool

    init(_ failure: UploadFailure, detail: String? = nil, suspicious: Bool = false) {
        self.failure = failure
        self.detail = detail ?? failure.message
        isSuspicious = suspicious
    }

    /// A system call's failure while `what` (for the client: "writing 'a/b'"), classified for the client.
    static func system(_ error: SystemError, while what: String, at path: String) -> StoreFailure {
        let failure = switch error.name {
        case "ENOSPC", "EDQUOT": UploadFailure(.noSpace, "no space left on the server while \(what)")
        case "EACCES", "EPERM", "EROFS": UploadFailure(.permissionDenied, "permission denied while \(what)")
        case "ENOTDIR", "EISDIR": UploadFailure(.badPath, "the path conflicts with an existing file while \(what)")
        default: UploadFailure(.storageFailure, "storage error while \(what): \(error.name)")
        }
        return StoreFailure(failure, detail: "\(what): \(path): \(error)")
    }

    /// A symbolic link where the store reaches for a directory or a file: refused, never followed.
    static func symbolicLink(_ relativePath: String, at path: String) -> StoreFailure {
        StoreFailure(UploadFailure(.permissionDenied, "the server refuses to store '\(relativePath)': a symbolic link is "
                                   + "in its way on the server (tell the server's operator)"),
                     detail: "symbolic link under the storage root refused: \(path)", suspicious: true)
    }

    /// A symbolic link where a delete or a rename reaches for a directory or the file: refused, never followed.
    static func linkInTheWay(_ relativePath: String, at path: String) -> StoreFailure {
        StoreFailure(UploadFailure(.permissionDenied, "'\(relativePath)' cannot be changed: a symbolic link is in its way on "
                                   + "the server (tell the server's operator)"),
                     detail: "symbolic link under the storage root refused: \(path)", suspicious: true)
    }
}
