// Why a configuration was refused. One error per load: the first problem found, in the order of the key table.
//
// The message always names the key in the form the operator writes it ('limits.max_sessions'), so it can be found
// with grep; the line is added when the loader can locate it (TOMLKit 0.6.0 keeps no source positions for values,
// so SourceLocator finds them in the text: see there for its limits).

import TOMLKit

package struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        /// The file could not be read, or is not UTF-8, or is too large.
        case unreadable
        /// TOML syntax (from toml++, with its line and column).
        case syntax
        /// A section or key that is not in the key table (a typo would otherwise pass silently).
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// The TOML type does not match the key's type.
        case wrongType
        /// A number outside the key's bounds.
        case outOfBounds
        /// The right type, but a value the key does not accept (an unknown cipher, a bad address…).
        case invalidValue
    }

    var kind: Kind
    /// The dotted key ("storage.root") or section ("storage") the error is about, if any.
    var key: String?
    var line: Int?
    var column: Int?
    /// The configuration file, when loaded from one.
    var file: String?
    /// The message without location.
    var message: String

    init(_ kind: Kind, key: String?, line: Int? = nil, column: Int? = nil, _ message: String) {
        self.kind = kind
        self.key = key
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String {
        var text = file.map { "\($0): " } ?? ""
        text += message
        if kind != .syntax, let line { text += " (line \(line))" }
        return text
    }

    // MARK: Constructors, so every message of a kind reads the same.

    @inline(never)
    static func unknownKey(_ key: String, line: Int?) -> ConfigError {
        ConfigError(.unknownKey, key: key, line: line, "unknown key '\(key)'")
    }

    @inline(never)
    static func unknownSection(_ section: String, line: Int?) -> ConfigError {
        let known = ConfigKeys.sections.map { "[\($0)]" }.joined(separator: ", ")
        return ConfigError(.unknownKey, key: section, line: line, "unknown section '\(section)' (known: \(known))")
    }

    @inline(never)
    static func wrongType(_ key: String, expected: String, got: TOMLTypeName, line: Int?) -> ConfigError {
        ConfigError(.wrongType, key: key, line: line, "'\(key)' must be \(expected), got \(got.withArticle)")
    }

    @inline(never)
    static func outOfBounds<T: BinaryInteger>(_ key: String, min: T, max: T, got: String, line: Int?) -> ConfigError {
        ConfigError(.outOfBounds, key: key, line: line, "'\(key)' must be between \(min) and \(max), got \(got)")
    }

    @inline(never)
    static func invalid(_ key: String, _ reason: String, line: Int?) -> ConfigError {
        ConfigError(.invalidValue, key: key, line: line, "'\(key)' \(reason)")
    }

    @inline(never)
    static func missing(_ key: String, doc: String) -> ConfigError {
        ConfigError(.missingKey, key: key, "missing required key '\(key)' (\(doc))")
    }
}

/// A TOML type as it appears in messages ("got a string"), in TOML's own words (TOMLType says "bool").
struct TOMLTypeName: Equatable, Sendable {
    let name: String

    init(_ type: TOMLType) {
        switch type {
        case .table: name = "table"
        case .array: name = "array"
        case .string: name = "string"
        case .int: name = "integer"
        case .double: name = "floating-point number"
        case .bool: name = "boolean"
        case .date: name = "date"
        case .time: name = "time"
        case .dateTime: name = "date-time"
        }
    }

    var withArticle: String { (name.first.map { "aeiou".contains($0) } ?? false ? "an " : "a ") + name }
}
