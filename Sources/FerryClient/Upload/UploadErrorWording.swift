// What the user reads when the server refuses or fails one file (UploadError, PROTOCOL.md §8.5): whose problem it is
// and what to do, around the server's own text. A storage failure on the server is the server's problem, not the
// user's ("the server could not store …; tell its operator"); a name already taken says how to replace or skip it.
import Protocol

enum UploadErrorWording {
    /// `overwriteAsked`: the upload asked to replace an existing file (--overwrite), so an `exists` answer means the
    /// server's configuration forbids it, and repeating --overwrite would not help.
    static func message(_ failure: UploadFailure, path: String, overwriteAsked: Bool = false) -> String {
        let said = failure.message
        switch failure.code {
        case .exists where overwriteAsked:
            return "\(said) — its operator can allow it (ferryd.toml: [storage] allow_overwrite = true); "
                + "--ignore-existing leaves it and goes on"
        case .exists where said.contains("--overwrite"):
            return "\(said); --ignore-existing leaves it and goes on"  // ferryd's own text says how to replace it
        case .exists:
            return "\(said) — --overwrite replaces it (if the server allows it), --ignore-existing leaves it and goes on"
        case .storageFailure:
            return "the server could not store \(path) (\(said)): a problem on the server's side; tell its operator "
                + "(the server's log names the directory)"
        case .permissionDenied where said.contains("[access] grants"):
            return "\(path): \(said)"  // ferryd's own text names the grant needed and whom to ask
        case .permissionDenied:
            return "the server could not store \(path): \(said) — the server's files or rules forbid it; tell its "
                + "operator (the server's log names the directory)"
        case .noSpace:
            return "the server has no room for \(path): \(said)"
        case .tooLarge:
            return "the server takes no file this large: \(said)"
        case .badPath:
            return "the server refuses the name \(path): \(said)"
        default:
            return "the server refused \(path): \(said)"
        }
    }
}
