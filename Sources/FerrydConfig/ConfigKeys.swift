// Every ferryd configuration key, declared once: section, name, type, default, bounds, reloadability and doc line.
// The loader, the validator, `renderEffective()` (check-config) and `restartRequiredChanges` all read this table;
// config/ferryd.toml documents the same keys at length (a test checks that it sets every key to its default).
//
// Reload policy: a SIGHUP reload applies a new value to what starts after it (new connections, new handshakes, new
// uploads, the next log line); sessions already running keep the values they started with. Keys that would need
// sockets re-bound, threads re-spawned or in-flight uploads moved need a restart (`reloadable: false`):
//   server.listen, server.workers   the listeners and worker loops are made once, at start-up
//   storage.root, storage.staging   open .part files live there; moving them under a running upload would lose it,
//                                   and under systemd ProtectSystem=strict a new root is not even writable
//   metrics.listen                  a listening socket, like server.listen

import Logging
import Protocol
import Units

enum ConfigKeys {
    static let all: [ConfigKey] = [
        // MARK: [server]
        .listenAddresses("server", "listen", \.server.listen, default: ["127.0.0.1:7443"], reloadable: false,
                         doc: "Addresses to accept connections on: \"ipv4:port\", \"[ipv6]:port\" or \"localhost:port\"."),
        .integer("server", "workers", \.server.workers, default: 0, min: 0, max: 256, reloadable: false,
                 doc: "Worker threads, each running its own event loop; 0 = one per CPU core."),
        .integer("server", "shutdown_grace", \.server.shutdownGraceSeconds, default: 30, min: 0, max: 3600,
                 unit: "seconds", reloadable: true,
                 doc: "On SIGTERM, how long running uploads may finish before their connections are closed."),

        // MARK: [identity]
        .path("identity", "certificate", \.identity.certificate, default: nil, isDirectory: false, reloadable: true,
              doc: "The server's certificate chain (PEM, leaf first)."),
        .path("identity", "private_key", \.identity.privateKey, default: nil, isDirectory: false, credential: true,
              reloadable: true,
              doc: "The certificate's private key (PEM); a bare file name is taken from $CREDENTIALS_DIRECTORY when set."),
        .optionalPath("identity", "private_key_passphrase_file", \.identity.privateKeyPassphraseFile, credential: true,
                      reloadable: true,
                      doc: "File holding the passphrase of an encrypted private_key, on one line; a bare file name is "
                          + "taken from $CREDENTIALS_DIRECTORY when set; \"\" = none."),
        .boolean("identity", "allow_readable_private_key", \.identity.allowReadablePrivateKey, default: false,
                 reloadable: true,
                 doc: "Whether a private key or passphrase file that group or others may access is used anyway "
                     + "(false: refused, naming the file and the chmod that fixes it)."),
        .path("identity", "client_ca", \.identity.clientCA, default: nil, isDirectory: false, reloadable: true,
              doc: "CA bundle (PEM) that client certificates must chain to."),
        .optionalPath("identity", "server_ca", \.identity.serverCA, whenEmpty: "client_ca", reloadable: true,
                      doc: "CA bundle (PEM) clients verify the server with, if not client_ca; only checked, never sent."),
        .strings("identity", "client_ca_namespaces", \.identity.clientCANamespaces, entryDescription: "namespace names",
                 reloadable: true,
                 doc: "One namespace per certificate of client_ca, in file order: \"\" keeps its clients' identities as they "
                     + "are, \"partner\" makes them partner:NAME; default: the first CA \"\", each other its own.",
                 allowsRepeats: true, entry: AccessRules.namespaceEntry),
        .paths("identity", "client_intermediates", \.identity.clientIntermediates, reloadable: true,
               doc: "Intermediate CA certificates (PEM) a client's chain may pass through; none by default: clients must "
                   + "be issued directly by a CA in client_ca."),
        .paths("identity", "crl", \.identity.crl, reloadable: true,
               doc: "CRL files (PEM or DER) of the client CAs; when set, every certificate of a client's chain must be "
                   + "covered by its issuer's CRL."),
        .choice("identity", "crl_stale", \.identity.crlStale, default: StaleRevocationListPolicy.accept, reloadable: true,
                doc: "A CRL past its nextUpdate: accept (still revokes what it lists; warned) or refuse (every client "
                    + "its issuer covers is refused)."),

        // MARK: [access]
        .strings("access", "deny_identities", \.access.denyIdentities, entryDescription: "client identities",
                 reloadable: true, doc: "Client identities refused in the handshake (access_denied), whatever their certificate.",
                 entry: AccessRules.identityEntry),
        .strings("access", "deny_fingerprints", \.access.denyFingerprints, entryDescription: "SHA-256 fingerprints",
                 reloadable: true,
                 doc: "Certificates refused wherever they appear in a client's chain, by SHA-256 fingerprint (hex, "
                     + "colons allowed, as `openssl x509 -fingerprint -sha256` prints).",
                 entry: AccessRules.fingerprintEntry),
        .strings("access", "grants", \.access.grants, entryDescription: "grants", reloadable: true,
                 doc: "What a client may do beyond its own namespace, which it reads, lists, writes and deletes: "
                     + "\"IDENTITY: OPERATION, ... on TARGET\", IDENTITY a client's or * for every client, OPERATION read "
                     + "(get, verify), list (ls, stat), write (upload, a rename's new name), delete (rm, a rename's old "
                     + "name) or all, TARGET * (every namespace) or NAMESPACE or NAMESPACE/PATH (it and everything below "
                     + "it). Any grant on a path allows a stat of it; read and delete also a listing. E.g. "
                     + "[\"backup: read, list on *\", \"publisher: write, list on shared\"].",
                 entry: AccessGrant.entry),

        // MARK: [storage]
        .path("storage", "root", \.storage.root, default: "/var/lib/ferry", isDirectory: true, reloadable: false,
              doc: "Directory that receives uploads, as <root>/<client identity>/<path>."),
        .boolean("storage", "allow_overwrite", \.storage.allowOverwrite, default: false, reloadable: true,
                 doc: "Whether a client may replace an existing file when it asks to overwrite."),
        .boolean("storage", "fsync", \.storage.fsync, default: true, reloadable: true,
                 doc: "Whether a file's data and directory entry are fsync'ed before the upload is reported committed."),
        .boolean("storage", "direct_io", \.storage.directIO, default: true, reloadable: true,
                 doc: "Whether uploads are written, and large files read for Get, with O_DIRECT (past the page cache) where the file system allows it."),
        .component("storage", "staging", \.storage.staging, default: ".staging", reloadable: false,
                   doc: "Directory under root for partial uploads (.part files); one name, no '/'."),
        .byteSize("storage", "reserve", \.storage.reserve, default: 64 << 20, max: UInt64(Int64.max), reloadable: true,
                  doc: "Free space uploads may not take: a file that would leave less is refused at Open (no_space)."),
        .integer("storage", "partial_ttl", \.storage.partialTTLSeconds, default: 7 * 86400, min: 60, max: 365 * 86400,
                 unit: "seconds", reloadable: true,
                 doc: "A partial upload kept for resume is removed once it has not been written for this long."),
        .byteSize("storage", "resume_interval", \.storage.resumeInterval, default: 64 << 20, max: 1 << 40, reloadable: true,
                  doc: "Bytes between two durable resume points of an upload: what a crash may cost to send again."),
        .boolean("storage", "shared", \.storage.shared, default: false, reloadable: false,
                 doc: "Whether other ferryd share this storage root (a shared file system and one PostgreSQL index)."),

        // MARK: [index]
        .choice("index", "backend", \.index.backend, default: DaemonConfig.IndexBackend.sqlite, reloadable: false,
                doc: "Where the metadata index of stored files is kept: sqlite (a database file), postgresql (a server, "
                    + "index.url) or off (uploads only: listings, stat and quotas need the index)."),
        .optionalPath("index", "path", \.index.path,
                      whenEmpty: "\(DaemonConfig.defaultIndexDirectory)/\(DaemonConfig.defaultIndexFile) under storage.root",
                      reloadable: false,
                      doc: "The SQLite database file (its -wal and -shm files go beside it); on a local file system, "
                          + "never inside an identity's directory."),
        .text("index", "url", \.index.url, whenEmpty: "none (required with backend = \"postgresql\")", reloadable: false,
              shown: ConnectionString.redacted,
              doc: "The PostgreSQL server: a libpq URI or connection string; a password belongs in a passfile it names, "
                  + "not here."),
        .integer("index", "pool_size", \.index.poolSize, default: 4, min: 1, max: 64, reloadable: false,
                 doc: "Connections ferryd keeps to PostgreSQL."),
        .integer("index", "connect_timeout", \.index.connectTimeout, default: 10, min: 2, max: 300, unit: "seconds",
                 reloadable: false, doc: "How long a connection to PostgreSQL may take to open."),
        .integer("index", "query_timeout", \.index.queryTimeout, default: 30, min: 1, max: 3600, unit: "seconds",
                 reloadable: false,
                 doc: "How long one statement to PostgreSQL, or a wait for one of its connections, may take."),
        .text("index", "node", \.index.node, whenEmpty: "the host name", reloadable: false,
              doc: "This daemon's name among those sharing the storage root (storage.shared): each needs its own."),

        // MARK: [quotas]
        .byteSize("quotas", "bytes", \.quotas.bytes, default: 0, max: UInt64(Int64.max), reloadable: true,
                  doc: "Bytes a namespace may hold, its uploads in progress and kept partials counted (0 = no limit); "
                      + "an upload past it is refused at Open with no_space, naming the quota and the figures."),
        .integer("quotas", "files", \.quotas.files, default: 0, min: 0, max: 1 << 48, reloadable: true,
                 doc: "Files a namespace may hold, its uploads in progress counted (0 = no limit)."),
        .strings("quotas", "overrides", \.quotas.overrides, entryDescription: "namespace limits", reloadable: true,
                 doc: "One namespace's own limits instead of these defaults: \"NAMESPACE: bytes=SIZE files=COUNT\" "
                     + "(either left out keeps the default; 0 = no limit), e.g. [\"alice: bytes=50GiB files=100000\"].",
                 entry: QuotaOverride.entry),

        // MARK: [protocol]
        .algorithms("protocol", "ciphers", \.protocol.ciphers,
                    default: [.aes256GCM, .aes128GCM, .chacha20Poly1305, .aes256CBCHMACSHA256], reloadable: true,
                    doc: "Record protection suites accepted, most preferred first."),
        .algorithms("protocol", "groups", \.protocol.groups,
                    default: [.x25519MLKEM768, .x25519, .secp256r1],
                    reloadable: true, doc: "Key-exchange groups accepted, most preferred first."),
        .algorithms("protocol", "hashes", \.protocol.hashes, default: [.sha256, .sha384, .sha512], reloadable: true,
                    doc: "Transcript and key-derivation hashes accepted, most preferred first."),
        .algorithms("protocol", "signatures", \.protocol.signatures,
                    default: [.ed25519, .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .rsaPSSSHA256, .rsaPSSSHA384,
                              .rsaPSSSHA512],
                    reloadable: true,
                    doc: "Signature schemes clients may sign with, most preferred first (the server's own follows from its key)."),
        .byteSize("protocol", "rotate_after_bytes", \.protocol.rotateAfterBytes, default: 1 << 30,
                  max: KeyUsageLimits.maxRotateAfterBytes(.chacha20Poly1305), reloadable: true,
                  doc: "Rotate a direction's keys after this much data, at most the ciphers' AEAD usage limit "
                      + "(255.9 GiB for AES); 0 = only at that limit."),
        .integer("protocol", "rotate_after_seconds", \.protocol.rotateAfterSeconds, default: 3600, min: 0,
                 max: 86400 * 7, unit: "seconds", reloadable: true,
                 doc: "Rotate a direction's keys after this long (if it sent anything); 0 = never on time."),

        // MARK: [limits]
        .integer("limits", "max_sessions", \.limits.maxSessions, default: 10_000, min: 1, max: 1_000_000, reloadable: true,
                 doc: "Connections open at once, handshaking or not; more are closed on accept."),
        .integer("limits", "max_sessions_per_source", \.limits.maxSessionsPerSource, default: 1000, min: 1, max: 1_000_000,
                 reloadable: true,
                 doc: "Connections open at once from one address (an IPv6 /64), handshaking or not."),
        .integer("limits", "max_downloads", \.limits.maxDownloads, default: 256, min: 1, max: 1_000_000, reloadable: true,
                 doc: "Files the daemon sends at once (ferry get), over all connections; one more is answered busy."),
        .integer("limits", "max_handshakes_per_source", \.limits.maxHandshakesPerSource, default: 64, min: 1,
                 max: 1_000_000, reloadable: true,
                 doc: "Connections from one address (an IPv6 /64) still in their handshake at once."),
        .integer("limits", "handshake_rate_per_source", \.limits.handshakeRatePerSource, default: 100, min: 1,
                 max: 1_000_000, unit: "per second", reloadable: true,
                 doc: "New connections per second from one address (an IPv6 /64), on average (a token bucket)."),
        .integer("limits", "handshake_burst_per_source", \.limits.handshakeBurstPerSource, default: 200, min: 1,
                 max: 1_000_000, reloadable: true,
                 doc: "New connections one address (an IPv6 /64) may open at once before the rate applies."),
        .integer("limits", "handshake_timeout", \.limits.handshakeTimeoutSeconds, default: 10, min: 1, max: 300,
                 unit: "seconds", reloadable: true, doc: "Time a new connection has to complete the handshake."),
        .integer("limits", "idle_timeout", \.limits.idleTimeoutSeconds, default: 300, min: 1, max: 86400,
                 unit: "seconds", reloadable: true, doc: "An authenticated connection that sends nothing this long is closed."),
        .byteSize("limits", "max_file_size", \.limits.maxFileSize, default: 1 << 40, max: UInt64(Int64.max),
                  reloadable: true, doc: "Largest file a client may upload; 0 = unlimited."),

        // MARK: [log]
        .choice("log", "level", \.log.level, default: Logger.Level.info, reloadable: true,
                doc: "Least severe level that is logged."),
        .choice("log", "format", \.log.format, default: DaemonConfig.LogFormat.logfmt, reloadable: true,
                doc: "Log line format: logfmt (key=value) or json (one object per line)."),

        // MARK: [metrics]
        .optionalListenAddress("metrics", "listen", \.metrics.listen, reloadable: false,
                               doc: "Address of the plain-text metrics endpoint; \"\" = no metrics listener."),
    ]

    /// Section names, in table order.
    static let sections: [String] = all.reduce(into: []) { names, key in
        if !names.contains(key.section) { names.append(key.section) }
    }

    static func key(section: String, name: String) -> ConfigKey? {
        all.first { $0.section == section && $0.name == name }
    }

    /// Checks that involve more than one key, after every key was read. `line` locates a key for the message.
    static func validateAcrossKeys(_ config: DaemonConfig, line: (String) -> Int?) throws(ConfigError) {
        // protocol.rotate_after_bytes against the AEAD usage limit of every configured cipher (docs/PROTOCOL.md §7.4):
        // volume rotation must come before the point where the record layer would stop sending on its own.
        let requested = config.protocol.rotateAfterBytes
        if requested > 0,
           let strictest = config.protocol.ciphers.min(by: {
               KeyUsageLimits.maxRotateAfterBytes($0) < KeyUsageLimits.maxRotateAfterBytes($1)
           }) {
            let limit = KeyUsageLimits.maxRotateAfterBytes(strictest)
            if requested > limit {
                let key = "protocol.rotate_after_bytes"
                throw ConfigError(
                    .outOfBounds, key: key, line: line(key),
                    "'\(key)' is \(requested) bytes (\(ByteSize.approximate(requested))), above \(limit) bytes "
                        + "(\(ByteSize.approximate(limit))), the AEAD usage limit of cipher '\(strictest.name)': one key may "
                        + "protect at most 2^34 AES blocks before the confidentiality bound weakens (docs/PROTOCOL.md §7.4). "
                        + "Lower it, or remove '\(strictest.name)' from 'protocol.ciphers'")
            }
        }
        // The metrics endpoint cannot share an address with the file-transfer listeners (the second bind would fail
        // at start-up with a less helpful message).
        if let metrics = config.metrics.listen, config.server.listen.contains(metrics) {
            let key = "metrics.listen"
            throw .invalid(key, "\"\(metrics)\" is also in 'server.listen'; give metrics its own port", line: line(key))
        }
        try validateSharing(config, line: line)
        try validateIndexServer(config, line: line)
        try validateIndexPlace(config, line: line)
        // Quotas read the index's usage: without it, they could not be kept.
        if config.quotas.any, config.index.backend == .off {
            let key = config.quotas.bytes > 0 ? "quotas.bytes" : config.quotas.files > 0 ? "quotas.files" : "quotas.overrides"
            throw .invalid(key, "quotas are counted from the metadata index, which 'index.backend' = \"off\" keeps none "
                + "of: keep the index (\"sqlite\") or remove the quotas", line: line(key))
        }
        // Protocol's own check (list lengths, repeats): the per-key checks already cover it, so a failure is our bug.
        do { try config.protocolPreferences().validate() } catch {
            preconditionFailure("protocol lists passed the key checks but not AlgorithmPreferences.validate: \(error)")
        }
    }
}
