// A string taken as it is written, "" (the default) meaning "not set": for values the daemon hands to another
// library that has its own syntax for them (index.url, a libpq connection string), checked where they are used.
// `shown` is what check-config prints of it: a connection string's password never appears there.
import Foundation

extension ConfigKey {
    static func text(_ section: String, _ name: String, _ field: Field<String>, whenEmpty: String, reloadable: Bool,
                     shown: @escaping @Sendable (String) -> String = { $0 }, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable, typeDescription: "string, or \"\" for \(whenEmpty)",
            bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = "" },
            read: { (reader, config) throws(ConfigError) in config[keyPath: field] = try reader.string() },
            render: { TOMLText.quoted(shown($0[keyPath: field])) },
            compared: { $0[keyPath: field] })
    }
}

enum ConnectionString {
    /// `text` with any password replaced by "***": a URI's `user:password@`, a `password=` keyword or query parameter.
    static func redacted(_ text: String) -> String {
        let patterns = [
            #"(://[^/:@?#]*:)[^@/?#]*(@)"#,                 // postgresql://user:secret@host
            #"((?:^|[\s?&])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)"#,  // password=secret, 'quoted', ?password=...
        ]
        var result = text
        for pattern in patterns {
            guard let expression = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { continue }
            let range = NSRange(result.startIndex..., in: result)
            let template = pattern.hasPrefix("(://") ? "$1***$2" : "$1***"
            result = expression.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }
}
