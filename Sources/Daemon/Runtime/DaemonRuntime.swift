// From a configuration file to what the daemon runs with: the config validated, the certificate, key and client CA
// read and checked against each other and the server's chain as clients will check it (ServerCertificateCheck), the
// clients' trust read with its CRLs, intermediates and namespaces (ClientTrust), the
// storage root checked and the staging directory in it created. Every failure is one clear message naming the file
// or key (no stack traces for operators).
import ArgumentParser
import FerrydConfig
import Foundation
import Logging
import Platform
import Protocol
import Store

struct DaemonRuntime {
    let config: DaemonConfig
    let settings: RuntimeSettings
    /// Certificate warnings (expiring soon) and every certificate's expiry, for the log, check-config and metrics.
    var certificates = CertificateReport()
    /// What the operator should know about the clients' trust but that does not stop the daemon (a CA without a CRL,
    /// a stale CRL): logged at start and reload, printed by check-config.
    let warnings: [String]
    /// What is worth a line in the log at start and reload but is no problem (where each CA's clients go).
    let notes: [String]
    var logLevel: Logger.Level { config.log.level }
    var logFormat: LogFormat { config.log.format }
    var effectiveTOML: String { config.renderEffective() }

    static func load(configPath: String) throws -> DaemonRuntime {
        let config: DaemonConfig
        do { config = try DaemonConfig.load(path: configPath) } catch { throw ValidationError("\(error)") }
        return try DaemonRuntime(config: config)
    }

    /// A runtime whose settings were already resolved (a reload keeping what needs a restart).
    init(config: DaemonConfig, settings: RuntimeSettings, warnings: [String] = [], notes: [String] = []) {
        self.config = config
        self.settings = settings
        self.warnings = warnings
        self.notes = notes
    }

    /// `now`: the time certificates are checked at (Unix seconds).
    init(config: DaemonConfig, now: Int64 = SystemClock.unixSeconds()) throws {
        self.config = config
        let chain = try Self.read(config.identity.certificate, "identity.certificate")
        // The key's file modes and its passphrase, with their own messages: ServerKey.swift.
        let serverKey: ServerKey
        do { serverKey = try ServerKey.load(config.identity) } catch { throw ValidationError(error.description) }
        let clientCA = try Self.read(config.identity.clientCA, "identity.client_ca")
        let identity: Identity
        do { identity = try Identity(chainPEM: chain, key: serverKey.key) } catch {
            throw ValidationError("identity.certificate (\(config.identity.certificate.path)) / identity.private_key "
                + "(\(config.identity.privateKey.path)): \(error)")
        }
        let clientBundle = try Self.bundle(clientCA, "identity.client_ca", config.identity.clientCA)
        let serverBundle = try config.identity.serverCA.map { url in
            try Self.bundle(Self.read(url, "identity.server_ca"), "identity.server_ca", url)
        }
        certificates = try ServerCertificateCheck.check(identity: identity, certificatePath: config.identity.certificate.path,
                                                        clientCA: clientBundle, serverCA: serverBundle, now: now)
        // Clients are checked against client_ca with its CRLs, permitted intermediates and namespaces (ClientTrust);
        // the server's own chain above against the plain bundle it will be verified with.
        let trust: ClientTrust
        do {
            trust = try ClientTrust.load(bundlePEM: clientCA, bundlePath: config.identity.clientCA.path,
                                         namespaces: config.identity.clientCANamespaces,
                                         intermediateFiles: config.identity.clientIntermediates,
                                         crlFiles: config.identity.crl, stale: config.identity.crlStale, now: now)
        } catch {
            throw ValidationError(error.description)
        }
        certificates.revocationLists = trust.schedules
        warnings = serverKey.warnings + trust.warnings
        notes = trust.notes
        var protocolConfiguration = ServerConfiguration(identity: identity, clientTrust: trust.store)
        protocolConfiguration.admission = AccessRules.admission(config.access, staging: config.storage.staging)
        protocolConfiguration.admission.namespaces = trust.namespaces
        protocolConfiguration.preferences = config.protocolPreferences()
        protocolConfiguration.rotation = config.rotationPolicy()
        // protocol.signatures is what clients may sign with; the server signs with what its key makes (PROTOCOL.md §4),
        // so the list need not hold the server's own scheme.
        try Self.prepareStorage(root: config.storage.root, staging: config.storage.staging)
        settings = RuntimeSettings(
            listen: config.server.listen, workers: config.workerCount(), protocolConfiguration: protocolConfiguration,
            storageRoot: config.storage.root, stagingName: config.storage.staging, sharedStorage: config.storage.shared,
            index: config.index,
            allowOverwrite: config.storage.allowOverwrite,
            fsync: config.storage.fsync,
            directIO: config.storage.directIO,
            reserve: config.storage.reserve, partialTTLSeconds: Int64(config.storage.partialTTLSeconds),
            resumeInterval: config.storage.resumeInterval,
            maxSessions: config.limits.maxSessions, maxDownloads: config.limits.maxDownloads,
            sourceLimits: SourceLimits.Settings(maxHandshaking: config.limits.maxHandshakesPerSource,
                                                maxSessions: config.limits.maxSessionsPerSource,
                                                ratePerSecond: config.limits.handshakeRatePerSource,
                                                burst: config.limits.handshakeBurstPerSource),
            handshakeTimeoutSeconds: UInt64(config.limits.handshakeTimeoutSeconds),
            idleTimeoutSeconds: UInt64(config.limits.idleTimeoutSeconds), maxFileSize: config.limits.maxFileSize,
            shutdownGraceSeconds: UInt64(config.server.shutdownGraceSeconds),
            access: AccessPolicy(grants: config.access.parsedGrants), quotas: QuotaPolicy(config.quotas))
    }

    private static func read(_ url: URL, _ key: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ValidationError("\(key): cannot read \(url.path)")
        }
        return [UInt8](data)
    }

    private static func bundle(_ pem: [UInt8], _ key: String, _ url: URL) throws -> ServerCertificateCheck.Bundle {
        do {
            return ServerCertificateCheck.Bundle(key: key, path: url.path, trust: try TrustStore(pemBundle: pem),
                                                 certificates: try Certificate.chain(fromPEM: pem))
        } catch {
            throw ValidationError("\(key) (\(url.path)): \(error)")
        }
    }

    /// The root must exist: ferryd does not create it. A root that is missing is a typo, an unmounted volume or a
    /// step of the installation not done, and creating it would take uploads to a place nobody backs up or looks at
    /// (or fill the root file system under an unmounted mount point), with an owner and mode nobody chose. The staging
    /// directory below it is ferryd's own and is created when missing; it must be a real directory on the same file
    /// system (so the final link or rename is atomic) that ferryd may write: the store's own check, through descriptors.
    private static func prepareStorage(root: URL, staging: String) throws {
        do {
            let descriptor = try DirectoryCalls.openDirectory(path: root.path)
            defer { DirectoryCalls.close(descriptor) }
            do { try DirectoryCalls.checkWritable(descriptor) } catch {
                let user = RunningUser.current
                throw ValidationError("storage.root: \(root.path) is not writable by ferryd, which runs as \(user.name) "
                    + "(uid \(user.uid)): \(error.message). Give it to that user (chown \(user.name): \(root.path); "
                    + "chmod 0750 \(root.path)), or run ferryd as the directory's owner")
            }
        } catch let error as ValidationError {
            throw error
        } catch let error as SystemError {
            switch error.number {
            case ENOENT:
                throw ValidationError("storage.root: \(root.path) does not exist, and ferryd does not create it: create "
                    + "it, owned by the user ferryd runs as and closed to others (e.g. install -d -m 0750 -o ferry -g "
                    + "ferry \(root.path)), or correct the path")
            case ENOTDIR:
                throw ValidationError("storage.root: \(root.path) is not a directory")
            default:
                throw ValidationError("storage.root: cannot open \(root.path): \(error.message)")
            }
        }
        do { try Store.checkLayout(rootPath: root.path, staging: staging) } catch {
            throw ValidationError("storage.root: \(error)")
        }
    }
}
