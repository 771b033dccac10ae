// A path on the server as a user types it for `ferry ls`, `ferry stat` (and the store's next commands): relative to
// their own files, "/" separators; a leading "/" or "./", a trailing "/" and "." mean nothing more; sent in NFC
// (PROTOCOL.md §8.8) as uploads send their names. What the server's rules refuse (".." and the rest) it refuses with
// bad_path: the client does not keep a second copy of them.
import Protocol

enum RemotePath {
    /// `text` as the protocol carries it: "" for the top of one's own files.
    static func normalized(_ text: String) -> String {
        var path = Substring(NamePolicy.normalized(text))
        while path.hasPrefix("/") || path.hasPrefix("./") { path = path.hasPrefix("/") ? path.dropFirst() : path.dropFirst(2) }
        while path.hasSuffix("/") { path = path.dropLast() }
        while path.hasSuffix("/.") { path = path.dropLast(2) }
        return path == "." ? "" : String(path)
    }
}

/// The exit status of a store command (`ferry ls`, `ferry stat`): sysexits(3)'s, as `ferry upload`'s.
enum StoreExitStatus {
    /// 0 when everything was answered; 1 when an argument was not found or refused, or the connection was lost;
    /// 69 unreachable, 75 a timeout, 77 the handshake refused (FailureKind's reading of the session failure).
    static func of(_ failure: SessionFailure?, failedArguments: Int) -> Int32 {
        if let failure {
            switch FailureKind(failure) {
            case .unreachable: return UploadExitStatus.unreachable
            case .timeout: return UploadExitStatus.timeout
            case .refused: return UploadExitStatus.refused
            case .other: return UploadExitStatus.filesFailed
            }
        }
        return failedArguments > 0 ? UploadExitStatus.filesFailed : 0
    }
}
