// Which names the store takes: `<root>/<client identity>/<relative path>` for stored files, `<root>/<staging>/*.part`
// for partial data. Pure name logic: nothing here touches the file system (Store reaches the names it returns through
// directory descriptors, never by path: Store.swift).
//
// Rules for the client's relative path (each failure is its own StorageNameError, safe to send to the client):
//   - not empty, at most 4096 UTF-8 bytes (PATH_MAX; Protocol's Limits.maxPathLength bounds it on the wire too);
//   - no control character anywhere: C0 (U+0000–U+001F), DEL (U+007F) and also C1 (U+0080–U+009F), because those reach
//     terminals and log files as escape sequences (U+009B is a CSI) and no real file name needs them;
//   - no backslash. Decision: refused, not stored. A Windows client that sends "dir\file" means a directory, and would
//     get a file with a backslash in its name; such names also confuse shells, Samba exports and tools that treat "\"
//     as a separator ("..\x"). Refusing is explicit; the client can translate "\" to "/" and retry;
//   - relative (no leading "/"), no trailing "/", no empty component ("a//b"), no "." or ".." component;
//   - every component at most 255 UTF-8 bytes (NAME_MAX);
//   - the first component is not the staging directory's name. Staging lives at `<root>/<staging>`, beside the identity
//     directories, so "<identity>/.staging/x" could not reach it today; the name is still reserved at the top of each
//     client's area so that no layout change (per-client staging) can ever let a client address partial files.
//   - every component follows the Unicode policy (Protocol's NamePolicy): NFC, no invisible or format characters, no
//     space but U+0020 and none at either end, nothing drawn like "/" or "\". A name that breaks it is refused, not
//     rewritten (the client normalises before it sends), so a stored name is always the one the client chose.
// Any other Unicode is fine ("résumé/été.txt") and is stored byte for byte.
//
// All checks work on UTF-8 bytes and Unicode scalars, never on Swift Characters: a "/" followed by a combining mark
// (U+0338) is one Character that is not equal to "/", yet the kernel sees the "/" byte. Splitting by Character would let
// "../\u{338}x" through as one harmless-looking component; splitting by byte sees "..".
//
// The client identity (certificate CN or first subjectAltName, from Protocol) becomes one directory name. Decision:
// refused, not encoded, when it is not a valid single name ("", ".", "..", "/" inside, control characters, backslash,
// over 255 bytes), when it starts with "." (names starting with "." directly under root are the daemon's: staging and
// whatever comes later), or when it equals the staging name. Refusing keeps the on-disk name equal to the identity an
// operator sees in logs and certificates; an encoding would have to be explained and could collide.

import Protocol

/// A stored file's place below the root, every component validated: `<identity>/<directories…>/<name>`.
public struct StoredPath: Equatable, Hashable, Sendable {
    public let identity: String
    /// The directories between the identity's directory and the file, outermost first (may be empty).
    public let directories: [String]
    public let name: String

    /// The path as the client wrote it (relative to its identity's directory), for messages and logs.
    public var relativePath: String { (directories + [name]).joined(separator: "/") }
    /// Every directory from the identity's down to the file's, outermost first.
    var directoryComponents: [String] { [identity] + directories }
}

public struct NameRules: Sendable {
    /// NAME_MAX on Linux.
    public static let maxComponentBytes = 255
    /// PATH_MAX on Linux, for the client's relative path.
    public static let maxPathBytes = Limits.maxPathLength

    /// The staging directory's name directly under the root.
    public let staging: String

    /// `staging` must be a valid single name (the configuration checked it: `storage.staging`).
    public init(staging: String) {
        precondition(Self.validateComponent(staging) == nil, "staging name '\(staging)' was not validated by the configuration")
        self.staging = staging
    }

    /// Where an upload of `relativePath` by `identity` goes, or why it cannot.
    public func storedPath(identity: String, relativePath: String) throws(StorageNameError) -> StoredPath {
        try validateIdentity(identity)
        let names = try Self.validateRelativePath(relativePath, staging: staging)
        return StoredPath(identity: identity, directories: Array(names.dropLast()), name: names[names.count - 1])
    }

    /// `<readable identity>-<hash>.part`, the one name in the staging directory for an upload of `relativePath` by
    /// `identity`: the same across connections and restarts, so a new Open of the file finds the partial an interrupted
    /// one left (PartialJobs), and two uploads of one file cannot both write (PartialIndex answers the second `busy`).
    /// - The readable part is the identity reduced to [A-Za-z0-9_-] (others become "_"), at most 32 characters, so an
    ///   operator can tell whose partial file it is. It is never trusted as a name: any identity, even one `storedPath`
    ///   would refuse, gives a safe name here.
    /// - The hash (first 16 bytes of SHA-256 over identity, a NUL, and the path; hex) tells files and identities apart;
    ///   the partial's record names both in full, and a resume checks them.
    /// The name is at most 32 + 1 + 32 + 5 = 70 bytes.
    public func partName(identity: String, relativePath: String) -> String {
        let readable = String(identity.unicodeScalars.prefix(32).map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-": Character(scalar)
            default: "_"
            }
        })
        let hash = hex(Array(DigestContext.hash(.sha256, Array(identity.utf8) + [0] + Array(relativePath.utf8)).prefix(16)))
        return "\(readable.isEmpty ? "_" : readable)-\(hash)\(Self.partSuffix)"
    }

    public static let partSuffix = ".part"

    // MARK: Validation

    /// The identity as a directory name under root.
    public func validateIdentity(_ identity: String) throws(StorageNameError) {
        if let problem = Self.validateComponent(identity) { throw .invalidIdentity(problem) }
        if identity.utf8.first == UInt8(ascii: ".") { throw .invalidIdentity(.leadingDot) }
        if Array(identity.utf8) == Array(staging.utf8) { throw .invalidIdentity(.reservedName(staging)) }
    }

    /// Checks the client's relative path and returns its components (at least one). See the rules at the top.
    /// The components of a path checked before (`validateRelativePath`; an index row's), split at the byte "/" —
    /// never at Swift's Character "/", which a following combining mark would hide (its "/" byte still separating
    /// components for the kernel).
    public static func components(of path: String) -> [String] {
        path.utf8.split(separator: slash).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func validateRelativePath(_ path: String, staging: String) throws(StorageNameError) -> [String] {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= maxPathBytes else { throw .pathTooLong(bytes: bytes.count) }
        try checkCharacters(path)
        guard bytes.first != slash else { throw .absolute }
        guard bytes.last != slash else { throw .trailingSlash }
        let parts = bytes.split(separator: slash, omittingEmptySubsequences: false)
        for (offset, part) in parts.enumerated() {
            let index = offset + 1
            guard !part.isEmpty else { throw .emptyComponent(index: index) }
            guard !part.elementsEqual(dot) else { throw .dotComponent(index: index) }
            guard !part.elementsEqual(dotDot) else { throw .dotDotComponent(index: index) }
            guard part.count <= maxComponentBytes else { throw .componentTooLong(index: index, bytes: part.count) }
            if let problem = NamePolicy.problem(in: String(decoding: part, as: UTF8.self)) {
                throw .unicode(problem, index: index)
            }
        }
        guard !parts[0].elementsEqual(staging.utf8) else { throw .reservedName(staging) }
        // Splitting UTF-8 at the ASCII byte "/" cannot cut a multi-byte sequence, so each part is valid UTF-8.
        return parts.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Checks one name (a directory or file name, the identity, `storage.staging`); nil when it is fine.
    public static func validateComponent(_ name: String) -> StorageNameError? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { return .empty }
        do { try checkCharacters(name) } catch { return error }
        if bytes.contains(slash) { return .separatorInName }
        if bytes.elementsEqual(dot) { return .dotComponent(index: 1) }
        if bytes.elementsEqual(dotDot) { return .dotDotComponent(index: 1) }
        if bytes.count > maxComponentBytes { return .componentTooLong(index: 1, bytes: bytes.count) }
        if let problem = NamePolicy.problem(in: name) { return .unicode(problem, index: 1) }
        return nil
    }

    /// Control characters (C0, DEL, C1) and backslashes, reported at their UTF-8 byte offset.
    private static func checkCharacters(_ text: String) throws(StorageNameError) {
        var offset = 0
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                throw .controlCharacter(scalar: scalar.value, byteOffset: offset)
            }
            if scalar == "\\" { throw .backslash(byteOffset: offset) }
            offset += UTF8.width(scalar)
        }
    }

    private static let slash = UInt8(ascii: "/")
    private static let dot: [UInt8] = [UInt8(ascii: ".")]
    private static let dotDot: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: ".")]
}
