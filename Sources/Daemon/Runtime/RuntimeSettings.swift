// What the running daemon needs, resolved from the configuration once (files read, certificates parsed), so a worker
// never touches the config file or parses PEM on the loop thread. Rebuilt on reload.
import FerrydConfig
import Foundation
import Platform
import Protocol

struct RuntimeSettings: Sendable {
    var listen: [ListenAddress]
    /// Worker threads (each with its own loop), already resolved from 0 = one per core.
    var workers: Int
    var protocolConfiguration: ServerConfiguration
    var storageRoot: URL
    var stagingName: String
    /// storage.shared: other daemons share the root (Store+Sharing.swift).
    var sharedStorage = false
    /// [index]: where the metadata index is kept (IndexOpening).
    var index: DaemonConfig.IndexSection
    var allowOverwrite: Bool
    /// storage.fsync: make each committed upload durable before saying so.
    var fsync: Bool
    /// storage.direct_io: write uploads past the page cache (O_DIRECT) where the file system allows it.
    var directIO: Bool
    /// storage.reserve, storage.partial_ttl, storage.resume_interval.
    var reserve: UInt64
    var partialTTLSeconds: Int64
    var resumeInterval: UInt64
    var maxSessions: Int
    /// limits.max_downloads: Gets streaming at once, daemon-wide (DaemonShared.reserveGet).
    var maxDownloads = 256
    /// limits.*_per_source.
    var sourceLimits: SourceLimits.Settings
    var handshakeTimeoutSeconds: UInt64
    var idleTimeoutSeconds: UInt64
    /// 0 = unlimited.
    var maxFileSize: UInt64
    var shutdownGraceSeconds: UInt64
    /// [access] grants: what clients may do beyond their own namespace.
    var access = AccessPolicy(grants: [])
    /// [quotas]: each namespace's limits.
    var quotas = QuotaPolicy()
}

/// The clock readings the protocol wants (it reads no clock itself), from Platform's one clock.
enum Clock {
    static func now() -> Now {
        Now(monotonicNanoseconds: SystemClock.monotonicNanoseconds(), unixSeconds: SystemClock.unixSeconds())
    }
}
