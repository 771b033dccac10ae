// Finding, reading and parsing the client configuration file, and the errors that name the file and the key.
// The keys themselves are declared in ClientSettings.swift.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TOMLKit
import TOMLPreflight

// MARK: - Loading

extension ClientSettings {
    /// The file is read whole; anything larger than this is not a client configuration.
    static let maximumFileSize = 64 * 1024

    /// Loads `path`, or the default location when nil. A missing default file gives all defaults; a missing explicit
    /// file is an error.
    static func load(path: String?) throws(ClientSettingsError) -> ClientSettings {
        try load(path: path, environment: ProcessInfo.processInfo.environment)
    }

    /// `load(path:)` with the environment (HOME, XDG_CONFIG_HOME) passed in, for tests.
    static func load(path: String?, environment: [String: String]) throws(ClientSettingsError) -> ClientSettings {
        let home = homeDirectory(environment)
        let filePath: String
        let explicit = path != nil
        if let path {
            guard !path.isEmpty else { throw ClientSettingsError(.unreadable, path: path, key: nil, "empty path") }
            filePath = path == "~" || path.hasPrefix("~/") ? (home.map { $0 + path.dropFirst() } ?? path) : path
        } else {
            guard let defaultPath = defaultPath(environment) else { return ClientSettings() }
            filePath = defaultPath
        }
        let absolute = URL(fileURLWithPath: filePath).standardizedFileURL.path
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: absolute)
            if let size = attributes[.size] as? NSNumber, size.intValue > maximumFileSize {
                throw ClientSettingsError(.unreadable, path: absolute, key: nil, "larger than \(maximumFileSize) bytes")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: absolute))
        } catch let error as ClientSettingsError {
            throw error
        } catch {
            if !FileManager.default.fileExists(atPath: absolute) {
                guard explicit else { return ClientSettings() }
                throw ClientSettingsError(.missingFile, path: absolute, key: nil, "no such file")
            }
            throw ClientSettingsError(.unreadable, path: absolute, key: nil, "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ClientSettingsError(.syntax, path: absolute, key: nil, "not valid UTF-8 (TOML files are UTF-8)")
        }
        let context = LoadContext(source: absolute, directory: parentDirectory(of: absolute), home: home)
        return try parse(text, context: context)
    }

    /// Parses TOML `text`; `context` says where it came from, for messages and relative paths.
    static func parse(_ text: String, context: LoadContext) throws(ClientSettingsError) -> ClientSettings {
        // TOMLKit's parser aborts the process on some malformed headers and arrays (TOMLPreflight): refuse those first.
        if let (line, column) = TOMLPreflight.unparseableTableHeader(in: text) {
            throw ClientSettingsError(.syntax, path: "\(context.source):\(line):\(column)", key: nil,
                                      "a table header must start with a key, an array's values cannot start with '}'")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ClientSettingsError(.syntax, path: "\(context.source):\(error.source.begin.line):\(error.source.begin.column)",
                                      key: nil, error.description)
        } catch {
            throw ClientSettingsError(.syntax, path: context.source, key: nil, "\(error)")
        }
        var settings = ClientSettings()
        settings.sourcePath = context.source
        for name in table.keys {
            guard let key = keys.first(where: { $0.name == name }) else {
                throw ClientSettingsError(.unknownKey, path: context.source, key: name, unknownKeyHint(name))
            }
            guard let value = table[name] else { continue }
            try key.apply(value, to: &settings, context: context)
        }
        return settings
    }

    /// Where a configuration file sits and whose home "~" means.
    struct LoadContext: Sendable {
        /// The file, for messages ("<test>" when parsing a string).
        var source: String
        /// The directory relative paths are resolved against.
        var directory: String
        /// $HOME, or nil when unknown ("~" is then an error).
        var home: String?

        /// "~" and "~/…" expanded, then a relative path made absolute against `directory`, lexically normalised.
        func resolvePath(_ path: String) throws(ClientSettingsError) -> String {
            guard !path.isEmpty else { throw ClientSettingsError(.badValue, path: source, key: nil, "empty path") }
            guard !path.utf8.contains(0) else { throw ClientSettingsError(.badValue, path: source, key: nil, "path contains NUL") }
            var expanded = path
            if path == "~" || path.hasPrefix("~/") {
                guard let home else {
                    throw ClientSettingsError(.badValue, path: source, key: nil, "cannot expand \"~\": HOME is not set")
                }
                expanded = home + path.dropFirst()
            } else if path.hasPrefix("~") {
                throw ClientSettingsError(.badValue, path: source, key: nil,
                                          "\"\(printable(path))\": only \"~/\" (your own home) is expanded, not ~user")
            }
            let base = URL(fileURLWithPath: directory, isDirectory: true)
            return URL(fileURLWithPath: expanded, relativeTo: base).standardizedFileURL.path
        }
    }

    /// $XDG_CONFIG_HOME/ferry/client.toml (when absolute), else $HOME/.config/ferry/client.toml; nil without a home.
    static func defaultPath(_ environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/ferry/client.toml" }
        return homeDirectory(environment).map { $0 + "/.config/ferry/client.toml" }
    }

    /// $HOME if set, else the password database's entry for this user.
    static func homeDirectory(_ environment: [String: String]) -> String? {
        if let home = environment["HOME"], !home.isEmpty { return home }
        guard let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir else { return nil }
        let home = String(cString: directory)
        return home.isEmpty ? nil : home
    }

    /// "unknown key; did you mean …?" for typos, separators and abbreviations.
    private static func unknownKeyHint(_ name: String) -> String {
        let normalized = name.lowercased().replacingOccurrences(of: "-", with: "_")
        let known = keys.map(\.name)
        // An abbreviation ("cert") is a stronger hint than a short key a few edits away ("crl").
        let suggestion = known.first { $0 == normalized }
            ?? known.first { normalized.count >= 3 && $0.hasPrefix(normalized) }
            ?? known.first { editDistance($0, normalized) <= 2 }
            ?? known.first { normalized.count >= 2 && $0.hasPrefix(normalized) }
        let list = known.joined(separator: ", ")
        if let suggestion { return "unknown key (did you mean \"\(suggestion)\"?); known keys: \(list)" }
        return "unknown key; known keys: \(list)"
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

// MARK: - Errors

/// A configuration error, naming the file and the key.
struct ClientSettingsError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable, Sendable { case missingFile, unreadable, syntax, unknownKey, wrongType, badValue }

    let kind: Kind
    /// The configuration file (with ":line:column" for syntax errors), when known.
    let path: String?
    /// The offending key, when there is one.
    let key: String?
    let message: String

    init(_ kind: Kind, path: String?, key: String?, _ message: String) {
        self.kind = kind
        self.path = path
        self.key = key
        self.message = message
    }

    var description: String {
        var text = ""
        if let path { text += path + ": " }
        if let key { text += "key \"\(printable(key))\": " }
        return text + message
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind && lhs.key == rhs.key }
}
