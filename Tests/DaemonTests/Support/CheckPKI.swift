// Certificates for the server-certificate checks, made once per test run with the `openssl` command line: a root CA,
// an intermediate under it, server leaves (good, client-only, keyUsage without digitalSignature) issued by the
// intermediate, a second CA with its own server leaf, a CA that expires in 20 days, and an RSA client. Ed25519 everywhere else (fast to make).
import Foundation
import Protocol
import TestSupport

final class CheckPKI: @unchecked Sendable {
    // @unchecked: written once in init, read-only afterwards.
    let directory: URL

    /// Made on first use and shared by every test in the target (openssl runs take a few hundred milliseconds).
    static let shared: CheckPKI = {
        do { return try CheckPKI() } catch { fatalError("cannot make the test PKI: \(error)") }
    }()

    private init() throws {
        directory = try TemporaryDirectory(label: "check-pki").url
        func run(_ arguments: [String]) throws { try openssl(arguments, in: directory) }
        func extensions(_ name: String, _ text: String) throws -> String {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
            return name
        }
        let ed25519 = ["-newkey", "ed25519", "-nodes"]
        for (name, subject, days) in [("root", "/CN=Test Root CA", 3650), ("other", "/CN=Other Server CA", 3650),
                                      ("short", "/CN=Short-lived CA", 20)] {
            try run(["req", "-x509"] + ed25519 + ["-keyout", "\(name).key", "-out", "\(name).crt", "-subj", subject,
                                                  "-days", "\(days)"])
        }
        let ca = try extensions("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        let server = try extensions("server.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            + "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n")
        let client = try extensions("client.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            + "extendedKeyUsage=clientAuth\n")
        let noSignature = try extensions("nosig.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,keyAgreement\n"
            + "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n")
        // name, subject, issuer, extensions, key options, days (the intermediate outlives the leaves, as CAs do)
        let issued: [(String, String, String, String, [String], Int)] = [
            ("intermediate", "/CN=Test Intermediate CA", "root", ca, ed25519, 1000),
            ("server", "/CN=files.test", "intermediate", server, ed25519, 365),
            ("client-only", "/CN=alice", "intermediate", client, ed25519, 365),
            ("no-signature", "/CN=files.test", "intermediate", noSignature, ed25519, 365),
            ("other-server", "/CN=files.other.test", "other", server, ed25519, 365),
            ("rsa-client", "/CN=bob", "root", client, ["-newkey", "rsa:2048", "-nodes"], 365),
        ]
        for (serial, (name, subject, issuer, extensionFile, key, days)) in issued.enumerated() {
            try run(["req", "-new"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).crt", "-CAkey", "\(issuer).key",
                     "-set_serial", "\(100 + serial)", "-days", "\(days)", "-extfile", extensionFile, "-out", "\(name).crt"])
        }
    }

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    func pem(_ names: String...) throws -> [UInt8] {
        try names.flatMap { [UInt8](try Data(contentsOf: url($0))) }
    }

    /// The identity of `leaf` (its key), with `chain` after it in the certificate file.
    func identity(_ leaf: String, chain: [String] = []) throws -> Identity {
        let certificates = try ([leaf] + chain).flatMap { [UInt8](try Data(contentsOf: url("\($0).crt"))) }
        return try Identity(chainPEM: certificates, keyPEM: try pem("\(leaf).key"))
    }

    func certificate(_ name: String) throws -> Certificate {
        guard let first = try Certificate.chain(fromPEM: try pem("\(name).crt")).first else { throw TestError("no \(name).crt") }
        return first
    }
}
