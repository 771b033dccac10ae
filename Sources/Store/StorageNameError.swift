// Why an upload's name (or the client identity used as its directory) was refused.
//
// Every message is safe to send to the client: it describes the client's own input by rule, position and size, never
// echoes raw bytes (a control character could reach the client's terminal or our logs) and never shows server paths.

import Protocol

public enum StorageNameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path is "".
    case empty
    /// Longer than `NameRules.maxPathBytes` UTF-8 bytes.
    case pathTooLong(bytes: Int)
    /// A control character (C0 U+0000–U+001F, DEL U+007F, or C1 U+0080–U+009F) at this UTF-8 byte offset.
    case controlCharacter(scalar: UInt32, byteOffset: Int)
    /// A backslash, at this UTF-8 byte offset. Refused rather than stored (see NameRules).
    case backslash(byteOffset: Int)
    /// Starts with "/".
    case absolute
    /// Ends with "/" (names a directory, not a file).
    case trailingSlash
    /// "a//b": an empty component (1-based position).
    case emptyComponent(index: Int)
    /// A "." component.
    case dotComponent(index: Int)
    /// A ".." component.
    case dotDotComponent(index: Int)
    /// A component longer than `NameRules.maxComponentBytes` UTF-8 bytes.
    case componentTooLong(index: Int, bytes: Int)
    /// The first component is the staging directory's name, which is reserved.
    case reservedName(String)
    /// A "/" inside what must be a single name (the identity, the staging directory).
    case separatorInName
    /// A single name that starts with "."; directly under the storage root such names belong to the daemon.
    case leadingDot
    /// A component that breaks the Unicode policy (NamePolicy: not NFC, invisible characters, odd spaces, a
    /// character drawn like a separator), 1-based.
    case unicode(NamePolicy.Problem, index: Int)
    /// The client's identity cannot be a directory name; the wrapped error says why.
    indirect case invalidIdentity(StorageNameError)

    public var description: String {
        switch self {
        case .empty: "the path is empty"
        case .pathTooLong(let bytes):
            "the path is \(bytes) bytes long in UTF-8; the limit is \(NameRules.maxPathBytes)"
        case .controlCharacter(let scalar, let offset):
            "the path contains a control character (U+\(Self.hex(scalar))) at byte \(offset)"
        case .backslash(let offset):
            "the path contains a backslash at byte \(offset); separate directories with '/'"
        case .absolute: "the path must be relative: it starts with '/'"
        case .trailingSlash: "the path ends with '/': name a file, not a directory"
        case .emptyComponent(let index): "component \(index) of the path is empty ('//')"
        case .dotComponent(let index): "component \(index) of the path is '.'"
        case .dotDotComponent(let index): "component \(index) of the path is '..'"
        case .componentTooLong(let index, let bytes):
            "component \(index) of the path is \(bytes) bytes long in UTF-8; the limit is \(NameRules.maxComponentBytes)"
        case .reservedName(let name): "'\(name)' is reserved at the top level"
        case .unicode(let problem, let index): "component \(index) of the path \(problem)"
        case .separatorInName, .leadingDot: "the name \(nameProblem)"
        case .invalidIdentity(let reason):
            "the certificate identity cannot be used as a directory name: \(reason.nameProblem)"
        }
    }

    /// The problem phrased for a single name ("it contains '/'"), for the identity and `storage.staging`.
    public var nameProblem: String {
        switch self {
        case .empty: "it is empty"
        case .pathTooLong(let bytes), .componentTooLong(_, let bytes):
            "it is \(bytes) bytes long in UTF-8; the limit is \(NameRules.maxComponentBytes)"
        case .controlCharacter(let scalar, let offset):
            "it contains a control character (U+\(Self.hex(scalar))) at byte \(offset)"
        case .backslash: "it contains a backslash"
        case .absolute, .trailingSlash, .emptyComponent, .separatorInName: "it contains '/'"
        case .dotComponent: "it is '.'"
        case .dotDotComponent: "it is '..'"
        case .reservedName(let name): "'\(name)' is reserved"
        case .leadingDot: "it starts with '.', which is reserved for the daemon's own directories"
        case .unicode(let problem, _): "it \(problem)"
        case .invalidIdentity(let reason): reason.nameProblem
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
