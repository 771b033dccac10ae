// Certificates made with the plain `openssl` command line, signed by a test's CA (by default the one `ferry ca init`
// made for the TestEnvironment), for the checks ferryd makes of its own chain: expired and not-yet-valid ones, usages
// other than serverAuth, an intermediate CA. `openssl ca` rather than `openssl x509 -req`, because OpenSSL 3.0's x509
// command cannot set notBefore (its -not_before came in 3.4): `ca` takes -startdate and -enddate, which is how an
// operator would reproduce a certificate that is not yet valid.
import Foundation
import TestSupport

struct OpenSSLIssuer {
    /// A certificate and its private key, as files.
    struct Issued {
        let certificate: URL
        let key: URL
    }

    /// basicConstraints, keyUsage and extendedKeyUsage of a server certificate (with ferry's test names).
    static let server = """
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1

        """
    static let clientOnly = """
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = clientAuth
        subjectAltName = DNS:localhost, IP:127.0.0.1

        """
    static let intermediateCA = """
        basicConstraints = critical, CA:TRUE, pathlen:0
        keyUsage = critical, keyCertSign, cRLSign

        """

    let directory: URL
    let issuer: Issued

    /// An issuer in `directory` (created) signing with `issuer`: the minimal `openssl ca` set-up (index, serial).
    init(directory: URL, issuer: Issued) throws {
        self.directory = directory
        self.issuer = issuer
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("issued"), withIntermediateDirectories: true)
        let index = directory.appendingPathComponent("index.txt")
        if !FileManager.default.fileExists(atPath: index.path) {
            try Data().write(to: index)
            try Data("1000\n".utf8).write(to: directory.appendingPathComponent("serial"))
        }
        try """
            [ ca ]
            default_ca = test
            [ test ]
            database = index.txt
            new_certs_dir = issued
            serial = serial
            default_md = sha256
            policy = any_name
            unique_subject = no
            [ any_name ]
            commonName = supplied

            """.write(to: directory.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
    }

    /// An issuer signing with the test PKI's CA.
    init(_ env: TestEnvironment) throws {
        try self.init(directory: env.directory.appendingPathComponent("openssl-ca", isDirectory: true),
                      issuer: Issued(certificate: env.pki.caCertificate, key: env.pki.caKey))
    }

    /// A fresh Ed25519 key and a certificate for `commonName` with `extensions`. `startDate` / `endDate` are
    /// `openssl ca` dates (YYYYMMDDHHMMSSZ); without them the certificate is valid from now for `days`.
    func issue(_ name: String, commonName: String, extensions: String = OpenSSLIssuer.server, days: Int = 365,
               startDate: String? = nil, endDate: String? = nil) throws -> Issued {
        let key = directory.appendingPathComponent("\(name).key")
        let request = directory.appendingPathComponent("\(name).csr")
        let certificate = directory.appendingPathComponent("\(name).crt")
        let extensionFile = directory.appendingPathComponent("\(name).ext")
        try extensions.write(to: extensionFile, atomically: true, encoding: .utf8)
        try openssl(["genpkey", "-algorithm", "ED25519", "-out", key.path], in: directory)
        try openssl(["req", "-new", "-key", key.path, "-subj", "/CN=\(commonName)", "-out", request.path], in: directory)
        var arguments = ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", issuer.certificate.path,
                         "-keyfile", issuer.key.path, "-in", request.path, "-out", certificate.path,
                         "-extfile", extensionFile.path]
        // `ferry ca init` encrypts the CA key, with the passphrase in a file beside it when there is no terminal.
        let passphrase = issuer.key.path + ".passphrase"
        if FileManager.default.fileExists(atPath: passphrase) { arguments += ["-passin", "file:" + passphrase] }
        if let startDate { arguments += ["-startdate", startDate] }
        arguments += endDate.map { ["-enddate", $0] } ?? ["-days", "\(days)"]
        try openssl(arguments, in: directory)
        return Issued(certificate: certificate, key: key)
    }

    /// The PEM text of `files`, one after the other (a chain file: leaf first).
    static func concatenate(_ files: [URL], into url: URL) throws {
        try Data(try files.flatMap { try Data(contentsOf: $0) }).write(to: url)
    }
}
