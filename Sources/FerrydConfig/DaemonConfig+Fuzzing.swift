// The loader's entry for the fuzz target FuzzDaemonConfig (docs/FUZZING.md): `parse` stays internal, and the fuzz
// executable, built in release too, cannot reach it through @testable. A file of its own so that it touches nothing
// the loader's files hold.
import Foundation

extension DaemonConfig {
    /// `parse(toml:baseDirectory:environment:)` as the daemon calls it for a file in /etc/ferry.
    package static func parseForFuzzing(_ text: String, environment: [String: String]) throws(ConfigError) -> DaemonConfig {
        try parse(toml: text, baseDirectory: URL(fileURLWithPath: "/etc/ferry", isDirectory: true), environment: environment)
    }
}
