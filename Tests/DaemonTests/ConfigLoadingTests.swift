import Foundation
import Protocol
import TestSupport
import XCTest

@testable import Daemon
@testable import FerrydConfig

final class ConfigLoadingTests: XCTestCase {
    // MARK: The example file

    func testExampleConfigIsTheDefaultsExceptItsPaths() throws {
        let file = ConfigFixture.exampleFile
        let config = try DaemonConfig.load(path: file.path, environment: [:])
        let directory = file.deletingLastPathComponent().path
        let expected = DaemonConfig.defaults(
            certificate: URL(fileURLWithPath: "/etc/ferry/server.crt", isDirectory: false),
            privateKey: URL(fileURLWithPath: directory + "/server.key", isDirectory: false),  // bare name, no credentials dir
            clientCA: URL(fileURLWithPath: "/etc/ferry/clients-ca.crt", isDirectory: false))
        XCTAssertEqual(config, expected)
    }

    func testExampleConfigUnderSystemdTakesTheKeyFromTheCredentialsDirectory() throws {
        let config = try DaemonConfig.load(path: ConfigFixture.exampleFile.path,
                                           environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/ferryd.service"])
        XCTAssertEqual(config.identity.privateKey.path, "/run/credentials/ferryd.service/server.key")
    }

    /// The example documents every key: it sets each one (to its default, as the test above shows).
    func testExampleConfigSetsEveryKey() throws {
        let locator = SourceLocator(try String(contentsOf: ConfigFixture.exampleFile, encoding: .utf8))
        for key in ConfigKeys.all {
            XCTAssertNotNil(locator.line(section: key.section, key: key.name), "config/ferryd.toml does not set \(key.path)")
        }
    }

    /// The example error quoted in the file's header is the one the file itself gives with max_sessions = 0.
    func testExampleConfigQuotesARealErrorMessage() throws {
        let text = try String(contentsOf: ConfigFixture.exampleFile, encoding: .utf8)
        let broken = text.replacingOccurrences(of: "\nmax_sessions = 10000\n", with: "\nmax_sessions = 0\n")
        XCTAssertNotEqual(broken, text)
        XCTAssertThrowsError(try DaemonConfig.parse(toml: broken, baseDirectory: ConfigFixture.base, environment: [:])) { error in
            XCTAssertTrue(text.contains("\"\(error)\""), "the header of config/ferryd.toml should quote \(error)")
        }
    }

    func testLoadReportsAMissingFileWithItsName() {
        XCTAssertThrowsError(try DaemonConfig.load(path: "/nonexistent/ferryd.toml", environment: [:])) { error in
            let error = error as! ConfigError
            XCTAssertEqual(error.kind, .unreadable)
            XCTAssertEqual(error.description, "/nonexistent/ferryd.toml: cannot open: No such file or directory")
        }
    }

    func testLoadResolvesRelativePathsAgainstTheFilesDirectory() throws {
        let directory = try makeTemporaryDirectory("config").url
        let file = directory.appendingPathComponent("ferryd.toml")
        try """
            [identity]
            certificate = "tls/server.crt"
            private_key = "../keys/server.key"
            client_ca = "./ca.crt"
            [storage]
            root = "data/"
            rooot = 1
            """.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DaemonConfig.load(path: file.path, environment: [:])) { error in
            XCTAssertEqual("\(error)", "\(file.path): unknown key 'storage.rooot' (line 7)")
        }
        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "\nrooot = 1", with: "")
            .write(to: file, atomically: true, encoding: .utf8)
        let config = try DaemonConfig.load(path: file.path, environment: [:])
        let base = PathResolution.normalise(directory.path)
        XCTAssertEqual(config.identity.certificate.path, base + "/tls/server.crt")
        XCTAssertEqual(config.identity.privateKey.path, PathResolution.normalise(base + "/../keys/server.key"))
        XCTAssertEqual(config.identity.clientCA.path, base + "/ca.crt")
        XCTAssertEqual(config.storage.root.path, base + "/data")
    }

    // MARK: Unknown keys, syntax, missing keys

    func testUnknownKeyNamesTheKeyAndLine() {
        let error = assertConfigError("[storage]\nroot = \"/srv/ferry\"\nrooot = \"/srv\"\n", kind: .unknownKey,
                                      contains: ["unknown key 'storage.rooot'"])
        XCTAssertEqual(error?.description, "unknown key 'storage.rooot' (line 7)")  // 4 identity lines first
        XCTAssertEqual(error?.key, "storage.rooot")
    }

    /// Top-level forms go before [identity] (after it, they would be keys of [identity]).
    func testUnknownKeyInDottedAndInlineForms() {
        assertConfigError("limits.max_sesions = 5\n" + ConfigFixture.identity, withIdentity: false, kind: .unknownKey,
                          contains: ["unknown key 'limits.max_sesions' (line 1)"])
        assertConfigError("log = { level = \"info\", colour = true }\n" + ConfigFixture.identity, withIdentity: false,
                          kind: .unknownKey, contains: ["unknown key 'log.colour' (line 1)"])
        assertConfigError("[server.tls]\nversion = 3\n", kind: .unknownKey, contains: ["unknown key 'server.tls' (line 5)"])
        assertConfigError("[identity.extra]\nversion = 3\n", kind: .unknownKey, contains: ["unknown key 'identity.extra' (line 5)"])
    }

    func testUnknownSection() {
        assertConfigError("[storag]\nroot = \"/x\"\n", kind: .unknownKey,
                          contains: ["unknown section 'storag'", "[storage]", "(line 5)"])
        assertConfigError("verbose = true\n" + ConfigFixture.identity, withIdentity: false, kind: .unknownKey,
                          contains: ["unknown key 'verbose' (line 1)"])
    }

    func testSectionOfTheWrongType() {
        assertConfigError("server = 5\n" + ConfigFixture.identity, withIdentity: false, kind: .wrongType,
                          contains: ["'server' must be a table ([server]), got an integer (line 1)"])
        assertConfigError("[[limits]]\nmax_sessions = 5\n", kind: .wrongType, contains: ["'limits' must be a table", "got an array"])
    }

    func testSyntaxErrorCarriesLineAndColumn() throws {
        let error = try XCTUnwrap(assertConfigError("[server]\nworkers = 1\nlisten = [\"127.0.0.1:7443\"\n", kind: .syntax,
                                                    contains: ["syntax error at line"]))
        XCTAssertNotNil(error.line)
        XCTAssertNotNil(error.column)
        XCTAssertGreaterThanOrEqual(error.line ?? 0, 7)
        let bare = try XCTUnwrap(assertConfigError("[server]\nworkers = = 1\n", kind: .syntax, contains: ["line 6, column"]))
        XCTAssertEqual(bare.line, 6)
    }

    func testDuplicateKeyIsASyntaxError() {
        assertConfigError("[server]\nworkers = 1\nworkers = 2\n", kind: .syntax, contains: ["line 7"])
    }

    func testMissingRequiredKeys() {
        assertConfigError("", withIdentity: false, kind: .missingKey, contains: ["missing required key 'identity.certificate'"])
        let noKey = ConfigFixture.identity.replacingOccurrences(of: "private_key = \"/etc/ferry/server.key\"\n", with: "")
        assertConfigError(noKey, withIdentity: false, kind: .missingKey,
                          contains: ["missing required key 'identity.private_key'", "private key"])
    }

    // MARK: Types and values

    func testWrongTypeMessageNamesKeyExpectedAndActual() {
        let error = assertConfigError("[limits]\nmax_sessions = \"100\"\n", kind: .wrongType, contains: [])
        XCTAssertEqual(error?.description, "'limits.max_sessions' must be an integer, got a string (line 6)")
        assertConfigError("[limits]\nidle_timeout = 1.5\n", kind: .wrongType,
                          contains: ["'limits.idle_timeout' must be an integer (seconds), got a floating-point number"])
        assertConfigError("[storage]\nallow_overwrite = \"yes\"\n", kind: .wrongType,
                          contains: ["'storage.allow_overwrite' must be a boolean (true or false), got a string"])
    }

    func testOutOfBoundsMessage() {
        let error = assertConfigError("[limits]\nmax_sessions = 0\n", kind: .outOfBounds, contains: [])
        XCTAssertEqual(error?.description, "'limits.max_sessions' must be between 1 and 1000000, got 0 (line 6)")
    }

    func testListenAddresses() throws {
        let config = try ConfigFixture.parse(section: "server",
                                             "listen = [\"0.0.0.0:7443\", \"[::]:7443\", \"localhost:8443\", \"[::ffff:10.0.0.1]:1\"]")
        XCTAssertEqual(config.server.listen.map(\.description), ["0.0.0.0:7443", "[::]:7443", "localhost:8443", "[::ffff:10.0.0.1]:1"])
        XCTAssertEqual(config.server.listen[1], ListenAddress(host: "::", port: 7443))
        let bad: [(String, String)] = [
            ("127.0.0.1", "has no \":port\""),
            ("[::1]", "has no \":port\""),
            ("127.0.0.1:0", "port \"0\""),
            ("127.0.0.1:65536", "port \"65536\""),
            ("127.0.0.1:http", "port \"http\""),
            ("127.0.0.1:-1", "port \"-1\""),
            ("::1:7443", "in brackets"),
            ("example.com:7443", "not an IPv4 address"),
            ("256.1.1.1:7443", "not an IPv4 address"),
            ("010.0.0.1:7443", "not an IPv4 address"),
            ("[zz::1]:7443", "not an IPv4 address"),
            ("[::1:7443", "not an IPv4 address"),
            (":7443", "has no host"),
            ("LOCALHOST:7443", "not an IPv4 address"),
        ]
        for (address, reason) in bad {
            assertConfigError("[server]\nlisten = [\"\(address)\"]\n", kind: .invalidValue,
                              contains: ["'server.listen' entry \"\(address)\"", reason])
        }
        assertConfigError("[server]\nlisten = []\n", kind: .invalidValue, contains: ["'server.listen' must list at least one address"])
        assertConfigError("[server]\nlisten = [\"127.0.0.1:1\", \"127.0.0.1:1\"]\n", kind: .invalidValue,
                          contains: ["'server.listen' lists \"127.0.0.1:1\" twice"])
        assertConfigError("[server]\nlisten = \"127.0.0.1:1\"\n", kind: .wrongType,
                          contains: ["'server.listen' must be an array of strings, got a string"])
        assertConfigError("[server]\nlisten = [\"127.0.0.1:1\", 7443]\n", kind: .wrongType,
                          contains: ["'server.listen' entry 2 must be a string, got an integer"])
    }

    func testMetricsListen() throws {
        XCTAssertNil(try ConfigFixture.parse(section: "metrics", "listen = \"\"").metrics.listen)
        XCTAssertEqual(try ConfigFixture.parse(section: "metrics", "listen = \"127.0.0.1:9100\"").metrics.listen,
                       ListenAddress(host: "127.0.0.1", port: 9100))
        assertConfigError("[metrics]\nlisten = \"9100\"\n", kind: .invalidValue, contains: ["'metrics.listen' \"9100\""])
        assertConfigError("[metrics]\nlisten = false\n", kind: .wrongType, contains: ["'metrics.listen' must be a string"])
        assertConfigError("[server]\nlisten = [\"[::1]:7443\"]\n[metrics]\nlisten = \"[::1]:7443\"\n", kind: .invalidValue,
                          contains: ["'metrics.listen' \"[::1]:7443\" is also in 'server.listen'", "(line 8)"])
    }

    func testLogLevelAndFormat() throws {
        for level in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            XCTAssertEqual(try ConfigFixture.parse(section: "log", "level = \"\(level)\"").log.level.rawValue, level)
        }
        XCTAssertEqual(try ConfigFixture.parse(section: "log", "format = \"json\"").log.format, .json)
        assertConfigError("[log]\nlevel = \"verbose\"\n", kind: .invalidValue,
                          contains: ["'log.level' must be one of trace, debug, info, notice, warning, error, critical, got \"verbose\""])
        assertConfigError("[log]\nformat = \"text\"\n", kind: .invalidValue,
                          contains: ["'log.format' must be one of logfmt, json, got \"text\""])
    }

    func testStagingMustBeOneName() throws {
        XCTAssertEqual(try ConfigFixture.parse(section: "storage", "staging = \"partial\"").storage.staging, "partial")
        for (value, reason) in [("a/b", "it contains '/'"), (".", "it is '.'"), ("..", "it is '..'"), ("", "it is empty"),
                                ("a\\\\b", "it contains a backslash"), ("a\\tb", "it contains a control character (U+0009) at byte 1")] {
            assertConfigError("[storage]\nstaging = \"\(value)\"\n", kind: .invalidValue,
                              contains: ["'storage.staging' must be a single directory name: \(reason)"])
        }
    }

    // MARK: Paths

    func testRelativePathsAreResolvedAgainstTheBaseDirectory() throws {
        let config = try DaemonConfig.parse(toml: """
            [identity]
            certificate = "server.crt"
            private_key = "keys/../keys/./server.key"
            client_ca = "../ca/clients.pem"
            [storage]
            root = "/srv//ferry/"
            """, baseDirectory: ConfigFixture.base, environment: [:])
        XCTAssertEqual(config.identity.certificate.path, "/etc/ferry/server.crt")
        XCTAssertEqual(config.identity.privateKey.path, "/etc/ferry/keys/server.key")
        XCTAssertEqual(config.identity.clientCA.path, "/etc/ca/clients.pem")
        XCTAssertEqual(config.storage.root.path, "/srv/ferry")
        XCTAssertTrue(config.storage.root.hasDirectoryPath)
        XCTAssertFalse(config.identity.certificate.hasDirectoryPath)
    }

    func testPathValuesThatAreRefused() {
        assertConfigError("[storage]\nroot = \"\"\n", kind: .invalidValue, contains: ["'storage.root' must not be empty"])
        assertConfigError("[storage]\nroot = \"~/ferry\"\n", kind: .invalidValue,
                          contains: ["'storage.root' starts with '~', which is not expanded"])
        assertConfigError("[storage]\nroot = 5\n", kind: .wrongType, contains: ["'storage.root' must be a string (a path), got an integer"])
    }

    func testCredentialsDirectoryLookup() throws {
        let credentials = ["CREDENTIALS_DIRECTORY": "/run/credentials/ferryd.service"]
        func privateKey(_ value: String, _ environment: [String: String]) throws -> String {
            let toml = ConfigFixture.identity.replacingOccurrences(of: "\"/etc/ferry/server.key\"", with: "\"\(value)\"")
            return try DaemonConfig.parse(toml: toml, baseDirectory: ConfigFixture.base, environment: environment).identity.privateKey.path
        }
        XCTAssertEqual(try privateKey("ferryd.key", credentials), "/run/credentials/ferryd.service/ferryd.key")
        XCTAssertEqual(try privateKey("ferryd.key", [:]), "/etc/ferry/ferryd.key")
        XCTAssertEqual(try privateKey("ferryd.key", ["CREDENTIALS_DIRECTORY": ""]), "/etc/ferry/ferryd.key")
        XCTAssertEqual(try privateKey("keys/ferryd.key", credentials), "/etc/ferry/keys/ferryd.key")  // not a bare name
        XCTAssertEqual(try privateKey("/srv/ferryd.key", credentials), "/srv/ferryd.key")
        // Only the private key is a credential: the certificate's bare name stays next to the config.
        let toml = ConfigFixture.identity.replacingOccurrences(of: "\"/etc/ferry/server.crt\"", with: "\"server.crt\"")
        let config = try DaemonConfig.parse(toml: toml, baseDirectory: ConfigFixture.base, environment: credentials)
        XCTAssertEqual(config.identity.certificate.path, "/etc/ferry/server.crt")
    }

    // MARK: Rotation

    func testRotateAfterBytesUnits() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0), ("1024", 1024), ("\"64MiB\"", 64 << 20), ("\"1GiB\"", 1 << 30), ("\"500MB\"", 500_000_000),
            ("\"2 GB\"", 2_000_000_000), ("\"10KiB\"", 10 << 10), ("\"7kB\"", 7000), ("\"3B\"", 3), ("\"100\"", 100),
            ("\"255GiB\"", 255 << 30), ("\"1gib\"", 1 << 30), ("\"64M\"", 64 << 20),
        ]
        for (literal, bytes) in cases {
            XCTAssertEqual(try ConfigFixture.parse(section: "protocol", "rotate_after_bytes = \(literal)").protocol.rotateAfterBytes,
                           bytes, literal)
        }
        for (literal, reason) in [("\"1.5GiB\"", "whole number"), ("\"1gibi\"", "unknown unit \"gibi\""), ("\"GiB\"", "whole number"),
                                  ("\"\"", "empty"), ("\"-1GiB\"", "whole number"), ("\"1 PiB\"", "unknown unit \"PiB\"")] {
            assertConfigError("[protocol]\nrotate_after_bytes = \(literal)\n", kind: .invalidValue,
                              contains: ["'protocol.rotate_after_bytes' must be an integer (bytes) or a string with a unit", reason])
        }
    }

    func testRotateAfterBytesAboveTheAEADLimitIsRefused() throws {
        let limit = KeyUsageLimits.maxRotateAfterBytes(.aes256GCM)
        XCTAssertEqual(limit, 274_747_881_472)
        XCTAssertEqual(try ConfigFixture.parse(section: "protocol", "rotate_after_bytes = \(limit)").protocol.rotateAfterBytes, limit)
        let error = assertConfigError("[protocol]\nrotate_after_bytes = \"256GiB\"\n", kind: .outOfBounds, contains: [
            "'protocol.rotate_after_bytes' is 274877906944 bytes (256.0 GiB)", "above 274747881472 bytes (255.9 GiB)",
            "AEAD usage limit of cipher 'aes-256-gcm'", "docs/PROTOCOL.md §7.4", "(line 6)",
        ])
        XCTAssertEqual(error?.key, "protocol.rotate_after_bytes")
        // The limit is the minimum over the configured ciphers: ChaCha alone allows far more, AES in the list does not.
        XCTAssertEqual(try ConfigFixture.parse(section: "protocol", "ciphers = [\"chacha20-poly1305\"]\nrotate_after_bytes = \"1TiB\"")
            .protocol.rotateAfterBytes, 1 << 40)
        assertConfigError("[protocol]\nciphers = [\"chacha20-poly1305\", \"aes-128-gcm\"]\nrotate_after_bytes = \"1TiB\"\n",
                          kind: .outOfBounds, contains: ["cipher 'aes-128-gcm'"])
        // 0 (no volume rotation) is always allowed.
        XCTAssertEqual(try ConfigFixture.parse(section: "protocol", "rotate_after_bytes = 0").rotationPolicy().afterBytes, nil)
    }

    func testRotationPolicyAndPreferences() throws {
        let defaults = ConfigFixture.defaults()
        XCTAssertEqual(defaults.rotationPolicy(), RotationPolicy(afterBytes: 1 << 30, afterSeconds: 3600))
        XCTAssertEqual(defaults.protocolPreferences(), AlgorithmPreferences(
            cipherSuites: [.aes256GCM, .aes128GCM, .chacha20Poly1305, .aes256CBCHMACSHA256],
            groups: [.x25519MLKEM768, .x25519, .secp256r1], hashes: [.sha256, .sha384, .sha512],
            signatureSchemes: [.ed25519, .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512]))
        let custom = try ConfigFixture.parse(section: "protocol", """
            ciphers = ["chacha20-poly1305", "aes-256-gcm"]
            groups = ["p256"]
            hashes = ["sha384", "sha256"]
            signatures = ["ecdsa-p384-sha384"]
            rotate_after_bytes = 0
            rotate_after_seconds = 0
            """)
        XCTAssertEqual(custom.rotationPolicy(), .none)
        XCTAssertEqual(custom.protocolPreferences(), AlgorithmPreferences(cipherSuites: [.chacha20Poly1305, .aes256GCM],
                                                                          groups: [.secp256r1], hashes: [.sha384, .sha256],
                                                                          signatureSchemes: [.ecdsaSecp384r1SHA384]))
        XCTAssertNoThrow(try custom.protocolPreferences().validate())
    }

    // MARK: Algorithm lists

    func testAlgorithmListsRefuseUnknownDuplicateAndEmpty() {
        let lists: [(key: String, good: String, bad: String)] = [
            ("ciphers", "aes-256-gcm", "aes-512-gcm"), ("groups", "x25519", "x448"),
            ("hashes", "sha256", "md5"), ("signatures", "ed25519", "rsa-pkcs1-sha256"),
        ]
        for (key, good, bad) in lists {
            assertConfigError("[protocol]\n\(key) = [\"\(good)\", \"\(bad)\"]\n", kind: .invalidValue,
                              contains: ["'protocol.\(key)' has unknown entry \"\(bad)\"; known: \(good)"])
            assertConfigError("[protocol]\n\(key) = [\"\(good)\", \"\(good)\"]\n", kind: .invalidValue,
                              contains: ["'protocol.\(key)' lists \"\(good)\" twice"])
            assertConfigError("[protocol]\n\(key) = []\n", kind: .invalidValue, contains: ["'protocol.\(key)' must list at least one of"])
            assertConfigError("[protocol]\n\(key) = [\"\(good)\", 3]\n", kind: .wrongType,
                              contains: ["'protocol.\(key)' entry 2 must be a string, got an integer"])
        }
    }

    func testAlgorithmNamesAreCaseInsensitiveAndRenderLowercase() throws {
        let config = try ConfigFixture.parse(section: "protocol", "ciphers = [\"AES-256-GCM\", \"ChaCha20-Poly1305\"]")
        XCTAssertEqual(config.protocol.ciphers, [.aes256GCM, .chacha20Poly1305])
        XCTAssertTrue(config.renderEffective().contains("ciphers = [\"aes-256-gcm\", \"chacha20-poly1305\"]"))
        assertConfigError("[protocol]\nciphers = [\"aes-256-gcm\", \"AES-256-GCM\"]\n", kind: .invalidValue, contains: ["twice"])
    }
}
