// The PEM files a client session authenticates with, read and turned into the protocol's client configuration:
// one place for `ferry upload` and `ferry loadtest`.
import Foundation
import Protocol

struct CredentialFiles {
    let ca: String
    let certificate: String
    let key: String
    /// CRL files (PEM or DER) of the server's CAs; none = revocation of the server's chain is not checked. A CRL past
    /// its nextUpdate still revokes what it lists (the daemon's default policy, `crl_stale = "accept"`).
    var crls: [String] = []
    /// Where the key's passphrase comes from if it is encrypted (PrivateKeyFile.swift); by default
    /// $FERRY_KEY_PASSPHRASE, then the terminal.
    var keyPassphrase = PassphraseSources.client(file: nil, configuredFile: nil)

    /// Reads the three files (a leading ~ is expanded) and builds the configuration with the default offer; any
    /// failure is one line naming the file or what OpenSSL refused. An encrypted key is decrypted with a passphrase
    /// from `keyPassphrase`; a key file others may read is warned about on stderr (PrivateKeyFile.swift).
    func configuration(serverName: String) throws(CredentialError) -> ClientConfiguration {
        do {
            // The certificate first: a missing file fails before anyone is asked for a passphrase.
            let chainPEM = try Self.read(certificate, "certificate")
            let signingKey: SigningKey
            do { signingKey = try PrivateKeyFile.load(Self.expand(key), passphrase: keyPassphrase) } catch {
                throw CredentialError(description: error.description)
            }
            let identity = try Identity(chainPEM: chainPEM, key: signingKey)
            var lists: [RevocationList] = []
            for path in crls {
                do { lists += try RevocationList.load(try Self.read(path, "CRL")) } catch let error as CryptoError {
                    throw CredentialError(description: "the CRL at \(path) is not one: \(error)")
                }
            }
            let trust = try TrustStore(pemBundle: try Self.read(ca, "CA bundle"), revocationLists: lists)
            return ClientConfiguration(identity: identity, serverTrust: trust, serverName: serverName)
        } catch let error as CredentialError {
            throw error
        } catch {
            throw CredentialError(description: "\(error)")
        }
    }

    private static func expand(_ path: String) -> String { (path as NSString).expandingTildeInPath }

    private static func read(_ path: String, _ what: String) throws(CredentialError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: expand(path)) else {
            throw CredentialError(description: "cannot read the \(what) at \(path)")
        }
        return [UInt8](data)
    }
}

struct CredentialError: Error, CustomStringConvertible {
    let description: String
}
