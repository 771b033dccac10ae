// The options every command that talks to a server shares — where it is, the certificates, the timeouts, the retries,
// the client configuration — and how they resolve into what a session needs: flag, else environment, else the
// configuration file (ClientSettings), else the default.
import ArgumentParser
import Foundation
import Protocol

package struct ConnectionOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Server as HOST[:PORT], port 7443 by default (IPv6 as [ADDR]:PORT; else $FERRY_SERVER, else `server`).")
    var server: String?

    @Option(help: "CA bundle that signed the server's certificate (PEM).")
    var ca: String?

    @Option(help: ArgumentHelp("A CRL (PEM or DER) of the server's CA: a revoked server certificate is refused. Repeatable.",
                               valueName: "file"))
    var crl: [String] = []

    @Option(help: "This client's certificate chain (PEM).")
    var cert: String?

    @Option(help: "This client's private key (PEM, encrypted or not).")
    var key: String?

    @Option(help: ArgumentHelp("File holding the passphrase of an encrypted --key, on one line (else $FERRY_KEY_PASSPHRASE, "
                               + "`key_passphrase_file`, or a prompt on the terminal).", valueName: "file"))
    var keyPassphraseFile: String?

    @Option(help: "Name the server's certificate must carry (default: the host of --server).")
    var serverName: String?

    @Option(help: "Seconds one connection attempt may take (default 10; `connect_timeout`).")
    var connectTimeout: UInt64?

    @Option(help: "Seconds from connected to authenticated (default 20; `handshake_timeout`).")
    var handshakeTimeout: UInt64?

    @Option(help: "Seconds with no bytes moving either way before giving the connection up (default 60, more while the server makes a file durable; `timeout`).")
    var timeout: UInt64?

    @Option(help: "Tries after a lost connection, a timeout or a busy server, with backoff (default 6; 0 = none; `retries`).")
    var retries: Int?

    @Option(help: "Client configuration file (default $FERRY_CONFIG, else ~/.config/ferry/client.toml).")
    var config: String?

    @Option(name: [.customShort("N"), .long],
            help: "Another identity's area on the server to work in, as its [access] grants allow (default: your own).")
    var namespace: String?

    package init() {}

    /// The client configuration file these options name (exit 78 when it cannot be read).
    func settings(_ environment: ClientEnvironment, command: String = "upload") throws -> ClientSettings {
        do { return try ClientSettings.load(path: config ?? environment.config) } catch {
            throw UploadExitStatus.fail("\(error)", status: UploadExitStatus.configuration, command: command)
        }
    }

    /// The server named by --server, $FERRY_SERVER or `server`, if any.
    func serverText(_ environment: ClientEnvironment, _ settings: ClientSettings) -> String? {
        server ?? environment.server ?? settings.server
    }

    /// Everything a session needs: the server, the credentials (read and checked now: exit 78 when they cannot be
    /// used), the timeouts and the retry policy. Usage errors are ValidationErrors (exit 64).
    func target(_ environment: ClientEnvironment, _ settings: ClientSettings, command: String = "upload") throws -> ServerTarget {
        guard let serverText = serverText(environment, settings) else {
            throw ValidationError("no server: pass --server HOST[:PORT], set $FERRY_SERVER, or set `server` in the client "
                + "configuration")
        }
        let host: String, port: UInt16
        do {
            let parsed = try HostPort.parse(serverText)
            (host, port) = (parsed.host, parsed.port)
        } catch {
            throw ValidationError("--server: \(error)")
        }
        guard let caPath = ca ?? environment.ca ?? settings.ca, let certPath = cert ?? environment.certificate ?? settings.certificate,
              let keyPath = key ?? environment.key ?? settings.key else {
            throw ValidationError("--ca, --cert and --key are needed (or $FERRY_CA, $FERRY_CERT, $FERRY_KEY, or `ca`, "
                + "`certificate`, `key` in the client configuration)")
        }
        let timeouts = ClientTimeouts(connect: connectTimeout ?? settings.connectTimeout,
                                      handshake: handshakeTimeout ?? settings.handshakeTimeout,
                                      progress: timeout ?? settings.progressTimeout)
        for (name, value) in [("--connect-timeout", timeouts.connect), ("--handshake-timeout", timeouts.handshake),
                              ("--timeout", timeouts.progress)] where !ClientTimeouts.range.contains(value) {
            throw ValidationError("\(name) must be between 1 and \(ClientTimeouts.range.upperBound) seconds")
        }
        let retry = RetryPolicy(retries: retries ?? settings.retries)
        guard RetryPolicy.range.contains(retry.retries) else {
            throw ValidationError("--retries must be between 0 and \(RetryPolicy.range.upperBound)")
        }
        let name = serverName ?? environment.serverName ?? settings.serverName ?? host
        let configuration: ClientConfiguration
        do throws(CredentialError) {
            configuration = try CredentialFiles(
                ca: caPath, certificate: certPath, key: keyPath, crls: crl.isEmpty ? settings.crl.map { [$0] } ?? [] : crl,
                keyPassphrase: .client(file: keyPassphraseFile, configuredFile: settings.keyPassphraseFile,
                                       configuration: settings.sourcePath))
                .configuration(serverName: name)
        } catch {
            throw UploadExitStatus.fail(error.description, status: UploadExitStatus.configuration, command: command)
        }
        let area = NamePolicy.normalized(namespace ?? "")
        guard area.utf8.count <= Limits.maxNamespaceLength, !area.contains("/") else {
            throw ValidationError("--namespace: an identity's name, at most \(Limits.maxNamespaceLength) bytes and no \"/\"")
        }
        return ServerTarget(host: host, port: port, configuration: configuration, timeouts: timeouts, retry: retry,
                            advice: CertificateAdvice(caPath: caPath, certificatePath: certPath, serverName: name),
                            namespace: area)
    }
}

/// A server to talk to, resolved from ConnectionOptions: the host as typed (the session resolves it, and the
/// certificate is checked against --server-name or it), the client's configuration, its timeouts and retries.
struct ServerTarget: Sendable {
    let host: String
    let port: UInt16
    var configuration: ClientConfiguration
    let timeouts: ClientTimeouts
    let retry: RetryPolicy
    let advice: CertificateAdvice
    /// --namespace: the area every request names (PROTOCOL.md §14.1); "" for the client's own.
    var namespace = ""
}
