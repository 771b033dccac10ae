// The effective configuration as TOML, for `ferryd check-config`: every key, in table order, with its doc line and its
// type/bounds/default as comments. Paths are absolute (resolved), byte sizes in their shortest exact unit.
// `DaemonConfig.parse(toml: config.renderEffective(), …)` gives back a configuration equal to `config`.

extension DaemonConfig {
    package func renderEffective() -> String {
        var out = "# ferryd effective configuration: every key, with defaults filled in and paths resolved.\n"
        for section in ConfigKeys.sections {
            out += "\n[\(section)]\n"
            for key in ConfigKeys.all where key.section == section {
                out += "# \(key.doc)\n"
                out += "# (\(key.summary))\n"
                out += "\(key.name) = \(key.render(self))\n"
            }
        }
        return out
    }
}
