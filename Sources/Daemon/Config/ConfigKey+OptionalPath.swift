// A file path that may be left out: "" (the default) means "not set", and the daemon then uses another key's file in
// its place (identity.server_ca falls back to identity.client_ca). Resolved like every other path, against the
// configuration file's directory; nothing is opened here (DaemonRuntime reads the file).

import Foundation

extension ConfigKey {
    static func optionalPath(_ section: String, _ name: String, _ field: Field<URL?>, whenEmpty: String,
                             reloadable: Bool, doc: String) -> ConfigKey {
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
                switch PathResolution.resolve(text, against: reader.baseDirectory, isDirectory: false) {
                case .success(let url): config[keyPath: field] = url
                case .failure(let reason): throw reader.invalid(reason.description)
                }
            },
            render: { TOMLText.quoted($0[keyPath: field]?.path ?? "") })
    }
}
