// How path values in the configuration become absolute file URLs. Pure string work: nothing is opened or stat'ed here
// (check-config and the daemon's start-up open the files and report what is missing).

import Foundation

package enum PathResolution {
    enum Problem: Error, Equatable, CustomStringConvertible {
        case empty
        case tilde
        case controlCharacter

        var description: String {
            switch self {
            case .empty: "must not be empty"
            case .tilde: "starts with '~', which is not expanded; write the full path"
            case .controlCharacter: "contains a control character"
            }
        }
    }

    /// Resolves `text`:
    /// - with `credentialsDirectory` set and non-empty, a bare file name (no "/") is taken from that directory
    ///   (systemd LoadCredential= puts secrets there, readable only by the service);
    /// - else a relative path is resolved against `base` (the configuration file's directory), so a config and
    ///   the files next to it can move together;
    /// - "." and ".." components are then removed lexically. That is what an operator means by them; a symlinked
    ///   directory followed by ".." could differ, which is why check-config prints the result.
    static func resolve(_ text: String, against base: URL, isDirectory: Bool,
                        credentialsDirectory: String? = nil) -> Result<URL, Problem> {
        guard !text.isEmpty else { return .failure(.empty) }
        guard !text.hasPrefix("~") else { return .failure(.tilde) }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.controlCharacter)
        }
        let absolute: String
        if let credentialsDirectory, !credentialsDirectory.isEmpty, !text.utf8.contains(UInt8(ascii: "/")) {
            let directory = credentialsDirectory.hasPrefix("/") ? credentialsDirectory : join(base.path, credentialsDirectory)
            absolute = join(directory, text)
        } else if text.utf8.first == UInt8(ascii: "/") {
            absolute = text
        } else {
            absolute = join(base.path, text)
        }
        return .success(fileURL(absolute, isDirectory: isDirectory))
    }

    /// A file URL for an absolute path, normalised ("//", "." and ".." removed, no trailing "/"), built without
    /// touching the file system (URL(fileURLWithPath:) alone would stat the path to guess whether it is a directory).
    static func fileURL(_ absolutePath: String, isDirectory: Bool) -> URL {
        precondition(absolutePath.hasPrefix("/"), "fileURL needs an absolute path, got \(absolutePath)")
        return URL(fileURLWithPath: normalise(absolutePath), isDirectory: isDirectory)
    }

    /// "/a/./b//c/../d/" → "/a/b/d". ".." above the root stays at the root, as the kernel does.
    package static func normalise(_ absolutePath: String) -> String {
        // Bytes, not Characters: "/" followed by a combining mark is one Character but still a separator to the kernel.
        var parts: [String] = []
        for part in absolutePath.utf8.split(separator: UInt8(ascii: "/")) {
            let name = String(decoding: part, as: UTF8.self)
            if part.elementsEqual(".".utf8) { continue }
            if part.elementsEqual("..".utf8) { _ = parts.popLast(); continue }
            parts.append(name)
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
