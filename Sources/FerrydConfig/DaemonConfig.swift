// The effective configuration of ferryd: what the loader produced from the file, after every check.
//
// The fields start at zero values on purpose: the defaults, bounds and docs live once, in ConfigKeys.all (the way
// redis keeps them in config.c static_configs[] while the server struct is zero-initialised), and `defaults` applies
// them. A field without an entry in the table is a bug that the tests catch (every key renders and round-trips).

import Foundation
import Logging
import Protocol

package struct DaemonConfig: Equatable, Sendable {
    package var server = ServerSection()
    package var identity = IdentitySection()
    package var access = AccessSection()
    package var quotas = QuotasSection()
    package var storage = StorageSection()
    package var index = IndexSection()
    var `protocol` = ProtocolSection()
    package var limits = LimitsSection()
    package var log = LogSection()
    package var metrics = MetricsSection()

    package struct ServerSection: Equatable, Sendable {
        package var listen: [ListenAddress] = []
        /// 0 = one worker per core (see `workerCount(activeProcessors:)`).
        package var workers = 0
        package var shutdownGraceSeconds = 0
    }

    /// Absolute file URLs, resolved against the configuration file's directory.
    package struct IdentitySection: Equatable, Sendable {
        package var certificate = DaemonConfig.unsetPath
        package var privateKey = DaemonConfig.unsetPath
        package var clientCA = DaemonConfig.unsetPath
        /// The bundle the server's own chain is checked against; nil = clientCA (one CA issues both).
        package var serverCA: URL? = nil
        /// A namespace per certificate of the client_ca bundle, in order; empty = automatic (ClientNamespaces).
        package var clientCANamespaces: [String] = []
        /// PEM files of the intermediate CAs a client's chain may pass through; empty = none.
        package var clientIntermediates: [URL] = []
        /// CRL files (PEM or DER) for the client CAs; empty = revocation not checked.
        package var crl: [URL] = []
        package var crlStale = StaleRevocationListPolicy.accept
        /// The file holding the passphrase of an encrypted private key; nil = none (ServerKey.swift).
        package var privateKeyPassphraseFile: URL?
        /// Whether a key or passphrase file that group or others may access is used anyway (ServerKey.swift).
        package var allowReadablePrivateKey = false
    }

    /// Who may connect beyond holding a valid certificate.
    package struct AccessSection: Equatable, Sendable {
        package var denyIdentities: [String] = []
        /// Lower-case hex SHA-256 fingerprints, 64 digits, no separators (normalised by the loader).
        package var denyFingerprints: [String] = []
        /// What identities may do beyond their own namespace, each in its canonical text (AccessGrant).
        package var grants: [String] = []

        /// `grants`, parsed (the loader checked every entry).
        package var parsedGrants: [AccessGrant] { grants.compactMap { try? AccessGrant.parse($0).get() } }
    }

    package struct StorageSection: Equatable, Sendable {
        /// Absolute directory URL.
        package var root = DaemonConfig.unsetPath
        package var allowOverwrite = false
        /// fsync the data and the directory before Committed (false: the page cache decides when, as sftp/scp do).
        package var fsync = true
        /// Write uploads with O_DIRECT where the file system supports it (false: through the page cache).
        package var directIO = true
        /// One path component: the directory under `root` that holds .part files.
        package var staging = ""
        /// Free space no upload may take: an upload is refused at Open when it would not leave this much.
        package var reserve: UInt64 = 0
        /// A partial upload not written for this long is removed (its client did not come back to resume it).
        package var partialTTLSeconds = 0
        /// Bytes between two durable resume points of an upload.
        package var resumeInterval: UInt64 = 0
        /// Other ferryd share this root (docs/STORE.md "Several daemons on one root"); needs the PostgreSQL index.
        package var shared = false
    }

    /// Per-namespace limits (docs/STORE.md "Quotas"); 0 = none.
    package struct QuotasSection: Equatable, Sendable {
        package var bytes: UInt64 = 0
        package var files = 0
        /// Each in its canonical text (QuotaOverride).
        package var overrides: [String] = []

        /// `overrides`, parsed (the loader checked every entry), by namespace.
        package var parsedOverrides: [String: QuotaOverride] {
            Dictionary(overrides.compactMap { try? QuotaOverride.parse($0).get() }.map { ($0.namespace, $0) },
                       uniquingKeysWith: { _, last in last })
        }

        /// Whether any limit is set.
        package var any: Bool { bytes > 0 || files > 0 || !overrides.isEmpty }

        package init(bytes: UInt64 = 0, files: Int = 0, overrides: [String] = []) {
            self.bytes = bytes
            self.files = files
            self.overrides = overrides
        }
    }

    package struct IndexSection: Equatable, Sendable {
        package var backend = IndexBackend.sqlite
        /// nil: `<storage.root>/<defaultDirectory>/<defaultFile>` (SQLite only).
        package var path: URL?
        /// PostgreSQL only: the server's libpq connection string or URI.
        package var url = ""
        /// PostgreSQL only: connections kept to the server.
        package var poolSize = 4
        /// PostgreSQL only: seconds to connect.
        package var connectTimeout = 10
        /// PostgreSQL only: seconds a statement, or a wait for a connection of the pool, may take.
        package var queryTimeout = 30
        /// With storage.shared: this daemon's name among those sharing the root; "" = the host name.
        package var node = ""

        package init(backend: IndexBackend = .sqlite, path: URL? = nil) {
            self.backend = backend
            self.path = path
        }
    }

    /// Where the metadata index is kept (docs/STORE.md).
    package enum IndexBackend: String, CaseIterable, Sendable {
        /// A SQLite database file, embedded (the default).
        case sqlite
        /// No index: uploads only (listings, stat and quotas need one).
        case off
        /// A PostgreSQL server (`index.url`), for an index kept apart from the daemon's host.
        case postgresql
    }

    /// The index's place when `index.path` is not set: a directory of the daemon's own under the root (a name starting
    /// with "." there is never an identity's, NameRules).
    package static let defaultIndexDirectory = ".index"
    package static let defaultIndexFile = "metadata.sqlite"

    package struct ProtocolSection: Equatable, Sendable {
        var ciphers: [CipherSuite] = []
        var groups: [KeyExchangeGroup] = []
        var hashes: [HashFunction] = []
        var signatures: [SignatureScheme] = []
        /// 0 = no volume rotation (the AEAD hard limit still applies).
        var rotateAfterBytes: UInt64 = 0
        /// 0 = no time rotation.
        var rotateAfterSeconds = 0
    }

    package struct LimitsSection: Equatable, Sendable {
        package var maxSessions = 0
        package var maxSessionsPerSource = 0
        package var maxDownloads = 0
        package var maxHandshakesPerSource = 0
        package var handshakeRatePerSource = 0
        package var handshakeBurstPerSource = 0
        package var handshakeTimeoutSeconds = 0
        package var idleTimeoutSeconds = 0
        /// 0 = unlimited.
        package var maxFileSize: UInt64 = 0
    }

    package enum LogFormat: String, CaseIterable, Sendable {
        case logfmt
        case json
    }

    package struct LogSection: Equatable, Sendable {
        package var level = Logger.Level.info
        package var format = LogFormat.logfmt
    }

    package struct MetricsSection: Equatable, Sendable {
        /// nil = no metrics listener.
        package var listen: ListenAddress?
    }

    /// The value of a required path before the file sets it. Never seen outside the loader: a configuration without
    /// the key is refused.
    static let unsetPath = URL(fileURLWithPath: "/", isDirectory: true)

    /// Every key at its declared default; the three identity paths have no default and are given here.
    static func defaults(certificate: URL, privateKey: URL, clientCA: URL) -> DaemonConfig {
        var config = DaemonConfig()
        for key in ConfigKeys.all { key.applyDefault(&config) }
        config.identity.certificate = certificate
        config.identity.privateKey = privateKey
        config.identity.clientCA = clientCA
        return config
    }

    // MARK: What the rest of the daemon reads

    /// The algorithm lists for `ServerConfiguration.preferences`, in the configured order of preference.
    package func protocolPreferences() -> AlgorithmPreferences {
        AlgorithmPreferences(cipherSuites: self.protocol.ciphers, groups: self.protocol.groups,
                             hashes: self.protocol.hashes, signatureSchemes: self.protocol.signatures)
    }

    /// The rotation policy for `ServerConfiguration.rotation` (0 in either setting means "not on this criterion").
    package func rotationPolicy() -> RotationPolicy {
        RotationPolicy(afterBytes: self.protocol.rotateAfterBytes, afterSeconds: UInt64(self.protocol.rotateAfterSeconds))
    }

    /// Worker threads to start: `server.workers`, or one per core when it is 0.
    package func workerCount(activeProcessors: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        server.workers == 0 ? max(1, activeProcessors) : server.workers
    }

    /// The keys (dotted names) whose value differs between `old` and `self` and that a SIGHUP reload cannot apply.
    /// Empty = the reload can take the new configuration as a whole. The daemon logs these and keeps running with
    /// the old values for them until a restart (or refuses the reload: its choice).
    package func restartRequiredChanges(from old: DaemonConfig) -> [String] {
        ConfigKeys.all.filter { !$0.reloadable && $0.value(old) != $0.value(self) }.map(\.path)
    }

    /// Every key whose value differs (for the reload log line).
    package func changedKeys(from old: DaemonConfig) -> [String] {
        ConfigKeys.all.filter { $0.value(old) != $0.value(self) }.map(\.path)
    }
}
