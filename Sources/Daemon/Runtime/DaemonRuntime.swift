// From a configuration file to what the daemon runs with: the config validated, the certificate, key and client CA
// read and checked against each other, the storage root and staging directory created. Every failure is one clear
// message naming the file or key (no stack traces for operators).
import ArgumentParser
import Foundation
import Logging
import Platform
import Protocol
import Store

struct DaemonRuntime {
    let config: DaemonConfig
    let settings: RuntimeSettings
    var logLevel: Logger.Level { config.log.level }
    var logFormat: LogFormat { config.log.format }
    var effectiveTOML: String { config.renderEffective() }

    /// What the operator should know but that does not stop the daemon (a CA without a CRL, a stale CRL): logged at
    /// start and reload, printed by check-config.
    let warnings: [String]

    static func load(configPath: String) throws -> DaemonRuntime {
        let config: DaemonConfig
        do { config = try DaemonConfig.load(path: configPath) } catch { throw ValidationError("\(error)") }
        return try DaemonRuntime(config: config, now: SystemClock.unixSeconds())
    }

    /// A runtime whose settings were already resolved (a reload keeping what needs a restart).
    init(config: DaemonConfig, settings: RuntimeSettings, warnings: [String] = []) {
        self.config = config
        self.settings = settings
        self.warnings = warnings
    }

    init(config: DaemonConfig, now: Int64) throws {
        self.config = config
        let chain = try Self.read(config.identity.certificate, "identity.certificate")
        // The key's file modes and its passphrase, with their own messages: ServerKey.swift.
        let serverKey: ServerKey
        do { serverKey = try ServerKey.load(config.identity) } catch { throw ValidationError(error.description) }
        let clientCA = try Self.read(config.identity.clientCA, "identity.client_ca")
        let identity: Identity
        do { identity = try Identity(chainPEM: chain, key: serverKey.key) } catch {
            throw ValidationError("identity.certificate / identity.private_key: \(error)")
        }
        let trust: ClientTrust
        do {
            trust = try ClientTrust.load(bundlePEM: clientCA, bundlePath: config.identity.clientCA.path,
                                         crlFiles: config.identity.crl, stale: config.identity.crlStale, now: now)
        } catch {
            throw ValidationError(error.description)
        }
        warnings = serverKey.warnings + trust.warnings
        var protocolConfiguration = ServerConfiguration(identity: identity, clientTrust: trust.store)
        protocolConfiguration.admission = AccessRules.admission(config.access)
        protocolConfiguration.preferences = config.protocolPreferences()
        protocolConfiguration.rotation = config.rotationPolicy()
        guard !Set(protocolConfiguration.preferences.signatureSchemes).isDisjoint(with: identity.key.schemes) else {
            throw ValidationError("protocol.signatures allows none of the schemes the server key signs with "
                + "(\(identity.key.schemes.map(\.name).joined(separator: ", ")))")
        }
        try Self.prepareStorage(root: config.storage.root, staging: config.storage.staging)
        settings = RuntimeSettings(
            listen: config.server.listen, workers: config.workerCount(), protocolConfiguration: protocolConfiguration,
            storageRoot: config.storage.root, stagingName: config.storage.staging, allowOverwrite: config.storage.allowOverwrite,
            fsync: config.storage.fsync,
            directIO: config.storage.directIO,
            reserve: config.storage.reserve, partialTTLSeconds: Int64(config.storage.partialTTLSeconds),
            resumeInterval: config.storage.resumeInterval,
            maxSessions: config.limits.maxSessions, handshakeTimeoutSeconds: UInt64(config.limits.handshakeTimeoutSeconds),
            idleTimeoutSeconds: UInt64(config.limits.idleTimeoutSeconds), maxFileSize: config.limits.maxFileSize,
            shutdownGraceSeconds: UInt64(config.server.shutdownGraceSeconds))
    }

    private static func read(_ url: URL, _ key: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ValidationError("\(key): cannot read \(url.path)")
        }
        return [UInt8](data)
    }

    /// The root must exist (created here when missing: the operator named it) and the staging directory below it must
    /// be a real directory on the same file system (so the final link or rename is atomic) that ferryd may write: the
    /// store's own check, through descriptors.
    private static func prepareStorage(root: URL, staging: String) throws {
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw ValidationError("storage.root: cannot create \(root.path): \(error.localizedDescription)")
        }
        do { try Store.checkLayout(rootPath: root.path, staging: staging) } catch {
            throw ValidationError("storage.root: \(error)")
        }
    }
}
