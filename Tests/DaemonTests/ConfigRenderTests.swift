import Foundation
import XCTest

@testable import Daemon
@testable import FerrydConfig

final class ConfigRenderTests: XCTestCase {
    /// A configuration that differs from the defaults in every key, with awkward strings in its paths.
    static let everythingChanged = """
        [server]
        listen = ["0.0.0.0:7443", "[::1]:8443", "localhost:9443"]
        workers = 4
        shutdown_grace = 0
        [identity]
        certificate = "certs/server \\"quoted\\" é.crt"
        private_key = "server.key"
        private_key_passphrase_file = "server.key.passphrase"
        allow_readable_private_key = true
        client_ca = "/etc/ferry/ca\\\\bundle.pem"
        server_ca = "servers-ca.pem"
        client_ca_namespaces = ["", "partner", "partner"]
        client_intermediates = "intermediates.pem"
        crl = ["crl/ca.crl", "/etc/ferry/intermediate.crl"]
        crl_stale = "refuse"
        [access]
        deny_identities = ["mallory", "café"]
        deny_fingerprints = ["sha256 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"]
        grants = ["backup: list,read on *"]
        [storage]
        root = "/srv/ferry"
        allow_overwrite = true
        fsync = false
        direct_io = false
        reserve = "1GiB"
        partial_ttl = 3600
        resume_interval = "8MiB"
        staging = "partial"
        shared = true
        [index]
        backend = "postgresql"
        path = "/var/lib/ferry-index/metadata.sqlite"
        url = "postgresql://ferry@db.example:5433/ferry?passfile=/etc/ferry/pgpass&sslmode=verify-full"
        pool_size = 16
        connect_timeout = 5
        query_timeout = 120
        node = "node-1.example"
        [quotas]
        bytes = "10GiB"
        files = 5000
        overrides = ["alice: bytes=50GiB files=100000"]
        [protocol]
        ciphers = ["chacha20-poly1305"]
        groups = ["ffdhe2048", "x25519"]
        hashes = ["sha512"]
        signatures = ["rsa-pss-sha512", "ed25519"]
        rotate_after_bytes = 123456789
        rotate_after_seconds = 604800
        [limits]
        max_sessions = 1
        max_downloads = 7
        max_sessions_per_source = 2
        max_handshakes_per_source = 3
        handshake_rate_per_source = 4
        handshake_burst_per_source = 5
        handshake_timeout = 300
        idle_timeout = 86400
        max_file_size = "500MB"
        [log]
        level = "critical"
        format = "json"
        [metrics]
        listen = "[::]:9100"
        """

    func testEveryKeyDiffersInTheFixture() throws {
        let config = try DaemonConfig.parse(toml: Self.everythingChanged, baseDirectory: ConfigFixture.base,
                                            environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/ferryd.service"])
        let defaults = ConfigFixture.defaults()
        XCTAssertEqual(Set(ConfigKeys.all.map(\.path)).subtracting(config.changedKeys(from: defaults)), [])
        XCTAssertEqual(config.identity.certificate.path, "/etc/ferry/certs/server \"quoted\" é.crt")
        XCTAssertEqual(config.identity.clientCA.path, "/etc/ferry/ca\\bundle.pem")
        XCTAssertEqual(config.identity.serverCA?.path, "/etc/ferry/servers-ca.pem")
    }

    func testRoundTripOfTheDefaults() throws {
        let config = ConfigFixture.defaults()
        let rendered = config.renderEffective()
        XCTAssertEqual(try DaemonConfig.parse(toml: rendered, baseDirectory: URL(fileURLWithPath: "/nowhere"), environment: [:]),
                       config)
    }

    func testRoundTripOfAConfigurationWithEveryKeyChanged() throws {
        let config = try DaemonConfig.parse(toml: Self.everythingChanged, baseDirectory: ConfigFixture.base,
                                            environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/ferryd.service"])
        let rendered = config.renderEffective()
        // Paths come out absolute, so the round trip needs neither the base directory nor the credentials directory.
        let again = try DaemonConfig.parse(toml: rendered, baseDirectory: URL(fileURLWithPath: "/elsewhere"), environment: [:])
        XCTAssertEqual(again, config)
        XCTAssertEqual(again.renderEffective(), rendered)
        XCTAssertTrue(rendered.contains("private_key = \"/run/credentials/ferryd.service/server.key\""), rendered)
        XCTAssertTrue(rendered.contains("rotate_after_bytes = 123456789\n"), rendered)
        XCTAssertTrue(rendered.contains("max_file_size = \"500MB\"\n"), rendered)
    }

    /// Each key appears once, under its section, preceded by its doc line and its summary.
    func testRenderedKeysCarryTheirDocLine() {
        let rendered = ConfigFixture.defaults().renderEffective()
        let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var section = ""
        var seen: [String] = []
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("[") { section = String(line.dropFirst().dropLast()); continue }
            guard !line.hasPrefix("#"), let equals = line.range(of: " = ") else { continue }
            let name = String(line[..<equals.lowerBound])
            guard let key = ConfigKeys.key(section: section, name: name) else { return XCTFail("unexpected key \(section).\(name)") }
            XCTAssertEqual(lines[index - 2], "# \(key.doc)")
            XCTAssertEqual(lines[index - 1], "# (\(key.summary))")
            seen.append(key.path)
        }
        XCTAssertEqual(seen, ConfigKeys.all.map(\.path))
        XCTAssertTrue(rendered.contains("""
            [limits]
            # Connections open at once, handshaking or not; more are closed on accept.
            # (integer, 1…1000000, default 10000; reloadable)
            max_sessions = 10000
            """), rendered)
    }

    func testStringsAreEscaped() {
        XCTAssertEqual(TOMLText.quoted("a\"b\\c\nd\u{1}\u{7F}é"), "\"a\\\"b\\\\c\\nd\\u0001\\u007Fé\"")
        XCTAssertEqual(TOMLText.array([]), "[]")
        XCTAssertEqual(TOMLText.byteSize(0), "0")
        XCTAssertEqual(TOMLText.byteSize(1 << 30), "\"1GiB\"")
        XCTAssertEqual(TOMLText.byteSize(1001), "1001")
    }

    // MARK: Reload

    func testRestartRequiredChangesListsOnlyChangedNonReloadableKeys() throws {
        let old = ConfigFixture.defaults()
        XCTAssertEqual(old.restartRequiredChanges(from: old), [])

        var reloadable = old
        reloadable.log.level = .debug
        reloadable.limits.maxSessions = 5
        reloadable.protocol.ciphers = [.chacha20Poly1305]
        reloadable.identity.certificate = URL(fileURLWithPath: "/etc/ferry/new.crt", isDirectory: false)
        XCTAssertEqual(reloadable.restartRequiredChanges(from: old), [])
        XCTAssertEqual(reloadable.changedKeys(from: old),
                       ["identity.certificate", "protocol.ciphers", "limits.max_sessions", "log.level"])

        var restart = reloadable
        restart.server.listen = [ListenAddress(host: "0.0.0.0", port: 7443)]
        restart.server.workers = 2
        restart.storage.root = URL(fileURLWithPath: "/srv/ferry", isDirectory: true)
        restart.storage.staging = "partial"
        restart.metrics.listen = ListenAddress(host: "127.0.0.1", port: 9100)
        XCTAssertEqual(restart.restartRequiredChanges(from: old),
                       ["server.listen", "server.workers", "storage.root", "storage.staging", "metrics.listen"])
        XCTAssertEqual(restart.restartRequiredChanges(from: reloadable), restart.restartRequiredChanges(from: old))
    }

    /// check-config never shows index.url's password, but a reload that changes only the password is a change that
    /// needs a restart (the pool keeps its connections), never taken as "nothing changed".
    func testAChangedPasswordInTheIndexURLIsAChangeThoughNeverShown() throws {
        var old = ConfigFixture.defaults()
        old.index.url = "postgresql://ferry:first@db.example/ferry"
        var new = old
        new.index.url = "postgresql://ferry:second@db.example/ferry"
        let key = try XCTUnwrap(ConfigKeys.all.first { $0.path == "index.url" })
        XCTAssertEqual(key.render(old), key.render(new), "both shown as ***")
        XCTAssertFalse(key.render(new).contains("second"))
        XCTAssertEqual(new.restartRequiredChanges(from: old), ["index.url"])
        XCTAssertEqual(new.changedKeys(from: old), ["index.url"])
        new.index.url = "host=db.example password='third' dbname=ferry"
        old.index.url = "host=db.example password='fourth' dbname=ferry"
        XCTAssertEqual(key.render(old), key.render(new))
        XCTAssertEqual(new.restartRequiredChanges(from: old), ["index.url"])
    }

    func testRestartRequiredChangesFromParsedFiles() throws {
        let old = try ConfigFixture.parse("[server]\nlisten = [\"127.0.0.1:7443\"]\n")
        let same = try ConfigFixture.parse("[server]\nlisten = [\"127.0.0.1:7443\"]\n[log]\nlevel = \"debug\"\n")
        let moved = try ConfigFixture.parse("[server]\nlisten = [\"127.0.0.1:7443\", \"[::1]:7443\"]\nworkers = 3\n")
        XCTAssertEqual(same.restartRequiredChanges(from: old), [])
        XCTAssertEqual(moved.restartRequiredChanges(from: old), ["server.listen", "server.workers"])
    }

    func testWorkerCount() {
        var config = ConfigFixture.defaults()
        XCTAssertEqual(config.workerCount(activeProcessors: 8), 8)
        XCTAssertEqual(config.workerCount(activeProcessors: 0), 1)
        config.server.workers = 3
        XCTAssertEqual(config.workerCount(activeProcessors: 8), 3)
    }
}
