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
            try checkNotSwapped(chainPEM)
            let signingKey: SigningKey
            do { signingKey = try PrivateKeyFile.load(Self.expand(key), passphrase: keyPassphrase) } catch {
                throw CredentialError(description: error.description)
            }
            let identity: Identity
            do { identity = try Identity(chainPEM: chainPEM, key: signingKey) } catch {
                throw CredentialError(description: "\(certificate) with the key \(key): \(error)")
            }
            try Self.checkPurpose(identity.chain.first, path: certificate)
            try Self.checkValidity(identity.chain.first, path: certificate, now: Int64(Date().timeIntervalSince1970))
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

    /// --cert and --key given the other way round (the commonest slip with two PEM files) is said as such, rather
    /// than as the key file being "not a PEM private key".
    private func checkNotSwapped(_ chainPEM: [UInt8]) throws(CredentialError) {
        let holdsKey = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self).contains("PRIVATE KEY-----") }
        let holdsCertificate = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self).contains("BEGIN CERTIFICATE-----") }
        guard holdsKey(chainPEM), !holdsCertificate(chainPEM),
              let keyBytes = FileManager.default.contents(atPath: Self.expand(key)).map(Array.init),
              holdsCertificate(keyBytes), !holdsKey(keyBytes) else { return }
        throw CredentialError(description: "--cert and --key are swapped: \(certificate) holds a private key and \(key) "
            + "a certificate; pass --cert \(key) --key \(certificate)")
    }

    /// A server certificate used as ours is refused by any server (unsupported_certificate) after a connection; said
    /// here, before connecting, with the way to get the right one. A certificate without extendedKeyUsage may do both.
    private static func checkPurpose(_ leaf: Certificate?, path: String) throws(CredentialError) {
        guard let leaf, let usage = leaf.extendedKeyUsage, !usage.contains(.clientAuth) else { return }
        let what = usage == [.serverAuth] ? "a server certificate (extendedKeyUsage serverAuth only)"
            : "not a client certificate (its extendedKeyUsage has no clientAuth)"
        throw CredentialError(description: "\(path) is \(what): issue a client one with `ferry ca issue --client --name "
            + "NAME` (or `openssl x509 -req … -extfile` with extendedKeyUsage = clientAuth)")
    }

    /// Our own certificate out of its validity is refused by every server (certificate_expired, after a connection
    /// and a handshake, naming neither file nor date); said here, before connecting, with both.
    static func checkValidity(_ leaf: Certificate?, path: String, now: Int64) throws(CredentialError) {
        guard let leaf else { return }
        if let notAfter = leaf.notAfter, notAfter < now {
            throw CredentialError(description: "your certificate \(path) expired on \(Self.date(notAfter)): get a new one "
                + "(`ferry ca issue --client --name NAME` where the CA is kept)")
        }
        if let notBefore = leaf.notBefore, notBefore > now {
            throw CredentialError(description: "your certificate \(path) is not valid before \(Self.date(notBefore)): "
                + "check this machine's clock, or wait")
        }
    }

    private static func date(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    private static func expand(_ path: String) -> String { (path as NSString).expandingTildeInPath }

    private static func read(_ path: String, _ what: String) throws(CredentialError) -> [UInt8] {
        let expanded = expand(path)
        var info = stat()
        if stat(expanded, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw CredentialError(description: "cannot read the \(what) at \(path): it is a directory (give the file)")
        }
        guard let data = FileManager.default.contents(atPath: expanded) else {
            let reason = access(expanded, R_OK) == 0 ? "unreadable" : String(cString: strerror(errno))
            throw CredentialError(description: "cannot read the \(what) at \(path): \(reason)")
        }
        return [UInt8](data)
    }
}

struct CredentialError: Error, CustomStringConvertible {
    let description: String
}
