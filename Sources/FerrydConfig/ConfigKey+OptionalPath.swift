// A file path that may be left out: "" (the default) means "not set". For files only some setups need (the
// passphrase of an encrypted private key), or that stand in for another key's file when set (identity.server_ca,
// else identity.client_ca). Resolved like every other path, against the configuration file's directory; nothing is
// opened here (DaemonRuntime reads the file).

import Foundation

extension ConfigKey {
    /// A file path resolved like `path` keys (with `credential`, a bare file name comes from $CREDENTIALS_DIRECTORY
    /// when that is set), or "" for none; `whenEmpty` says what "" means, for the documentation and messages.
    static func optionalPath(_ section: String, _ name: String, _ field: Field<URL?>, whenEmpty: String = "none",
                             credential: Bool = false, reloadable: Bool, doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable,
            typeDescription: "string (file path), or \"\" for \(whenEmpty)", bounds: nil, boundsText: nil,
            isRequired: false,
            applyDefault: { $0[keyPath: field] = nil },
            read: { (reader, config) throws(ConfigError) in
                let text = try reader.string(expected: "a string (a path, or \"\" for \(whenEmpty))")
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
