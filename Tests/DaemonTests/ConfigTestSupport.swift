import Foundation
import TestSupport
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// Helpers shared by the configuration tests.
enum ConfigFixture {
    static let base = URL(fileURLWithPath: "/etc/ferry", isDirectory: true)

    /// The three required keys, so a test only writes what it is about.
    static let identity = """
        [identity]
        certificate = "/etc/ferry/server.crt"
        private_key = "/etc/ferry/server.key"
        client_ca = "/etc/ferry/ca.crt"

        """

    static func defaults() -> DaemonConfig {
        DaemonConfig.defaults(certificate: URL(fileURLWithPath: "/etc/ferry/server.crt", isDirectory: false),
                              privateKey: URL(fileURLWithPath: "/etc/ferry/server.key", isDirectory: false),
                              clientCA: URL(fileURLWithPath: "/etc/ferry/ca.crt", isDirectory: false))
    }

    /// Parses `identity` + `text`.
    static func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> DaemonConfig {
        try DaemonConfig.parse(toml: identity + text, baseDirectory: base, environment: environment)
    }

    /// `[section]\nname = literal` after the identity keys.
    static func parse(section: String, _ assignments: String, environment: [String: String] = [:]) throws(ConfigError) -> DaemonConfig {
        // [identity] is already open (a TOML table cannot be declared twice): its optional keys go on in it.
        try parse(section == "identity" ? "\(assignments)\n" : "[\(section)]\n\(assignments)\n", environment: environment)
    }

    /// The repository's config/ferryd.toml, found from this file's location.
    static var exampleFile: URL {
        RepositoryPaths.root.appendingPathComponent("config/ferryd.toml")
    }
}

/// Asserts that parsing fails with `kind` and a message containing every string in `fragments`; returns the error.
@discardableResult
func assertConfigError(_ toml: String, environment: [String: String] = [:], withIdentity: Bool = true,
                       kind: ConfigError.Kind, contains fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
    do {
        let text = withIdentity ? ConfigFixture.identity + toml : toml
        let config = try DaemonConfig.parse(toml: text, baseDirectory: ConfigFixture.base, environment: environment)
        XCTFail("expected a \(kind) error, got a configuration: \(config)", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.description.contains(fragment), "'\(error)' does not contain '\(fragment)'", file: file, line: line)
        }
        return error
    }
}
