// The PEM files a client session authenticates with, read and turned into the protocol's client configuration:
// one place for `ferry upload` and `ferry loadtest`.
import Foundation
import Protocol

struct CredentialFiles {
    let ca: String
    let certificate: String
    let key: String

    /// Reads the three files (a leading ~ is expanded) and builds the configuration with the default offer; any
    /// failure is one line naming the file or what OpenSSL refused.
    func configuration(serverName: String) throws(CredentialError) -> ClientConfiguration {
        do {
            let identity = try Identity(chainPEM: try Self.read(certificate, "certificate"), keyPEM: try Self.read(key, "private key"))
            let trust = try TrustStore(pemBundle: try Self.read(ca, "CA bundle"))
            return ClientConfiguration(identity: identity, serverTrust: trust, serverName: serverName)
        } catch let error as CredentialError {
            throw error
        } catch {
            throw CredentialError(description: "\(error)")
        }
    }

    private static func read(_ path: String, _ what: String) throws(CredentialError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: (path as NSString).expandingTildeInPath) else {
            throw CredentialError(description: "cannot read the \(what) at \(path)")
        }
        return [UInt8](data)
    }
}

struct CredentialError: Error, CustomStringConvertible {
    let description: String
}
