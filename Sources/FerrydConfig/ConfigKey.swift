// One configuration key: its place in the file, its type, bounds, default, doc line and whether SIGHUP can change it.
//
// Modelled on redis config.c `standardConfig` (name, flags, a pointer to the field, default, min, max, type-specific
// get/set through a shared interface): here the field is a key path into DaemonConfig, and each kind of key (integer,
// byte size, path, …) is a constructor below that builds the read / render / default closures from that key path.
// The table itself is ConfigKeys.all.

import Foundation
import Store
import Protocol
import TOMLKit
import Units

struct ConfigKey: Sendable {
    let section: String
    let name: String
    /// One line, shown above the key by `renderEffective()` and used in "missing required key" messages.
    let doc: String
    /// Whether a SIGHUP reload can apply a new value (false: the change waits for a restart).
    let reloadable: Bool
    /// The type as documented: "integer seconds", "array of strings", …
    let typeDescription: String
    /// Inclusive bounds of integer-valued keys (the byte sizes in bytes); nil for the others.
    let bounds: ClosedRange<Int64>?
    /// The bounds as shown in check-config output; nil when there is nothing useful to show.
    let boundsText: String?
    /// Required keys have no default and must appear in the file.
    let isRequired: Bool

    let applyDefault: @Sendable (inout DaemonConfig) -> Void
    /// Reads the TOML value into the field, or throws naming the key.
    let read: @Sendable (ConfigValueReader, inout DaemonConfig) throws(ConfigError) -> Void
    /// The field's value as a TOML literal; `read` of it gives the same value back (but for what `shown` hides).
    let render: @Sendable (DaemonConfig) -> String
    /// The whole value, where `render` hides part of it (index.url's password): what a reload compares, so that a
    /// change of the hidden part is a change too.
    var compared: (@Sendable (DaemonConfig) -> String)? = nil

    /// What `restartRequiredChanges` and `changedKeys` compare between two configurations.
    func value(_ config: DaemonConfig) -> String { (compared ?? render)(config) }

    /// "storage.root": the name in messages, in check-config output and in `restartRequiredChanges`.
    var path: String { "\(section).\(name)" }

    /// The default as a TOML literal, nil for required keys.
    var defaultText: String? {
        guard !isRequired else { return nil }
        var config = DaemonConfig()
        applyDefault(&config)
        return render(config)
    }

    /// "integer seconds, 1…300, default 10; reloadable" — the facts a reader of check-config output needs.
    var summary: String {
        var parts = [typeDescription]
        if let boundsText { parts.append(boundsText) }
        parts.append(defaultText.map { "default \($0)" } ?? "required")
        return parts.joined(separator: ", ") + (reloadable ? "; reloadable" : "; restart to change")
    }
}

/// Type-checked access to one TOML value, with errors that name the key and its line.
struct ConfigValueReader {
    let key: String
    let value: any TOMLValueConvertible
    let line: Int?
    let baseDirectory: URL
    let environment: [String: String]

    var typeName: TOMLTypeName { TOMLTypeName(value.type) }

    func wrongType(_ expected: String) -> ConfigError {
        .wrongType(key, expected: expected, got: typeName, line: line)
    }

    func invalid(_ reason: String) -> ConfigError { .invalid(key, reason, line: line) }

    func integer(expected: String = "an integer") throws(ConfigError) -> Int64 {
        guard value.type == .int, let number = value.int else { throw wrongType(expected) }
        return Int64(number)
    }

    func string(expected: String = "a string") throws(ConfigError) -> String {
        guard value.type == .string, let text = value.string else { throw wrongType(expected) }
        return text
    }

    func boolean() throws(ConfigError) -> Bool {
        guard value.type == .bool, let flag = value.bool else { throw wrongType("a boolean (true or false)") }
        return flag
    }

    /// An array whose entries are all strings; a non-string entry is named by its position (1-based).
    func strings() throws(ConfigError) -> [String] {
        guard value.type == .array, let array = value.array else { throw wrongType("an array of strings") }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard element.type == .string, let text = element.string else {
                throw ConfigError(.wrongType, key: key, line: line,
                                  "'\(key)' entry \(index + 1) must be a string, got "
                                      + TOMLTypeName(element.type).withArticle)
            }
            result.append(text)
        }
        return result
    }
}

// MARK: - Kinds of key

extension ConfigKey {
    typealias Field<Value> = WritableKeyPath<DaemonConfig, Value> & Sendable

    /// An integer within [min, max]. `unit` ("seconds") is documentation only.
    static func integer(_ section: String, _ name: String, _ field: Field<Int>, default defaultValue: Int,
                        min: Int, max: Int, unit: String? = nil, reloadable: Bool, doc: String) -> ConfigKey {
        precondition((min...max).contains(defaultValue), "\(section).\(name): default outside its bounds")
        let expected = unit.map { "an integer (\($0))" } ?? "an integer"
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: unit.map { "integer \($0)" } ?? "integer",
            bounds: Int64(min)...Int64(max), boundsText: "\(min)…\(max)", isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in
                let number = try reader.integer(expected: expected)
                guard (Int64(min)...Int64(max)).contains(number) else {
                    throw .outOfBounds(reader.key, min: min, max: max, got: "\(number)", line: reader.line)
                }
                config[keyPath: field] = Int(number)
            },
            render: { "\($0[keyPath: field])" })
    }

    /// A byte count: an integer, or a string with a unit (ByteSize). Rendered in the shortest exact unit.
    static func byteSize(_ section: String, _ name: String, _ field: Field<UInt64>, default defaultValue: UInt64,
                         max: UInt64, reloadable: Bool, doc: String) -> ConfigKey {
        precondition(defaultValue <= max && max <= UInt64(Int64.max), "\(section).\(name): bad bounds")
        let expected = "an integer (bytes) or a string with a unit such as \"64MiB\""
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "byte size", bounds: 0...Int64(max),
            boundsText: max == UInt64(Int64.max) ? nil : "0…\(ByteSize.format(max))", isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in
                let bytes: UInt64
                switch reader.value.type {
                case .int:
                    let number = try reader.integer(expected: expected)
                    guard number >= 0 else {
                        throw .outOfBounds(reader.key, min: 0, max: max, got: "\(number)", line: reader.line)
                    }
                    bytes = UInt64(number)
                case .string:
                    let text = try reader.string(expected: expected)
                    do { bytes = try ByteSize.parse(text) } catch { throw reader.invalid("must be \(expected): \(error)") }
                default:
                    throw reader.wrongType(expected)
                }
                guard bytes <= max else {
                    throw .outOfBounds(reader.key, min: 0, max: max, got: "\(bytes)", line: reader.line)
                }
                config[keyPath: field] = bytes
            },
            render: { TOMLText.byteSize($0[keyPath: field]) })
    }

    static func boolean(_ section: String, _ name: String, _ field: Field<Bool>, default defaultValue: Bool,
                        reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable, typeDescription: "boolean",
            bounds: nil, boundsText: nil,
            isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in config[keyPath: field] = try reader.boolean() },
            render: { $0[keyPath: field] ? "true" : "false" })
    }

    /// One of a fixed set of words (an enum with String raw values).
    static func choice<Word: RawRepresentable & CaseIterable & Sendable>(
        _ section: String, _ name: String, _ field: Field<Word>, default defaultValue: Word, reloadable: Bool, doc: String
    ) -> ConfigKey where Word.RawValue == String {
        let words = Word.allCases.map(\.rawValue)
        let list = words.joined(separator: "|")
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable, typeDescription: "string: \(list)",
            bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (\(list))")
                guard let word = Word(rawValue: text) else {
                    throw reader.invalid("must be one of \(words.joined(separator: ", ")), got \"\(text)\"")
                }
                config[keyPath: field] = word
            },
            render: { TOMLText.quoted($0[keyPath: field].rawValue) })
    }

    /// A file or directory path, resolved against the configuration file's directory. With `credential`, a bare file
    /// name is looked up in $CREDENTIALS_DIRECTORY when that is set (systemd LoadCredential=).
    static func path(_ section: String, _ name: String, _ field: Field<URL>, default defaultValue: String?,
                     isDirectory: Bool, credential: Bool = false, reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: isDirectory ? "string (directory path)" : "string (file path)", bounds: nil, boundsText: nil,
            isRequired: defaultValue == nil,
            applyDefault: { config in
                if let defaultValue { config[keyPath: field] = PathResolution.fileURL(defaultValue, isDirectory: isDirectory) }
            },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (a path)")
                let credentials = credential ? reader.environment["CREDENTIALS_DIRECTORY"] : nil
                switch PathResolution.resolve(text, against: reader.baseDirectory, isDirectory: isDirectory,
                                              credentialsDirectory: credentials) {
                case .success(let url): config[keyPath: field] = url
                case .failure(let reason): throw reader.invalid(reason.description)
                }
            },
            render: { TOMLText.quoted($0[keyPath: field].path) })
    }

    /// A single directory name (no "/", not "." or ".."): the same rules as one component of an uploaded path.
    static func component(_ section: String, _ name: String, _ field: Field<String>, default defaultValue: String,
                          reloadable: Bool, doc: String) -> ConfigKey {
        precondition(NameRules.validateComponent(defaultValue) == nil, "\(section).\(name): bad default")
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string (one directory name)", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (a directory name)")
                if let problem = NameRules.validateComponent(text) {
                    throw reader.invalid("must be a single directory name: \(problem.nameProblem)")
                }
                config[keyPath: field] = text
            },
            render: { TOMLText.quoted($0[keyPath: field]) })
    }

    /// A non-empty list of distinct listen addresses.
    static func listenAddresses(_ section: String, _ name: String, _ field: Field<[ListenAddress]>,
                                default defaultValue: [String], reloadable: Bool, doc: String) -> ConfigKey {
        let defaults = defaultValue.map { try! ListenAddress.parse($0).get() }  // our constant: a bad one is a bug
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "array of \"host:port\" strings", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = defaults },
            read: { (reader, config) throws(ConfigError) in
                let texts = try reader.strings()
                guard !texts.isEmpty else { throw reader.invalid("must list at least one address") }
                var addresses: [ListenAddress] = []
                for text in texts {
                    switch ListenAddress.parse(text) {
                    case .success(let address):
                        guard !addresses.contains(address) else { throw reader.invalid("lists \"\(text)\" twice") }
                        addresses.append(address)
                    case .failure(let reason):
                        throw reader.invalid("entry \"\(text)\" \(reason); expected \(ListenAddress.expectedForm)")
                    }
                }
                config[keyPath: field] = addresses
            },
            render: { TOMLText.array($0[keyPath: field].map(\.description)) })
    }

    /// One listen address, or "" for none.
    static func optionalListenAddress(_ section: String, _ name: String, _ field: Field<ListenAddress?>,
                                      reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string: \"host:port\", or \"\" for off", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = nil },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (\"host:port\", or \"\" for off)")
                guard !text.isEmpty else {
                    config[keyPath: field] = nil
                    return
                }
                switch ListenAddress.parse(text) {
                case .success(let address): config[keyPath: field] = address
                case .failure(let reason):
                    throw reader.invalid("\"\(text)\" \(reason); expected \(ListenAddress.expectedForm) or \"\"")
                }
            },
            render: { TOMLText.quoted($0[keyPath: field]?.description ?? "") })
    }

    /// A non-empty list of distinct algorithm names from Protocol (CipherSuite, KeyExchangeGroup, …), in preference order.
    static func algorithms<Algorithm: NamedAlgorithm & Hashable>(
        _ section: String, _ name: String, _ field: Field<[Algorithm]>, default defaultValue: [Algorithm],
        reloadable: Bool, doc: String
    ) -> ConfigKey {
        let known = Algorithm.allCases.map(\.name).joined(separator: ", ")
        return ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "array of strings from: \(known)", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = defaultValue },
            read: { (reader, config) throws(ConfigError) in
                let names = try reader.strings()
                guard !names.isEmpty else { throw reader.invalid("must list at least one of: \(known)") }
                var list: [Algorithm] = []
                for name in names {
                    guard let algorithm = Algorithm(name: name) else {  // case-insensitive, as Protocol parses names
                        throw reader.invalid("has unknown entry \"\(name)\"; known: \(known)")
                    }
                    guard !list.contains(algorithm) else { throw reader.invalid("lists \"\(name)\" twice") }
                    list.append(algorithm)
                }
                config[keyPath: field] = list
            },
            render: { TOMLText.array($0[keyPath: field].map(\.name)) })
    }
}
