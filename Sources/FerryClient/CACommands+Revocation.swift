// `ferry ca list`, `ferry ca revoke` and `ferry ca crl`: the command-line face of CertificateAuthority+Revocation.
import ArgumentParser
import Foundation
import Platform

extension CACommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Show the certificates this CA issued: name, serial, expiry and status.")

        @Option(name: .customLong("dir"), help: "The CA directory.")
        var directory: String

        func run() throws {
            let entries: [CertificateAuthority.IssuedEntry]
            // The registry alone: listing needs no key, so an encrypted ca.key is not opened (nor its passphrase asked).
            do { entries = try CertificateAuthority.issuedEntries(directory: URL(fileURLWithPath: directory, isDirectory: true)) } catch {
                throw commandError(error)
            }
            guard !entries.isEmpty else {
                return print("No certificates on record (certificates issued before this CA kept a record are not listed).")
            }
            let nameWidth = max(4, entries.map(\.name.count).max() ?? 0)
            let serialWidth = max(6, entries.map(\.serial.count).max() ?? 0)
            func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
            print(pad("NAME", nameWidth) + "  " + pad("SERIAL", serialWidth) + "  " + pad("EXPIRES", 23) + "  STATUS")
            for entry in entries {
                let status = switch entry.status {
                case .valid: "valid"
                case .expired: "expired"
                case .revoked(let at): "revoked \(SystemClock.utcText(at))"
                }
                print(pad(entry.name, nameWidth) + "  " + pad(entry.serial, serialWidth) + "  "
                      + pad(SystemClock.utcText(entry.notAfter), 23) + "  " + status)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke certificates: by name (every valid one issued under it) or by serial.",
            discussion: """
                The revocation reaches servers through a CRL: run `ferry ca crl` afterwards, install the file as \
                ferryd's [identity] crl and reload ferryd, which also closes sessions already open with a revoked \
                certificate. There is no un-revoke.
                """)

        @Option(name: .customLong("dir"), help: "The CA directory.")
        var directory: String

        @Option(help: "Revoke every valid certificate issued with this name.")
        var name: String?

        @Option(help: "Revoke the certificate with this serial number (hex; colons allowed).")
        var serial: String?

        @Option(help: ArgumentHelp("File holding the passphrase of an encrypted ca.key (default: DIR/ca.key.passphrase "
                                   + "when present, else typed on the terminal).", valueName: "file"))
        var passphraseFile: String?

        func validate() throws {
            guard (name == nil) != (serial == nil) else { throw ValidationError("pass exactly one of --name and --serial") }
        }

        func run() throws {
            do {
                let ca = try CertificateAuthority(directory: URL(fileURLWithPath: directory, isDirectory: true),
                                                  passphrase: .certificateAuthority(file: passphraseFile))
                if let name {
                    for serial in try ca.revoke(name: name) { print("Revoked \"\(name)\" serial \(serial)") }
                } else if let serial {
                    let revoked = try ca.revoke(serial: serial)
                    print("Revoked serial \(revoked.serial)" + (revoked.name.map { " (\"\($0)\")" } ?? " (not on record)"))
                }
            } catch {
                throw commandError(error)
            }
            print("Next: ferry ca crl --dir \(directory) --out FILE, install FILE as ferryd's [identity] crl, reload ferryd.")
        }
    }

    struct CRL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crl", abstract: "Write the CA's certificate revocation list (PEM), signed, for ferryd's [identity] crl.")

        @Option(name: .customLong("dir"), help: "The CA directory.")
        var directory: String

        @Option(name: .customLong("out"), help: "The CRL file to write (replaced atomically).")
        var output: String

        @Option(help: "Days until the list's nextUpdate: publish a new one before then.")
        var days: Int = 30

        @Option(help: ArgumentHelp("File holding the passphrase of an encrypted ca.key (default: DIR/ca.key.passphrase "
                                   + "when present, else typed on the terminal).", valueName: "file"))
        var passphraseFile: String?

        func run() throws {
            let list: RevocationListSummary
            do {
                let ca = try CertificateAuthority(directory: URL(fileURLWithPath: directory, isDirectory: true),
                                                  passphrase: .certificateAuthority(file: passphraseFile))
                let crl = try ca.revocationList(days: days)
                try CertificateAuthority.write(crl, to: output)
                list = RevocationListSummary(issuer: ca.name, number: crl.number ?? 0, revoked: crl.revokedCount,
                                             nextUpdate: crl.nextUpdate ?? 0)
            } catch {
                throw commandError(error)
            }
            print("""
                Wrote CRL number \(list.number) of "\(list.issuer)" to \(output)
                  revoked      \(list.revoked) certificate\(list.revoked == 1 ? "" : "s")
                  next update  \(SystemClock.utcText(list.nextUpdate))  (write a new one before then)
                Install it as ferryd's [identity] crl and reload ferryd (systemctl reload ferryd).
                """)
        }

        private struct RevocationListSummary {
            let issuer: String
            let number: UInt64
            let revoked: Int
            let nextUpdate: Int64
        }
    }
}
