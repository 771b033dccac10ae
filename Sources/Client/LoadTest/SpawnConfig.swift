// The ferryd configuration `--spawn` writes: loopback listener on the chosen port, the run's own certificates, room for
// every session (max_sessions above sessions + idle + 64), idle sessions never timed out during a run (3600 s),
// warnings only in the log (10,000 "session opened" lines would be load of their own), and the --daemon-* options.
// Every key is documented in config/ferryd.toml.

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

    var text: String {
        var lines = [
            "# Written by `ferry loadtest --spawn`. Every key is documented in config/ferryd.toml.",
            "[server]",
            "listen = [\(Self.quoted("127.0.0.1:\(port)"))]",
            "workers = \(workers)",
            "shutdown_grace = \(Self.shutdownGraceSeconds)",
            "",
            "[identity]",
            "certificate = \(Self.quoted(certificate))",
            "private_key = \(Self.quoted(privateKey))",
            "client_ca = \(Self.quoted(clientCA))",
            "",
            "[storage]",
            "root = \(Self.quoted(storageRoot))",
            "allow_overwrite = true",
        ]
        if let fsync { lines.append("fsync = \(fsync)") }
        if let rotateAfterBytes {
            lines += ["", "[protocol]", "rotate_after_bytes = \(rotateAfterBytes)"]
        }
        lines += [
            "",
            "[limits]",
            "max_sessions = \(maxSessions)",
            "idle_timeout = \(Self.idleTimeoutSeconds)",
            "",
            "[log]",
            "level = \"warning\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string: quotes, backslashes and control characters escaped.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16).uppercased()
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
