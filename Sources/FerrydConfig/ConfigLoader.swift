// Loading: read the file, parse TOML with TOMLKit, then walk the table ourselves against ConfigKeys.all.
//
// Not Codable: TOMLKit's decoder reports a wrong type as a missing key and ignores unknown keys (notes/
// swift-libuv-openssl.md, Pitfall 7), so a typo like `rooot` would pass silently. Walking the TOMLTable lets every
// message name the key, the expected type and what was found.
//
//   text ──TOMLTable(string:)──► table ──every section and key known?──► ConfigKey.read of each (type, bounds, value)
//        ──required keys present?──► validateAcrossKeys (rotation vs cipher limits) ──► DaemonConfig

import Foundation
import TOMLKit
import TOMLPreflight

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DaemonConfig {
    /// A configuration file larger than this is refused before it is read into memory (ours is ~10 KiB with comments).
    static let maxFileBytes = 1 << 20

    /// Reads and validates the configuration file at `path`. Relative paths inside it are resolved against its
    /// directory. Errors carry the file name.
    package static func load(path: String,
                     environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> DaemonConfig {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let fileURL = PathResolution.fileURL(absolute, isDirectory: false)
        do {
            let text = try readText(path: path)
            return try parse(toml: text, baseDirectory: fileURL.deletingLastPathComponent(), environment: environment)
        } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    /// Parses and validates configuration text. `baseDirectory` is what relative paths are resolved against.
    static func parse(toml: String, baseDirectory: URL,
                      environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> DaemonConfig {
        // TOMLKit's parser aborts the process on some malformed headers and arrays (TOMLPreflight): refuse those first.
        if let (line, column) = TOMLPreflight.unparseableTableHeader(in: toml) {
            throw ConfigError(.syntax, key: nil, line: line, column: column, "syntax error at line \(line), column "
                + "\(column): a table header must start with a key, an array's values cannot start with '}'")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            let position = error.source.begin
            throw ConfigError(.syntax, key: nil, line: position.line, column: position.column,
                              "syntax error at line \(position.line), column \(position.column): \(error.description)")
        } catch {
            throw ConfigError(.syntax, key: nil, "syntax error: \(error)")
        }
        let locator = SourceLocator(toml)

        // 1. Nothing unknown: every top-level entry is a known section holding a table of known keys.
        for (section, value) in table {
            guard ConfigKeys.sections.contains(section) else {
                throw value.type == .table ? .unknownSection(section, line: locator.line(section: section))
                    : .unknownKey(section, line: locator.line(section: section))
            }
            guard value.type == .table, let keys = value.table else {
                throw .wrongType(section, expected: "a table ([\(section)])", got: TOMLTypeName(value.type),
                                 line: locator.line(section: section))
            }
            for (name, _) in keys where ConfigKeys.key(section: section, name: name) == nil {
                throw .unknownKey("\(section).\(name)", line: locator.line(section: section, key: name))
            }
        }

        // 2. Every key, in table order: read it when present, else its default (or refuse a missing required key).
        var config = DaemonConfig()
        for key in ConfigKeys.all {
            guard let value = table[key.section]?.table?[key.name] else {
                guard !key.isRequired else { throw .missing(key.path, doc: key.doc) }
                key.applyDefault(&config)
                continue
            }
            let reader = ConfigValueReader(key: key.path, value: value,
                                           line: locator.line(section: key.section, key: key.name),
                                           baseDirectory: baseDirectory, environment: environment)
            try key.read(reader, &config)
        }

        // 3. Rules between keys.
        try ConfigKeys.validateAcrossKeys(config) { path in
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            return locator.line(section: parts[0], key: parts[1])
        }
        return config
    }

    /// The whole file as UTF-8, bounded by `maxFileBytes`. Plain POSIX calls so the error says what the kernel said.
    private static func readText(path: String) throws(ConfigError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable("cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maxFileBytes else {
                throw unreadable("larger than \(maxFileBytes) bytes; is this the right file?")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw unreadable("not valid UTF-8") }
        return text
    }

    private static func unreadable(_ message: String) -> ConfigError { ConfigError(.unreadable, key: nil, message) }
}
