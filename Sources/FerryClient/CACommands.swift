// `ferry ca init` and `ferry ca issue`: the command-line face of CertificateAuthority (Sources/FerryClient/CA).
//
// Input mistakes (a bad name, SAN, key type or validity; files that already exist) fail as ValidationError, which
// ArgumentParser prints with the usage line. Failures that are not the arguments' fault (I/O, a broken CA directory,
// the crypto layer) are thrown as CAError, printed as "Error: <message>" with exit code 1.
import ArgumentParser
import Foundation

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
            """,
        subcommands: [Init.self, Issue.self])

    package init() {}

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a CA: a new key (DIR/ca.key, mode 0600) and a self-signed certificate (DIR/ca.crt).")

        @Option(name: .customLong("dir"), help: "Directory for ca.crt and ca.key (created with mode 0700 if missing).")
        var directory: String

        @Option(help: "The CA's common name.")
        var name: String = CertificateAuthority.defaultName

        @Option(help: "Key type.")
        var keyType: CAKeyType = .ecdsaP256

        @Option(help: "Validity in days.")
        var days: Int = CertificateAuthority.defaultCADays

        @Flag(help: "Replace an existing CA. Every certificate the old CA issued stops verifying.")
        var force = false

        func validate() throws {
            do {
                try CertificateAuthority.validateCommonName(name, what: "--name")
                try CertificateAuthority.validateDays(days)
            } catch {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            let ca: CertificateAuthority
            do {
                ca = try CertificateAuthority.initialize(
                    directory: URL(fileURLWithPath: directory, isDirectory: true), name: name, keyType: keyType,
                    days: days, force: force)
            } catch {
                throw commandError(error)
            }
            print("""
                Created CA "\(ca.name)" (\(ca.keyType))
                  certificate  \(ca.certificatePath)  (give this to servers and clients as their CA)
                  private key  \(ca.keyPath)  (mode 0600; keep it secret, and off the servers)
                  subject      CN=\(ca.name)
                  expires      \(CertificateAuthority.format(Int64(ca.notAfter.timeIntervalSince1970)))
                """)
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
                let ca = try CertificateAuthority(directory: URL(fileURLWithPath: directory, isDirectory: true))
                issued = try ca.issue(name: name, role: try parsedRole(), keyType: keyType, days: days,
                                      outputDirectory: URL(fileURLWithPath: outputDirectory, isDirectory: true),
                                      force: force)
            } catch {
                throw commandError(error)
            }
            let kind = if case .server = issued.role { "server" } else { "client" }
            var lines = [
                "Issued \(kind) certificate \"\(issued.name)\" (\(issued.keyType)), signed by \"\(issued.issuer)\"",
                "  certificate  \(issued.certificatePath)",
                "  private key  \(issued.keyPath)  (mode 0600)",
                "  subject      CN=\(issued.name)",
            ]
            if !issued.subjectAltNames.isEmpty {
                lines.append("  SANs         " + issued.subjectAltNames.map(\.description).joined(separator: ", "))
            }
            lines.append("  serial       \(issued.serialHex)")
            lines.append("  valid        \(CertificateAuthority.format(Int64(issued.notBefore.timeIntervalSince1970))) to "
                         + CertificateAuthority.format(Int64(issued.notAfter.timeIntervalSince1970)))
            print(lines.joined(separator: "\n"))
        }
    }
}

/// Input errors become ValidationError (printed with the usage); the rest stay CAError ("Error: …", exit 1).
private func commandError(_ error: CAError) -> any Error {
    switch error.kind {
    case .invalidArgument, .alreadyExists: ValidationError(error.message)
    case .invalidCA, .io, .library: error
    }
}
