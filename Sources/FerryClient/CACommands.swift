// `ferry ca init` and `ferry ca issue`: the command-line face of CertificateAuthority (Sources/FerryClient/CA).
//
// Input mistakes (a bad name, SAN, key type or validity; files that already exist) fail as ValidationError, which
// ArgumentParser prints with the usage line. Failures that are not the arguments' fault (I/O, a broken CA directory,
// the crypto layer) are thrown as CAError, printed as "Error: <message>" with exit code 1.
import ArgumentParser
import Foundation
import Platform

extension CAKeyType: ExpressibleByArgument {
    init?(argument: String) { self.init(name: argument.lowercased()) }
    static var allValueStrings: [String] { allCases.map(\.name) }
    var defaultValueDescription: String { name }
}

package struct CACommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Run a small certificate authority for ferryd and ferry.",
        discussion: """
            ferry ca init --dir ~/ferry-ca
            ferry ca issue --dir ~/ferry-ca --name files.example.com --server \
            --san DNS:files.example.com,IP:192.0.2.10 --out ./server
            ferry ca issue --dir ~/ferry-ca --name alice --client --out ./alice

            Give ca.crt to both sides as the CA; each side gets its own NAME.crt and NAME.key. ca.key signs \
            certificates and nothing else: keep it off the servers.

            ca.key is encrypted (PKCS#8, AES-256-CBC under PBKDF2-HMAC-SHA256). On a terminal `init` asks for its \
            passphrase; without one (a script) it generates one into DIR/ca.key.passphrase (mode 0600), where the \
            other commands find it. Otherwise they take --passphrase-file or ask on the terminal.

            ferry ca list --dir ~/ferry-ca
            ferry ca revoke --dir ~/ferry-ca --name alice
            ferry ca crl --dir ~/ferry-ca --out /etc/ferry/clients.crl   (then: systemctl reload ferryd)
            """,
        subcommands: [Init.self, Issue.self, List.self, Revoke.self, CRL.self])

    package init() {}

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a CA: a new key (DIR/ca.key, mode 0600, encrypted) and a self-signed certificate (DIR/ca.crt).",
            discussion: """
                ca.key is encrypted with a passphrase: the one in --passphrase-file; else, on a terminal, one typed \
                twice; else (a script, no terminal) a generated one (32 random bytes, base64url), written to \
                DIR/ca.key.passphrase with mode 0600 and announced in the output. `ferry ca issue` finds it there. \
                Beside the key, that file protects only copies of ca.key made without it (a backup, a disk image): \
                keep the passphrase elsewhere (a password manager), remove the file, and give the passphrase with \
                --passphrase-file or type it when asked.

                --no-encrypt writes ca.key unencrypted, as ferry ca did before: for a throwaway CA, or one whose key \
                is protected by other means (an encrypted volume, an HSM-backed copy). Anyone who reads an \
                unencrypted ca.key can issue certificates every server of this CA accepts.
                """)

        @Option(name: .customLong("dir"), help: "Directory for ca.crt and ca.key (created with mode 0700 if missing).")
        var directory: String

        @Option(help: "The CA's common name.")
        var name: String = CertificateAuthority.defaultName

        @Option(help: "Key type.")
        var keyType: CAKeyType = .ecdsaP256

        @Option(help: "Validity in days.")
        var days: Int = CertificateAuthority.defaultCADays

        @Option(help: ArgumentHelp("File holding the passphrase for ca.key, on one line (default: typed twice on the "
                                   + "terminal; without a terminal, generated into DIR/ca.key.passphrase).", valueName: "file"))
        var passphraseFile: String?

        @Flag(help: "Write ca.key unencrypted (see below).")
        var noEncrypt = false

        @Flag(help: "Replace an existing CA. Every certificate the old CA issued stops verifying.")
        var force = false

        func validate() throws {
            do {
                try CertificateAuthority.validateCommonName(name, what: "--name")
                try CertificateAuthority.validateDays(days)
            } catch {
                throw ValidationError(error.message)
            }
            if noEncrypt, passphraseFile != nil {
                throw ValidationError("--no-encrypt writes ca.key unencrypted: it takes no --passphrase-file")
            }
        }

        func run() throws {
            let ca: CertificateAuthority
            let encryption: KeyEncryption
            let caDirectory = URL(fileURLWithPath: directory, isDirectory: true)
            do {
                // An existing CA is refused before anyone is asked to type a passphrase for a new one.
                try CertificateAuthority.refuseExistingCA(in: caDirectory, force: force)
                let keyPath = caDirectory.appendingPathComponent(CertificateAuthority.keyFileName).path
                encryption = noEncrypt ? .none
                    : try NewKeyPassphrase.choose(file: passphraseFile, option: "--passphrase-file", keyPath: keyPath)
                ca = try CertificateAuthority.initialize(directory: caDirectory, name: name, keyType: keyType, days: days,
                                                         keyEncryption: encryption, force: force)
            } catch {
                throw commandError(error)
            }
            let passphrasePath = PrivateKeyFile.passphrasePath(besideKey: ca.keyPath)
            var lines = [
                "Created CA \"\(ca.name)\" (\(ca.keyType))",
                "  certificate  \(ca.certificatePath)  (give this to servers and clients as their CA)",
            ]
            switch encryption {
            case .none:
                lines.append("  private key  \(ca.keyPath)  (mode 0600, NOT encrypted: --no-encrypt; keep it secret, and off the servers)")
            case .passphrase:
                lines.append("  private key  \(ca.keyPath)  (mode 0600, encrypted with your passphrase; keep it secret, and off the servers)")
            case .generatedPassphrase:
                lines.append("  private key  \(ca.keyPath)  (mode 0600, encrypted; keep it secret, and off the servers)")
                lines.append("  passphrase   \(passphrasePath)  (generated, mode 0600)")
            }
            lines.append("  subject      CN=\(ca.name)")
            lines.append("  expires      \(SystemClock.utcText(Int64(ca.notAfter.timeIntervalSince1970)))")
            if case .generatedPassphrase = encryption {
                lines.append("""
                    There was no terminal to type a passphrase on, so ca.key is encrypted with a generated one, written to
                    \(passphrasePath); `ferry ca issue` finds it there. Side by side, the two files protect
                    only copies of ca.key made without the other: keep the passphrase elsewhere (a password manager),
                    remove the file, and give the passphrase with --passphrase-file or type it when ferry ca asks.
                    """)
            }
            print(lines.joined(separator: "\n"))
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Issue a server or client certificate: OUT/NAME.crt and OUT/NAME.key (mode 0600).")

        enum Role: String, EnumerableFlag {
            case server, client

            static func help(for value: Role) -> ArgumentHelp? {
                switch value {
                case .server: "A server certificate (serverAuth); needs --san."
                case .client: "A client certificate (clientAuth); the name is the client's identity."
                }
            }
        }

        @Option(name: .customLong("dir"), help: "The CA directory (with ca.crt and ca.key).")
        var directory: String

        @Option(help: ArgumentHelp("File holding the passphrase of an encrypted ca.key (default: DIR/ca.key.passphrase "
                                   + "when present, else typed on the terminal).", valueName: "file"))
        var passphraseFile: String?

        @Option(help: "Common name; also the file name (letters, digits, '.', '-', '_', '@').")
        var name: String

        @Flag(help: "What the certificate is for.")
        var role: Role

        @Option(name: .customLong("san"), help: ArgumentHelp(
            "Server names, comma-separated: DNS:host,IP:addr (IPv4 or IPv6, e.g. IP:::1). Repeatable.",
            valueName: "DNS:host,IP:addr"))
        var sans: [String] = []

        @Option(help: "Key type.")
        var keyType: CAKeyType = .ed25519

        @Option(help: "Validity in days (not past the CA's own expiry).")
        var days: Int = CertificateAuthority.defaultLeafDays

        @Option(name: .customLong("out"), help: "Directory for NAME.crt and NAME.key (created with mode 0700 if missing).")
        var outputDirectory: String

        @Flag(help: ArgumentHelp("Encrypt NAME.key: with the passphrase in --key-passphrase-file, else one typed twice "
                                 + "on the terminal, else a generated one written to OUT/NAME.key.passphrase (mode 0600)."))
        var encrypt = false

        @Option(help: ArgumentHelp("File holding the passphrase to encrypt NAME.key with, on one line (with --encrypt).",
                                   valueName: "file"))
        var keyPassphraseFile: String?

        @Flag(help: "Replace existing NAME.crt and NAME.key.")
        var force = false

        func validate() throws {
            do {
                try CertificateAuthority.validateLeafName(name)
                try CertificateAuthority.validateDays(days)
                _ = try parsedRole()
            } catch {
                throw ValidationError(error.message)
            }
            if keyPassphraseFile != nil, !encrypt {
                throw ValidationError("--key-passphrase-file is the passphrase for --encrypt: add --encrypt to write "
                                      + "NAME.key encrypted")
            }
        }

        /// The role with its SANs, from --server/--client and every --san.
        func parsedRole() throws(CAError) -> CertificateAuthority.Role {
            switch role {
            case .server:
                guard !sans.isEmpty else {
                    throw CAError.invalidArgument("--server needs --san DNS:host,IP:addr (the names clients connect to)")
                }
                return .server(sans: try SubjectAltName.parseList(sans.joined(separator: ",")))
            case .client:
                guard sans.isEmpty else {
                    throw CAError.invalidArgument("--san is for --server certificates; a client is identified by --name")
                }
                return .client
            }
        }

        func run() throws {
            let issued: IssuedCertificate
            do {
                let role = try parsedRole()
                let ca = try CertificateAuthority(directory: URL(fileURLWithPath: directory, isDirectory: true),
                                                  passphrase: .certificateAuthority(file: passphraseFile))
                let output = URL(fileURLWithPath: outputDirectory, isDirectory: true)
                // Files that already exist are refused before anyone is asked to type a passphrase for the new key.
                let (keyPath, _) = try ca.checkOutput(name: name, outputDirectory: output, force: force)
                let encryption: KeyEncryption = encrypt
                    ? try NewKeyPassphrase.choose(file: keyPassphraseFile, option: "--key-passphrase-file", keyPath: keyPath)
                    : .none
                issued = try ca.issue(name: name, role: role, keyType: keyType, days: days, outputDirectory: output,
                                      keyEncryption: encryption, force: force)
            } catch {
                throw commandError(error)
            }
            let kind = if case .server = issued.role { "server" } else { "client" }
            var lines = [
                "Issued \(kind) certificate \"\(issued.name)\" (\(issued.keyType)), signed by \"\(issued.issuer)\"",
                "  certificate  \(issued.certificatePath)",
                "  private key  \(issued.keyPath)  (mode 0600\(issued.keyEncrypted ? ", encrypted" : ""))",
                "  subject      CN=\(issued.name)",
            ]
            if let passphrasePath = issued.passphrasePath {
                lines.append("  passphrase   \(passphrasePath)  (generated, mode 0600)")
            }
            if !issued.subjectAltNames.isEmpty {
                lines.append("  SANs         " + issued.subjectAltNames.map(\.description).joined(separator: ", "))
            }
            lines.append("  serial       \(issued.serialHex)")
            lines.append("  valid        \(SystemClock.utcText(Int64(issued.notBefore.timeIntervalSince1970))) to "
                         + SystemClock.utcText(Int64(issued.notAfter.timeIntervalSince1970)))
            if let passphrasePath = issued.passphrasePath {
                lines.append("There was no terminal to type a passphrase on, so \(issued.name).key is encrypted with a "
                             + "generated one, written to\n\(passphrasePath): hand it over with the key (ferryd's "
                             + "private_key_passphrase_file, ferry's --key-passphrase-file).")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

/// Input errors become ValidationError (printed with the usage); the rest stay CAError ("Error: …", exit 1).
func commandError(_ error: CAError) -> any Error {
    switch error.kind {
    case .invalidArgument, .alreadyExists: ValidationError(error.message)
    case .invalidCA, .passphrase, .io, .library: error
    }
}
