// The effective configuration of ferryd: what the loader produced from the file, after every check.
//
// The fields start at zero values on purpose: the defaults, bounds and docs live once, in ConfigKeys.all (the way
// redis keeps them in config.c static_configs[] while the server struct is zero-initialised), and `defaults` applies
// them. A field without an entry in the table is a bug that the tests catch (every key renders and round-trips).

import Foundation
import Logging
import Protocol

struct DaemonConfig: Equatable, Sendable {
    var server = ServerSection()
    var identity = IdentitySection()
    var access = AccessSection()
    var storage = StorageSection()
    var `protocol` = ProtocolSection()
    var limits = LimitsSection()
    var log = LogSection()
    var metrics = MetricsSection()

    struct ServerSection: Equatable, Sendable {
        var listen: [ListenAddress] = []
        /// 0 = one worker per core (see `workerCount(activeProcessors:)`).
        var workers = 0
        var shutdownGraceSeconds = 0
    }

    /// Absolute file URLs, resolved against the configuration file's directory.
    struct IdentitySection: Equatable, Sendable {
        var certificate = DaemonConfig.unsetPath
        var privateKey = DaemonConfig.unsetPath
        var clientCA = DaemonConfig.unsetPath
        /// The bundle the server's own chain is checked against; nil = clientCA (one CA issues both).
        var serverCA: URL? = nil
        /// A namespace per certificate of the client_ca bundle, in order; empty = automatic (ClientNamespaces).
        var clientCANamespaces: [String] = []
        /// PEM files of the intermediate CAs a client's chain may pass through; empty = none.
        var clientIntermediates: [URL] = []
        /// CRL files (PEM or DER) for the client CAs; empty = revocation not checked.
        var crl: [URL] = []
        var crlStale = StaleRevocationListPolicy.accept
        /// The file holding the passphrase of an encrypted private key; nil = none (ServerKey.swift).
        var privateKeyPassphraseFile: URL?
        /// Whether a key or passphrase file that group or others may access is used anyway (ServerKey.swift).
        var allowReadablePrivateKey = false
    }

    /// Who may connect beyond holding a valid certificate.
    struct AccessSection: Equatable, Sendable {
        var denyIdentities: [String] = []
        /// Lower-case hex SHA-256 fingerprints, 64 digits, no separators (normalised by the loader).
        var denyFingerprints: [String] = []
    }

    struct StorageSection: Equatable, Sendable {
        /// Absolute directory URL.
        var root = DaemonConfig.unsetPath
        var allowOverwrite = false
        /// fsync the data and the directory before Committed (false: the page cache decides when, as sftp/scp do).
        var fsync = true
        /// Write uploads with O_DIRECT where the file system supports it (false: through the page cache).
        var directIO = true
        /// One path component: the directory under `root` that holds .part files.
        var staging = ""
        /// Free space no upload may take: an upload is refused at Open when it would not leave this much.
        var reserve: UInt64 = 0
        /// A partial upload not written for this long is removed (its client did not come back to resume it).
        var partialTTLSeconds = 0
        /// Bytes between two durable resume points of an upload.
        var resumeInterval: UInt64 = 0
    }

    struct ProtocolSection: Equatable, Sendable {
        var ciphers: [CipherSuite] = []
        var groups: [KeyExchangeGroup] = []
        var hashes: [HashFunction] = []
        var signatures: [SignatureScheme] = []
        /// 0 = no volume rotation (the AEAD hard limit still applies).
        var rotateAfterBytes: UInt64 = 0
        /// 0 = no time rotation.
        var rotateAfterSeconds = 0
    }

    struct LimitsSection: Equatable, Sendable {
        var maxSessions = 0
        var maxSessionsPerSource = 0
        var maxHandshakesPerSource = 0
        var handshakeRatePerSource = 0
        var handshakeBurstPerSource = 0
        var handshakeTimeoutSeconds = 0
        var idleTimeoutSeconds = 0
        /// 0 = unlimited.
        var maxFileSize: UInt64 = 0
    }

    enum LogFormat: String, CaseIterable, Sendable {
        case logfmt
        case json
    }

    struct LogSection: Equatable, Sendable {
        var level = Logger.Level.info
        var format = LogFormat.logfmt
    }

    struct MetricsSection: Equatable, Sendable {
        /// nil = no metrics listener.
        var listen: ListenAddress?
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
    func protocolPreferences() -> AlgorithmPreferences {
        AlgorithmPreferences(cipherSuites: self.protocol.ciphers, groups: self.protocol.groups,
                             hashes: self.protocol.hashes, signatureSchemes: self.protocol.signatures)
    }

    /// The rotation policy for `ServerConfiguration.rotation` (0 in either setting means "not on this criterion").
    func rotationPolicy() -> RotationPolicy {
        RotationPolicy(afterBytes: self.protocol.rotateAfterBytes, afterSeconds: UInt64(self.protocol.rotateAfterSeconds))
    }

    /// Worker threads to start: `server.workers`, or one per core when it is 0.
    func workerCount(activeProcessors: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        server.workers == 0 ? max(1, activeProcessors) : server.workers
    }

    /// The keys (dotted names) whose value differs between `old` and `self` and that a SIGHUP reload cannot apply.
    /// Empty = the reload can take the new configuration as a whole. The daemon logs these and keeps running with
    /// the old values for them until a restart (or refuses the reload: its choice).
    func restartRequiredChanges(from old: DaemonConfig) -> [String] {
        ConfigKeys.all.filter { !$0.reloadable && $0.render(old) != $0.render(self) }.map(\.path)
    }

    /// Every key whose value differs (for the reload log line).
    func changedKeys(from old: DaemonConfig) -> [String] {
        ConfigKeys.all.filter { $0.render(old) != $0.render(self) }.map(\.path)
    }
}
