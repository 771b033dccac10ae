// Kinds of key that hold lists an operator extends over time: file paths (CRLs) and checked strings (deny lists).
// Each list may be empty, and a single string is taken as a list of one (`crl = "ca.crl"`), as operators write it.

import Foundation

extension ConfigKey {
    /// Files, each resolved against the configuration file's directory like `path` keys; none by default.
    static func paths(_ section: String, _ name: String, _ field: Field<[URL]>, reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string or array of strings (file paths)", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = [] },
            read: { (reader, config) throws(ConfigError) in
                var urls: [URL] = []
                for text in try reader.stringOrStrings() {
                    switch PathResolution.resolve(text, against: reader.baseDirectory, isDirectory: false,
                                                  credentialsDirectory: nil) {
                    case .success(let url):
                        guard !urls.contains(url) else { throw reader.invalid("lists \"\(text)\" twice") }
                        urls.append(url)
                    case .failure(let reason):
                        throw reader.invalid("entry \"\(text)\": \(reason.description)")
                    }
                }
                config[keyPath: field] = urls
            },
            render: { TOMLText.array($0[keyPath: field].map(\.path)) })
    }

    /// Strings, each checked (and normalised) by `entry`, which returns the value to keep or throws why not; none by
    /// default, no repeats unless `allowsRepeats` (a list whose positions mean something).
    static func strings(_ section: String, _ name: String, _ field: Field<[String]>, entryDescription: String,
                        reloadable: Bool, doc: String, allowsRepeats: Bool = false,
                        entry: @escaping @Sendable (String) -> Result<String, EntryProblem>) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string or array of strings (\(entryDescription))", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = [] },
            read: { (reader, config) throws(ConfigError) in
                var values: [String] = []
                for text in try reader.stringOrStrings() {
                    switch entry(text) {
                    case .success(let value):
                        guard allowsRepeats || !values.contains(value) else { throw reader.invalid("lists \"\(text)\" twice") }
                        values.append(value)
                    case .failure(let problem):
                        throw reader.invalid("entry \(TOMLText.quoted(text)) \(problem.reason)")
                    }
                }
                config[keyPath: field] = values
            },
            render: { TOMLText.array($0[keyPath: field]) })
    }

    struct EntryProblem: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

extension ConfigValueReader {
    /// An array of strings, or one string as a list of one.
    func stringOrStrings() throws(ConfigError) -> [String] {
        if value.type == .string, let text = value.string { return [text] }
        guard value.type == .array else { throw wrongType("a string or an array of strings") }
        return try strings()
    }
}
