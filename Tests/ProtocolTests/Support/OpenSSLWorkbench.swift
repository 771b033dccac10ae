// A temporary directory in which tests make keys, CAs and leaves with the `openssl` command line, as an operator
// would, and read the results back as bytes. Removed when the workbench is.
import Foundation
import TestSupport

final class OpenSSLWorkbench {
    private let temporary: TemporaryDirectory
    var directory: URL { temporary.url }

    /// A private `req` configuration (so the system openssl.cnf adds nothing) with a `root_ca` extension section.
    init(label: String) throws {
        temporary = try TemporaryDirectory(label: label)
        try write("req.cnf", Builder.requestConfiguration)
    }

    deinit { temporary.remove() }

    func run(_ arguments: [String]) throws { try TestSupport.openssl(arguments, in: directory) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }

    func write(_ name: String, _ text: String) throws { _ = try temporary.write(name, text) }

    /// NAME.key (P-256) and a self-signed CA certificate NAME.crt.
    func rootCA(_ name: String, subject: String) throws {
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key",
                 "-out", "\(name).crt", "-subj", subject, "-days", "3650", "-config", "req.cnf", "-extensions", "root_ca"])
    }

    /// NAME.key (Ed25519) and NAME.crt for `subject`, signed by ISSUER.crt / ISSUER.key with `extensions`.
    func leaf(_ name: String, subject: String, serial: Int, issuer: String, extensions: String) throws {
        try run(["genpkey", "-algorithm", "ED25519", "-out", "\(name).key"])
        try run(["req", "-new", "-key", "\(name).key", "-subj", subject, "-config", "req.cnf", "-out", "\(name).csr"])
        try write("\(name).ext", extensions)
        try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).crt", "-CAkey", "\(issuer).key",
                 "-set_serial", "\(serial)", "-days", "365", "-extfile", "\(name).ext", "-out", "\(name).crt"])
    }

    /// NAME.crt (followed by `chainedWith` files) and NAME.key as a TestIdentity.
    func identity(_ name: String, chainedWith: [String] = []) throws -> TestIdentity {
        TestIdentity(chainPEM: try ([name] + chainedWith).flatMap { try read("\($0).crt") }, keyPEM: try read("\(name).key"))
    }

    static let clientExtensions =
        "basicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n"
    static let intermediateExtensions = """
        basicConstraints = critical,CA:true,pathlen:0
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """
}
