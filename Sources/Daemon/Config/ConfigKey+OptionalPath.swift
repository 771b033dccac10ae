// A file path that may be left unset: "" (the default) means none. For files that only some setups need, such as the
// passphrase of an encrypted private key.

import Foundation

extension ConfigKey {
    /// A file path resolved like `path` keys (with `credential`, a bare file name comes from $CREDENTIALS_DIRECTORY
    /// when that is set), or "" for none.
    static func optionalPath(_ section: String, _ name: String, _ field: Field<URL?>, credential: Bool = false,
                             reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string (file path), or \"\" for none", bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = nil },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (a path, or \"\" for none)")
                guard !text.isEmpty else {
                    config[keyPath: field] = nil
                    return
                }
                let credentials = credential ? reader.environment["CREDENTIALS_DIRECTORY"] : nil
                switch PathResolution.resolve(text, against: reader.baseDirectory, isDirectory: false,
                                              credentialsDirectory: credentials) {
                case .success(let url): config[keyPath: field] = url
                case .failure(let reason): throw reader.invalid(reason.description)
                }
            },
            render: { TOMLText.quoted($0[keyPath: field]?.path ?? "") })
    }
}
