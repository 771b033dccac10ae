// The client configuration file: ~/.config/ferry/client.toml, or the path given with --config.
//
//   server = "files.example.com:7443"     # HOST[:PORT] (7443 by default); an IPv6 literal as "[2001:db8::1]:7443"
//   ca = "ca.crt"                         # relative paths are relative to this file's directory; "~/" is $HOME
//   crl = "ca.crl"                        # the server CA's revocation list(s); --crl overrides
//   certificate = "alice.crt"
//   key = "alice.key"
//   key_passphrase_file = "alice.key.passphrase"   # when the key is encrypted (else $FERRY_KEY_PASSPHRASE or a prompt)
//   parallel = 4                          # concurrent sessions, 1…64
//   rotate_after_bytes = "1GiB"           # an integer, or a string with a unit (Units.ByteSize); 0 = no client policy
//   rotate_after_seconds = 3600           # 0 = no client policy
//   server_name = "files.example.com"     # the name the server certificate must carry; default: the host of `server`
//   retries = 6                           # tries again after a lost connection, a timeout or a busy server; 0 = never
//
// Every key is declared once, in `ClientSettings.keys`, with its type, bounds, default and help (the way redis
// config.c's static_configs[] does). Loading walks the parsed TOML table itself rather than decoding through Codable:
// Codable ignores unknown keys (a typo would pass silently) and TOMLKit reports a wrong type as "keyNotFound".
// Here an unknown key, a wrong type and a bad value each fail with the file and the key named.
//
// The default location is $XDG_CONFIG_HOME/ferry/client.toml when XDG_CONFIG_HOME is set to an absolute path (the XDG
// Base Directory spec), else ~/.config/ferry/client.toml. A missing default file means "all defaults"; a missing file
// named explicitly is an error.
import Foundation
import Protocol
import TOMLKit
import Units

struct ClientSettings: Equatable, Sendable {
    /// "HOST[:PORT]" of ferryd, as written (validated).
    var server: String?
    /// Absolute paths (after `~` expansion and resolution against the configuration file's directory).
    var ca: String?
    /// A CRL file of the server's CAs (PEM may hold several lists).
    var crl: String?
    var certificate: String?
    var key: String?
    /// The passphrase file of an encrypted `key`; --key-passphrase-file and $FERRY_KEY_PASSPHRASE come first.
    var keyPassphraseFile: String?
    var parallel: Int
    /// 0 = no client-side policy (the server's policy and the protocol's hard limits still apply).
    var rotateAfterBytes: UInt64
    var rotateAfterSeconds: UInt64
    /// As configured; nil when not set. `effectiveServerName` applies the default.
    var serverName: String?
    /// Seconds for one connection attempt, for the handshake, and with no bytes moving either way (ClientTimeouts).
    var connectTimeout: UInt64
    var handshakeTimeout: UInt64
    var progressTimeout: UInt64
    /// Tries after the first when a connection is lost, times out or the server is busy (RetryPolicy); 0 = none.
    var retries: Int
    /// The file these settings came from; nil when none was read.
    var sourcePath: String?

    /// Every setting at its default. The defaults live in `keys` only; the assignments here just initialise storage.
    init() {
        server = nil
        ca = nil
        crl = nil
        certificate = nil
        key = nil
        keyPassphraseFile = nil
        parallel = 0
        rotateAfterBytes = 0
        rotateAfterSeconds = 0
        serverName = nil
        connectTimeout = 0
        handshakeTimeout = 0
        progressTimeout = 0
        retries = 0
        sourcePath = nil
        for key in Self.keys { key.applyDefault(to: &self) }
    }

    /// The host part of `server` ("::1" for "[::1]:7443"), or nil when `server` is not set.
    var serverHost: String? { server.flatMap { try? HostPort.parse($0).host } }

    /// `server_name`, else the host of `server`.
    var effectiveServerName: String? { serverName ?? serverHost }

    /// The rotation policy these settings ask for.
    var rotation: RotationPolicy { RotationPolicy(afterBytes: rotateAfterBytes, afterSeconds: rotateAfterSeconds) }
}

// MARK: - The key table

extension ClientSettings {
    /// One configuration key: its name in the file, what it holds, and its help text.
    struct Key: Sendable {
        enum Kind: Sendable {
            /// "HOST[:PORT]" (see HostPort).
            case hostPort(WritableKeyPath<ClientSettings, String?> & Sendable)
            /// A file path; "~" expanded, relative paths resolved against the configuration file's directory.
            case path(WritableKeyPath<ClientSettings, String?> & Sendable)
            /// A DNS name or IP literal (no brackets).
            case hostName(WritableKeyPath<ClientSettings, String?> & Sendable)
            /// An integer within `range`.
            case integer(WritableKeyPath<ClientSettings, Int> & Sendable, range: ClosedRange<Int>, default: Int)
            /// A byte count: an integer, or a string with a unit ("64MiB").
            case byteSize(WritableKeyPath<ClientSettings, UInt64> & Sendable, range: ClosedRange<UInt64>, default: UInt64)
            /// A whole number of seconds within `range`.
            case seconds(WritableKeyPath<ClientSettings, UInt64> & Sendable, range: ClosedRange<UInt64>, default: UInt64)
        }

        let name: String
        let kind: Kind
        let help: String

        init(_ name: String, _ kind: Kind, _ help: String) {
            self.name = name
            self.kind = kind
            self.help = help
        }
    }

    /// Sessions in parallel: one is the minimum that makes progress; 64 caps sockets and memory per invocation.
    static let parallelRange = 1...64
    static let defaultParallel = 4
    /// The largest `rotate_after_bytes` that is meaningful under every cipher suite: above it the protocol's own
    /// hard limit for AES (KeyUsageLimits, about 256 GiB) always rotates first, so a larger value would be a promise
    /// the client cannot keep. 0 means no client policy.
    static let rotateAfterBytesRange: ClosedRange<UInt64> =
        0...(CipherSuite.allCases.map(KeyUsageLimits.maxRotateAfterBytes).min() ?? 0)
    /// Up to a year; 0 means no client policy.
    static let rotateAfterSecondsRange: ClosedRange<UInt64> = 0...(365 * 86_400)

    /// Every key the file may contain, each declared once.
    static let keys: [Key] = [
        Key("server", .hostPort(\.server), "ferryd's address as HOST[:PORT] (port 7443 by default); an IPv6 literal as [ADDR]:PORT"),
        Key("ca", .path(\.ca), "the CA certificate(s) that signed the server's certificate (PEM)"),
        Key("crl", .path(\.crl), "CRLs of the server's CA (PEM or DER): a revoked server certificate is refused"),
        Key("certificate", .path(\.certificate), "this client's certificate chain, leaf first (PEM)"),
        Key("key", .path(\.key), "this client's private key (PEM, encrypted or not; keep it mode 0600)"),
        Key("key_passphrase_file", .path(\.keyPassphraseFile),
            "a file holding the passphrase of `key` when it is encrypted, on one line (--key-passphrase-file and "
            + "$FERRY_KEY_PASSPHRASE take precedence; without any, ferry asks on the terminal)"),
        Key("parallel", .integer(\.parallel, range: parallelRange, default: defaultParallel),
            "concurrent upload sessions"),
        Key("rotate_after_bytes", .byteSize(\.rotateAfterBytes, range: rotateAfterBytesRange, default: 0),
            "rotate session keys after this much data, e.g. \"1GiB\"; 0 = only the server's policy"),
        Key("rotate_after_seconds", .seconds(\.rotateAfterSeconds, range: rotateAfterSecondsRange, default: 0),
            "rotate session keys after this many seconds; 0 = only the server's policy"),
        Key("server_name", .hostName(\.serverName),
            "the name the server's certificate must carry (default: the host of `server`)"),
        Key("connect_timeout", .seconds(\.connectTimeout, range: ClientTimeouts.range, default: ClientTimeouts.defaultConnect),
            "seconds one connection attempt may take (each address of the server's name gets its own)"),
        Key("handshake_timeout", .seconds(\.handshakeTimeout, range: ClientTimeouts.range,
                                          default: ClientTimeouts.defaultHandshake),
            "seconds from connected to authenticated"),
        Key("timeout", .seconds(\.progressTimeout, range: ClientTimeouts.range, default: ClientTimeouts.defaultProgress),
            "seconds with no bytes moving either way before the connection is given up (waiting for the server to make "
            + "a file durable gets more: ClientTimeouts)"),
        Key("retries", .integer(\.retries, range: RetryPolicy.range, default: RetryPolicy.defaultRetries),
            "tries again, with backoff, after a lost connection, a timeout or a busy server, resuming each interrupted "
            + "file (RetryPolicy); 0 = never"),
    ]
}

extension ClientSettings.Key {
    func applyDefault(to settings: inout ClientSettings) {
        switch kind {
        case .hostPort(let field), .path(let field), .hostName(let field): settings[keyPath: field] = nil
        case .integer(let field, _, let value): settings[keyPath: field] = value
        case .byteSize(let field, _, let value), .seconds(let field, _, let value): settings[keyPath: field] = value
        }
    }

    /// What the key expects, for error messages.
    var expectation: String {
        switch kind {
        case .hostPort: "a string \"HOST[:PORT]\""
        case .path: "a string (a file path)"
        case .hostName: "a string (a DNS name or IP address)"
        case .integer(_, let range, _): "an integer \(range.lowerBound)…\(range.upperBound)"
        case .byteSize(_, let range, _): "an integer \(range.lowerBound)…\(range.upperBound) or a size string such as \"64MiB\""
        case .seconds(_, let range, _): "an integer number of seconds \(range.lowerBound)…\(range.upperBound)"
        }
    }

    /// Validates `value` and stores it.
    func apply(_ value: TOMLValueConvertible, to settings: inout ClientSettings,
               context: ClientSettings.LoadContext) throws(ClientSettingsError) {
        func wrongType() -> ClientSettingsError {
            ClientSettingsError(.wrongType, path: context.source, key: name,
                                "expected \(expectation), got \(Self.describe(value))")
        }
        func badValue(_ why: String) -> ClientSettingsError {
            ClientSettingsError(.badValue, path: context.source, key: name, why)
        }
        switch kind {
        case .hostPort(let field):
            guard let text = value.string else { throw wrongType() }
            do { _ = try HostPort.parse(text) } catch { throw badValue(error.message) }
            settings[keyPath: field] = text
        case .path(let field):
            guard let text = value.string else { throw wrongType() }
            do { settings[keyPath: field] = try context.resolvePath(text) } catch { throw badValue(error.message) }
        case .hostName(let field):
            guard let text = value.string else { throw wrongType() }
            do { try HostPort.validateHost(text, bracketsAllowed: false) } catch { throw badValue(error.message) }
            settings[keyPath: field] = text
        case .integer(let field, let range, _):
            guard value.type == .int, let number = value.int else { throw wrongType() }
            guard range.contains(number) else {
                throw badValue("\(number) is out of range \(range.lowerBound)…\(range.upperBound)")
            }
            settings[keyPath: field] = number
        case .byteSize(let field, let range, _):
            let bytes: UInt64
            if value.type == .int, let number = value.int {
                guard number >= 0 else { throw badValue("\(number): negative sizes are not allowed") }
                bytes = UInt64(number)
            } else if let text = value.string {
                do { bytes = try ByteSize.parse(text) } catch { throw badValue(error.description) }
            } else {
                throw wrongType()
            }
            guard range.contains(bytes) else {
                throw badValue("\(bytes) bytes is out of range \(range.lowerBound)…\(range.upperBound)")
            }
            settings[keyPath: field] = bytes
        case .seconds(let field, let range, _):
            guard value.type == .int, let number = value.int else { throw wrongType() }
            guard number >= 0, range.contains(UInt64(number)) else {
                throw badValue("\(number) is out of range \(range.lowerBound)…\(range.upperBound)")
            }
            settings[keyPath: field] = UInt64(number)
        }
    }

    /// "a string \"abc\"", "an integer 12", "a table" … for "got …" in messages.
    private static func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "a string \"\(printable(value.string ?? ""))\""
        case .int: "an integer \(value.int.map(String.init) ?? "")"
        case .double: "a floating-point number \(value.double.map { String($0) } ?? "")"
        case .bool: "a boolean \(value.bool.map { String($0) } ?? "")"
        case .array: "an array"
        case .table: "a table"
        case .date, .time, .dateTime: "a \(value.type)"
        }
    }
}
