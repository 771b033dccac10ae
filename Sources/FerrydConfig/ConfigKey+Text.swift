// A string taken as it is written, "" (the default) meaning "not set": for values the daemon hands to another
// library that has its own syntax for them (index.url, a libpq connection string), checked where they are used.
extension ConfigKey {
    static func text(_ section: String, _ name: String, _ field: Field<String>, whenEmpty: String, reloadable: Bool,
                     doc: String) -> ConfigKey {
        ConfigKey(
            section: section, name: name, doc: doc, reloadable: reloadable, typeDescription: "string, or \"\" for \(whenEmpty)",
            bounds: nil, boundsText: nil, isRequired: false,
            applyDefault: { $0[keyPath: field] = "" },
            read: { (reader, config) throws(ConfigError) in config[keyPath: field] = try reader.string() },
            render: { TOMLText.quoted($0[keyPath: field]) })
    }
}
