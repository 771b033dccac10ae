import Foundation
import XCTest

@testable import Daemon
@testable import FerrydConfig

/// Properties of the key table itself, and checks run against every key in it (so a new key is tested by adding it).
final class ConfigKeyTableTests: XCTestCase {
    func testEveryKeyIsDeclaredOnceWithADocLine() {
        let paths = ConfigKeys.all.map(\.path)
        XCTAssertEqual(Set(paths).count, paths.count, "a key is declared twice")
        XCTAssertEqual(ConfigKeys.sections, ["server", "identity", "access", "storage", "index", "quotas", "protocol", "limits",
                                             "log", "metrics"])
        for key in ConfigKeys.all {
            XCTAssertFalse(key.doc.isEmpty, key.path)
            XCTAssertFalse(key.doc.contains("\n"), "\(key.path): the doc is one line")
            XCTAssertTrue(key.name.allSatisfy { $0.isLowercase || $0 == "_" }, key.path)
        }
        XCTAssertEqual(paths.count, 53)
    }

    func testOnlyTheIdentityPathsAreRequired() {
        XCTAssertEqual(ConfigKeys.all.filter(\.isRequired).map(\.path),
                       ["identity.certificate", "identity.private_key", "identity.client_ca"])
    }

    func testReloadability() {
        XCTAssertEqual(ConfigKeys.all.filter { !$0.reloadable }.map(\.path),
                       ["server.listen", "server.workers", "storage.root", "storage.staging", "storage.shared", "index.backend",
                        "index.path", "index.url", "index.pool_size", "index.connect_timeout", "index.query_timeout",
                        "index.node", "metrics.listen"])
    }

    func testBoundsAreTheDocumentedOnes() {
        let bounds = Dictionary(uniqueKeysWithValues: ConfigKeys.all.compactMap { key in key.bounds.map { (key.path, $0) } })
        XCTAssertEqual(bounds, [
            "server.workers": 0...256,
            "quotas.bytes": 0...Int64.max, "quotas.files": 0...(1 << 48),
            "server.shutdown_grace": 0...3600,
            "index.pool_size": 1...64, "index.connect_timeout": 2...300, "index.query_timeout": 1...3600,
            "protocol.rotate_after_bytes": 0...Int64.max,
            "protocol.rotate_after_seconds": 0...604_800,
            "limits.max_sessions": 1...1_000_000,
            "limits.max_sessions_per_source": 1...1_000_000,
            "limits.max_downloads": 1...1_000_000,
            "limits.max_handshakes_per_source": 1...1_000_000,
            "limits.handshake_rate_per_source": 1...1_000_000,
            "limits.handshake_burst_per_source": 1...1_000_000,
            "limits.handshake_timeout": 1...300,
            "limits.idle_timeout": 1...86400,
            "limits.max_file_size": 0...Int64.max,
            "storage.reserve": 0...Int64.max,
            "storage.partial_ttl": 60...31_536_000,
            "storage.resume_interval": 0...(1 << 40),
        ])
    }

    func testDefaults() {
        let config = ConfigFixture.defaults()
        XCTAssertEqual(config.server.listen, [ListenAddress(host: "127.0.0.1", port: 7443)])
        XCTAssertEqual(config.server.workers, 0)
        XCTAssertEqual(config.server.shutdownGraceSeconds, 30)
        XCTAssertEqual(config.storage.root.path, "/var/lib/ferry")
        XCTAssertFalse(config.storage.allowOverwrite)
        XCTAssertEqual(config.storage.staging, ".staging")
        XCTAssertEqual(config.protocol.ciphers, [.aes256GCM, .aes128GCM, .chacha20Poly1305, .aes256CBCHMACSHA256])
        XCTAssertEqual(config.protocol.groups, [.x25519MLKEM768, .x25519, .secp256r1], "finite-field groups off (issue #16)")
        XCTAssertEqual(config.protocol.hashes, [.sha256, .sha384, .sha512])
        XCTAssertEqual(config.protocol.signatures, [.ed25519, .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384,
                                                    .rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512])
        XCTAssertEqual(config.protocol.rotateAfterBytes, 1 << 30)
        XCTAssertEqual(config.protocol.rotateAfterSeconds, 3600)
        XCTAssertEqual(config.limits.maxSessions, 10_000)
        XCTAssertEqual(config.limits.handshakeTimeoutSeconds, 10)
        XCTAssertEqual(config.limits.idleTimeoutSeconds, 300)
        XCTAssertEqual(config.limits.maxFileSize, 1 << 40)
        XCTAssertEqual(config.log.level, .info)
        XCTAssertEqual(config.log.format, .logfmt)
        XCTAssertNil(config.metrics.listen)
        XCTAssertNil(config.identity.serverCA, "server_ca unset: the server's chain is checked against client_ca")
    }

    /// The file with only the required keys is exactly the defaults.
    func testMinimalFileGivesTheDefaults() throws {
        XCTAssertEqual(try ConfigFixture.parse(""), ConfigFixture.defaults())
    }

    /// min and max are accepted and stored; one below min and one above max are refused with the bounds and the key.
    func testEveryBoundedKeyAtAndPastItsBounds() throws {
        for key in ConfigKeys.all {
            guard let bounds = key.bounds else { continue }
            let isByteSize = key.typeDescription.hasPrefix("byte size")
            // rotate_after_bytes above the AES limit is refused by the cipher check; test its table bound with ChaCha only.
            let context = key.path == "protocol.rotate_after_bytes" ? "ciphers = [\"chacha20-poly1305\"]\n" : ""
            for value in [bounds.lowerBound, bounds.upperBound] {
                let config = try ConfigFixture.parse(section: key.section, context + "\(key.name) = \(value)")
                let expected = isByteSize ? TOMLText.byteSize(UInt64(value)) : "\(value)"
                XCTAssertEqual(key.render(config), expected, key.path)
            }
            var outside: [(literal: String, shown: String)] = []
            if bounds.lowerBound > Int64.min { outside.append(("\(bounds.lowerBound - 1)", "\(bounds.lowerBound - 1)")) }
            if bounds.upperBound < Int64.max {
                outside.append(("\(bounds.upperBound + 1)", "\(bounds.upperBound + 1)"))
            } else if isByteSize {
                // Not an Int64, so not a TOML integer: the string form reaches past it.
                let past = UInt64(bounds.upperBound) + 1
                outside.append(("\"\(past)B\"", "\(past)"))
            }
            XCTAssertEqual(outside.count, 2, key.path)
            for (literal, shown) in outside {
                assertConfigError("[\(key.section)]\n\(context)\(key.name) = \(literal)\n", kind: .outOfBounds, contains: [
                    "'\(key.path)' must be between \(bounds.lowerBound) and \(bounds.upperBound), got \(shown)",
                ])
            }
        }
    }

    /// Every key refuses a value of the wrong TOML type, and the message names the key and both types.
    func testEveryKeyRefusesTheWrongType() {
        for key in ConfigKeys.all {
            let wrong = key.typeDescription == "boolean" ? "1" : (key.typeDescription.hasPrefix("array") ? "\"x\"" : "true")
            let got = key.typeDescription == "boolean" ? "got an integer" : (key.typeDescription.hasPrefix("array") ? "got a string" : "got a boolean")
            // A key of [identity] goes into that table: replacing a required one, or added to it (server_ca).
            let toml = key.section != "identity" ? ConfigFixture.identity + "[\(key.section)]\n\(key.name) = \(wrong)\n"
                : ConfigFixture.identity.contains("\n\(key.name) = ")
                ? ConfigFixture.identity.replacingOccurrences(of: "\(key.name) = ", with: "\(key.name) = \(wrong) # ")
                : ConfigFixture.identity + "\(key.name) = \(wrong)\n"
            assertConfigError(toml, withIdentity: false, kind: .wrongType, contains: ["'\(key.path)' must be", got, "(line "])
        }
    }

    /// Every optional key's default renders to a literal that reads back to the same default.
    func testEveryDefaultReadsBack() throws {
        for key in ConfigKeys.all where !key.isRequired {
            let literal = try XCTUnwrap(key.defaultText, key.path)
            // An optional key of [identity] (server_ca) goes into the fixture's own [identity] table.
            let config = key.section == "identity" ? try ConfigFixture.parse("\(key.name) = \(literal)\n")
                : try ConfigFixture.parse(section: key.section, "\(key.name) = \(literal)")
            XCTAssertEqual(config, ConfigFixture.defaults(), key.path)
        }
    }

    func testSummaryNamesTypeBoundsDefaultAndReload() throws {
        let key = try XCTUnwrap(ConfigKeys.key(section: "limits", name: "handshake_timeout"))
        XCTAssertEqual(key.summary, "integer seconds, 1…300, default 10; reloadable")
        let listen = try XCTUnwrap(ConfigKeys.key(section: "server", name: "listen"))
        XCTAssertEqual(listen.summary, "array of \"host:port\" strings, default [\"127.0.0.1:7443\"]; restart to change")
        let certificate = try XCTUnwrap(ConfigKeys.key(section: "identity", name: "certificate"))
        XCTAssertEqual(certificate.summary, "string (file path), required; reloadable")
    }
}
