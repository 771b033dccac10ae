// The ferryd configuration `--spawn` writes: loopback listener on the chosen port, the run's own certificates, room for
// every session (max_sessions above sessions + idle + 64), idle sessions never timed out during a run (3600 s),
// warnings only in the log (10,000 "session opened" lines would be load of their own), and the --daemon-* options.
// Every key is documented in config/ferryd.toml.
import TOMLKit

struct SpawnConfig: Equatable {
    var port: UInt16
    var certificate: String
    var privateKey: String
    var clientCA: String
    var storageRoot: String
    var workers: Int
    var maxSessions: Int
    var rotateAfterBytes: UInt64?
    var fsync: Bool?

    static let idleTimeoutSeconds = 3600
    static let shutdownGraceSeconds = 2
    /// Sessions the daemon admits beyond the run's own: probes, sessions still closing while a slot reconnects.
    static let sessionMargin = 128
    /// The daemon's upper bound for max_sessions.
    static let maximumSessions = 1_000_000

    static func maxSessions(sessions: Int, idleSessions: Int) -> Int {
        min(sessions + idleSessions + sessionMargin, maximumSessions)
    }

    /// The configuration file, written by TOMLKit (strings quoted and escaped by it, tables in key order).
    var text: String {
        var storage: [String: TOMLValueConvertible] = ["root": storageRoot, "allow_overwrite": true]
        if let fsync { storage["fsync"] = fsync }
        var tables: [String: [String: TOMLValueConvertible]] = [
            "server": ["listen": ["127.0.0.1:\(port)"], "workers": workers, "shutdown_grace": Self.shutdownGraceSeconds],
            "identity": ["certificate": certificate, "private_key": privateKey, "client_ca": clientCA],
            "storage": storage,
            "limits": ["max_sessions": maxSessions, "idle_timeout": Self.idleTimeoutSeconds],
            "log": ["level": "warning"],
        ]
        if let rotateAfterBytes { tables["protocol"] = ["rotate_after_bytes": rotateAfterBytes] }
        let document = TOMLTable(tables.mapValues { TOMLTable($0) as TOMLValueConvertible })
        // Basic strings only (no literal or multi-line ones): the daemon's paths may hold any character.
        return "# Written by `ferry loadtest --spawn`. Every key is documented in config/ferryd.toml.\n"
            + document.convert(to: ConversionFormat.toml, options: []) + "\n"
    }
}
