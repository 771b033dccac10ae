import Foundation
import Protocol
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

final class ClientSettingsTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// An environment whose HOME is an empty directory (no default file) unless the test writes one.
    private var environment: [String: String] { ["HOME": directory.appending("home").path] }

    private func load(_ text: String, name: String = "client.toml") throws -> ClientSettings {
        let path = try directory.write(name, text)
        return try ClientSettings.load(path: path, environment: environment)
    }

    /// Loads `text` and expects an error of `kind` naming `key`; returns the message for further checks.
    @discardableResult
    private func expectError(_ text: String, _ kind: ClientSettingsError.Kind, key: String?,
                             file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let settings = try load(text)
            XCTFail("\(text.debugDescription) loaded as \(settings)", file: file, line: line)
            return ""
        } catch let error as ClientSettingsError {
            XCTAssertEqual(error.kind, kind, "\(text.debugDescription): \(error)", file: file, line: line)
            XCTAssertEqual(error.key, key, "\(text.debugDescription): \(error)", file: file, line: line)
            let description = error.description
            XCTAssertTrue(description.contains(directory.appending("client.toml").path), description, file: file, line: line)
            if let key { XCTAssertTrue(description.contains("key \"\(key)\""), description, file: file, line: line) }
            return description
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return ""
        }
    }

    func testDefaults() throws {
        let defaults = ClientSettings()
        XCTAssertNil(defaults.server)
        XCTAssertNil(defaults.ca)
        XCTAssertNil(defaults.certificate)
        XCTAssertNil(defaults.key)
        XCTAssertEqual(defaults.parallel, 4)
        XCTAssertEqual(defaults.rotateAfterBytes, 0)
        XCTAssertEqual(defaults.rotateAfterSeconds, 0)
        XCTAssertNil(defaults.serverName)
        XCTAssertNil(defaults.effectiveServerName)
        XCTAssertEqual(defaults.rotation, .none)

        // No file at the default location: all defaults, not an error.
        XCTAssertEqual(try ClientSettings.load(path: nil, environment: environment), defaults)
        // An empty file: all defaults too.
        var empty = try load("")
        XCTAssertEqual(empty.sourcePath, directory.appending("client.toml").path)
        empty.sourcePath = nil
        XCTAssertEqual(empty, defaults)
    }

    func testDefaultLocation() throws {
        let home = directory.appending("home").path
        try directory.write("home/.config/ferry/client.toml", "parallel = 9\nca = \"ca.crt\"\n")
        let settings = try ClientSettings.load(path: nil, environment: ["HOME": home])
        XCTAssertEqual(settings.parallel, 9)
        XCTAssertEqual(settings.ca, home + "/.config/ferry/ca.crt")
        XCTAssertEqual(ClientSettings.defaultPath(["HOME": home]), home + "/.config/ferry/client.toml")

        // XDG_CONFIG_HOME, when absolute, replaces ~/.config.
        let xdg = directory.appending("xdg").path
        try directory.write("xdg/ferry/client.toml", "parallel = 11\n")
        XCTAssertEqual(try ClientSettings.load(path: nil, environment: ["HOME": home, "XDG_CONFIG_HOME": xdg]).parallel, 11)
        XCTAssertEqual(ClientSettings.defaultPath(["HOME": home, "XDG_CONFIG_HOME": "relative"]),
                       home + "/.config/ferry/client.toml")
        // An explicit "~/…" path is expanded.
        XCTAssertEqual(try ClientSettings.load(path: "~/.config/ferry/client.toml", environment: ["HOME": home]).parallel, 9)
    }

    func testEveryKey() throws {
        let settings = try load("""
            # a complete configuration
            server = "files.example.com:7443"
            ca = "/etc/ferry/ca.crt"
            certificate = "certs/alice.crt"
            key = "~/keys/alice.key"
            key_passphrase_file = "alice.key.passphrase"
            parallel = 64
            rotate_after_bytes = "1GiB"
            rotate_after_seconds = 3600
            server_name = "ferry.internal"
            retries = 0
            """)
        let home = directory.appending("home").path
        XCTAssertEqual(settings.server, "files.example.com:7443")
        XCTAssertEqual(settings.ca, "/etc/ferry/ca.crt")
        XCTAssertEqual(settings.certificate, directory.appending("certs/alice.crt").path)
        XCTAssertEqual(settings.key, home + "/keys/alice.key")
        XCTAssertEqual(settings.keyPassphraseFile, directory.appending("alice.key.passphrase").path)
        XCTAssertEqual(settings.parallel, 64)
        XCTAssertEqual(settings.rotateAfterBytes, 1 << 30)
        XCTAssertEqual(settings.rotateAfterSeconds, 3600)
        XCTAssertEqual(settings.serverName, "ferry.internal")
        XCTAssertEqual(settings.effectiveServerName, "ferry.internal")
        XCTAssertEqual(settings.rotation, RotationPolicy(afterBytes: 1 << 30, afterSeconds: 3600))
        XCTAssertEqual([settings.connectTimeout, settings.handshakeTimeout, settings.progressTimeout], [10, 20, 60],
                       "the timeouts' defaults")
        XCTAssertEqual(settings.retries, 0)
        XCTAssertEqual(ClientSettings().retries, RetryPolicy.defaultRetries)
        XCTAssertEqual(Set(ClientSettings.keys.map(\.name)),
                       ["server", "ca", "crl", "certificate", "key", "key_passphrase_file", "parallel", "rotate_after_bytes", "rotate_after_seconds",
                        "server_name", "connect_timeout", "handshake_timeout", "timeout", "retries"])
        XCTAssertEqual(Set(ClientSettings.keys.map(\.name)).count, ClientSettings.keys.count, "each key declared once")
    }

    func testServerNameDefaultsToTheHostOfServer() throws {
        XCTAssertEqual(try load("server = \"files.example.com:7443\"").effectiveServerName, "files.example.com")
        XCTAssertNil(try load("server = \"files.example.com:7443\"").serverName)
        XCTAssertEqual(try load("server = \"192.0.2.1:7443\"").effectiveServerName, "192.0.2.1")
        XCTAssertEqual(try load("server = \"[2001:db8::1]:7443\"").effectiveServerName, "2001:db8::1")
        // No port: ferryd's default.
        XCTAssertEqual(try HostPort.parse("files.example.com"), HostPort(host: "files.example.com", port: 7443))
        XCTAssertEqual(try HostPort.parse("[::1]"), HostPort(host: "::1", port: 7443))
        XCTAssertEqual(try load("server = \"files.example.com\"").effectiveServerName, "files.example.com")
        XCTAssertEqual(try load("server = \"[::1]:1\"").serverHost, "::1")
        XCTAssertEqual(try load("server = \"localhost:65535\"").serverHost, "localhost")
    }

    func testRelativePathsResolveAgainstTheFileDirectory() throws {
        let path = try directory.write("conf/sub/client.toml", """
            ca = "ca.crt"
            certificate = "./certs/../certs/me.crt"
            key = "../keys/me.key"
            """)
        // Loaded through a relative path from another working directory: resolution uses the file's directory.
        let settings = try ClientSettings.load(path: path, environment: environment)
        XCTAssertEqual(settings.ca, directory.appending("conf/sub/ca.crt").path)
        XCTAssertEqual(settings.certificate, directory.appending("conf/sub/certs/me.crt").path)
        XCTAssertEqual(settings.key, directory.appending("conf/keys/me.key").path)

        let previous = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.appending("conf").path))
        XCTAssertEqual(try ClientSettings.load(path: "sub/client.toml", environment: environment).ca,
                       directory.appending("conf/sub/ca.crt").path)
    }

    func testUnknownKeysAreRejectedByName() {
        XCTAssertTrue(expectError("paralel = 4", .unknownKey, key: "paralel").contains("did you mean \"parallel\""))
        XCTAssertTrue(expectError("rotate-after-bytes = 4", .unknownKey, key: "rotate-after-bytes")
            .contains("did you mean \"rotate_after_bytes\""))
        XCTAssertTrue(expectError("cert = \"a\"", .unknownKey, key: "cert").contains("did you mean \"certificate\""))
        XCTAssertTrue(expectError("colour = \"blue\"", .unknownKey, key: "colour").contains("known keys: server, ca"))
        expectError("[upload]\nparallel = 4", .unknownKey, key: "upload")
        expectError("server = \"a:1\"\nextra.thing = 1", .unknownKey, key: "extra")
    }

    func testWrongTypesAreRejectedByName() {
        let cases: [(String, String, String)] = [
            ("parallel = \"4\"", "parallel", "got a string \"4\""),
            ("parallel = 4.0", "parallel", "got a floating-point number"),
            ("parallel = true", "parallel", "got a boolean"),
            ("server = 7443", "server", "got an integer 7443"),
            ("server = [\"a:1\"]", "server", "got an array"),
            ("[server]\nhost = \"a\"", "server", "got a table"),
            ("ca = true", "ca", "expected a string (a file path)"),
            ("certificate = 1", "certificate", "got an integer"),
            ("key = 1979-05-27", "key", "got a date"),
            ("rotate_after_bytes = 1.5", "rotate_after_bytes", "or a size string"),
            ("rotate_after_bytes = false", "rotate_after_bytes", "got a boolean"),
            ("rotate_after_seconds = \"1h\"", "rotate_after_seconds", "got a string \"1h\""),
            ("server_name = [\"a\"]", "server_name", "got an array"),
        ]
        for (text, key, fragment) in cases {
            let message = expectError(text, .wrongType, key: key)
            XCTAssertTrue(message.contains(fragment), "\(text): \(message)")
        }
    }

    func testBadValuesAreRejectedByName() {
        let cases: [(String, String, String)] = [
            ("parallel = 0", "parallel", "out of range 1…64"),
            ("parallel = 65", "parallel", "out of range 1…64"),
            ("parallel = -1", "parallel", "out of range"),
            ("server = \"host:0\"", "server", "1…65535"),
            ("server = \"host:65536\"", "server", "1…65535"),
            ("server = \"host:\"", "server", "1…65535"),
            ("server = \"host:http\"", "server", "1…65535"),
            ("server = \":7443\"", "server", "empty host"),
            ("server = \"::1:7443\"", "server", "brackets"),
            ("server = \"[::1]7443\"", "server", "after \"]\""),
            ("server = \"[::1\"", "server", "missing"),
            ("server = \"[files]:7443\"", "server", "not an IPv6"),
            ("server = \"two words:7443\"", "server", "not a host name"),
            ("server = \"\"", "server", "empty host"),
            ("ca = \"\"", "ca", "empty path"),
            ("key = \"~bob/alice.key\"", "key", "~user"),
            ("rotate_after_bytes = -1", "rotate_after_bytes", "negative"),
            ("rotate_after_bytes = \"-1\"", "rotate_after_bytes", "negative"),
            ("rotate_after_bytes = \"64Q\"", "rotate_after_bytes", "unknown unit"),
            ("rotate_after_bytes = \"lots\"", "rotate_after_bytes", "does not start with a number"),
            ("rotate_after_bytes = \"1TiB\"", "rotate_after_bytes", "out of range"),
            ("rotate_after_seconds = -5", "rotate_after_seconds", "out of range"),
            ("rotate_after_seconds = 31536001", "rotate_after_seconds", "out of range"),
            ("timeout = 0", "timeout", "out of range"),
            ("connect_timeout = 86401", "connect_timeout", "out of range"),
            ("retries = -1", "retries", "out of range 0…100"),
            ("retries = 101", "retries", "out of range 0…100"),
            ("server_name = \"\"", "server_name", "empty host"),
            ("server_name = \"[::1]\"", "server_name", "without brackets"),
            ("server_name = \"a b\"", "server_name", "not a host name"),
        ]
        for (text, key, fragment) in cases {
            let message = expectError(text, .badValue, key: key)
            XCTAssertTrue(message.contains(fragment), "\(text): \(message)")
        }
    }

    func testByteSizeUnits() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0),
            ("1048576", 1 << 20),
            ("\"64MiB\"", 64 << 20),
            ("\"500MB\"", 500_000_000),
            ("\"1GiB\"", 1 << 30),
            ("\"100 GB\"", 100_000_000_000),
            ("\"4096\"", 4096),
            ("\"64M\"", 64 << 20),  // a bare letter is binary (Units.ByteSize), as in rsync, rclone and curl
            ("\"64mib\"", 64 << 20),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(try load("rotate_after_bytes = \(value)").rotateAfterBytes, expected, value)
        }
        // The largest accepted value is the AES hard limit, and it is accepted.
        let maximum = ClientSettings.rotateAfterBytesRange.upperBound
        XCTAssertEqual(maximum, CipherSuite.allCases.map(KeyUsageLimits.maxRotateAfterBytes).min())
        XCTAssertEqual(try load("rotate_after_bytes = \(maximum)").rotateAfterBytes, maximum)
        expectError("rotate_after_bytes = \(maximum + 1)", .badValue, key: "rotate_after_bytes")
    }

    func testMissingAndBrokenFiles() throws {
        let missing = directory.appending("nope.toml").path
        do {
            _ = try ClientSettings.load(path: missing, environment: environment)
            XCTFail("a missing explicit file loaded")
        } catch {
            XCTAssertEqual(error.kind, .missingFile)
            XCTAssertTrue(error.description.contains(missing), error.description)
        }
        XCTAssertThrowsError(try ClientSettings.load(path: directory.path, environment: environment), "a directory")

        let syntax = expectError("parallel = 4\nserver = \"unterminated\n", .syntax, key: nil)
        XCTAssertTrue(syntax.contains("client.toml:2:"), syntax)
        expectError("parallel = 4\nparallel = 5\n", .syntax, key: nil)  // duplicate keys are a TOML error

        let invalidUTF8 = directory.appending("latin1.toml")
        try Data([0x73, 0x65, 0x72, 0x76, 0x65, 0x72, 0x20, 0x3D, 0x20, 0x22, 0xE9, 0x22, 0x0A]).write(to: invalidUTF8)
        XCTAssertThrowsError(try ClientSettings.load(path: invalidUTF8.path, environment: environment)) { error in
            XCTAssertEqual((error as? ClientSettingsError)?.kind, .syntax)
        }

        let huge = try directory.write("huge.toml", "# " + String(repeating: "x", count: ClientSettings.maximumFileSize) + "\n")
        XCTAssertThrowsError(try ClientSettings.load(path: huge, environment: environment)) { error in
            XCTAssertEqual((error as? ClientSettingsError)?.kind, .unreadable)
        }
    }
}
