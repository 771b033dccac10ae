// From a configuration file to what the daemon runs with: the config validated, the certificate, key and client CA
// read and checked against each other, the storage root and staging directory created. Every failure is one clear
// message naming the file or key (no stack traces for operators).
import ArgumentParser
import FerrydConfig
import Foundation
import Logging
import Protocol
import Store

struct DaemonRuntime {
    let config: DaemonConfig
    let settings: RuntimeSettings
    var logLevel: Logger.Level { config.log.level }
    var logFormat: LogFormat { config.log.format }
    var effectiveTOML: String { config.renderEffective() }

    static func load(configPath: String) throws -> DaemonRuntime {
        let config: DaemonConfig
        do { config = try DaemonConfig.load(path: configPath) } catch { throw ValidationError("\(error)") }
        return try DaemonRuntime(config: config)
    }

    /// A runtime whose settings were already resolved (a reload keeping what needs a restart).
    init(config: DaemonConfig, settings: RuntimeSettings) {
        self.config = config
        self.settings = settings
    }

    init(config: DaemonConfig) throws {
        self.config = config
        let chain = try Self.read(config.identity.certificate, "identity.certificate")
        let key = try Self.read(config.identity.privateKey, "identity.private_key")
        let clientCA = try Self.read(config.identity.clientCA, "identity.client_ca")
        let identity: Identity
        do { identity = try Identity(chainPEM: chain, keyPEM: key) } catch {
            throw ValidationError("identity.certificate / identity.private_key: \(error)")
        }
        let trust: TrustStore
        do { trust = try TrustStore(pemBundle: clientCA) } catch {
            throw ValidationError("identity.client_ca (\(config.identity.clientCA.path)): \(error)")
        }
        var protocolConfiguration = ServerConfiguration(identity: identity, clientTrust: trust)
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
