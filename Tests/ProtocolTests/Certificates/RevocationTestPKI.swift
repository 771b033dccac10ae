// A small PKI with revocation, made with the `openssl` command line as an operator would: a root CA that revokes with
// `openssl ca -revoke` and publishes with `openssl ca -gencrl`, an intermediate CA under it, and leaves.
//
//   root (P-256) ── alice (serial 0x2001, revoked in `aliceRevokedCRL`), bob (0x2002)
//        └── intermediate (0x2003) ── carol (0x2004)
//
// Leaves run a year and the root's CRLs 30 days, so `staleUnixTime` (40 days on) has every certificate valid and
// every root CRL past its nextUpdate.
import Foundation
import Protocol
import TestSupport

final class RevocationTestPKI: Sendable {
    static let shared: RevocationTestPKI = {
        do { return try RevocationTestPKI() } catch { fatalError("RevocationTestPKI: \(error)") }
    }()

    let rootPEM: [UInt8]
    let rootKeyPEM: [UInt8]
    let intermediatePEM: [UInt8]
    let intermediateKeyPEM: [UInt8]
    let alice: TestIdentity
    let bob: TestIdentity
    /// carol's leaf followed by the intermediate.
    let carol: TestIdentity
    /// `openssl ca -gencrl` before and after `openssl ca -revoke alice.crt`.
    let emptyCRL: [UInt8]
    let aliceRevokedCRL: [UInt8]
    /// The same list as DER (`openssl crl -outform DER`).
    let aliceRevokedCRLDER: [UInt8]
    let validUnixTime: Int64
    let staleUnixTime: Int64

    private init() throws {
        let temporary = try TemporaryDirectory(label: "revocation-pki")
        defer { temporary.remove() }
        let directory = temporary.url
        func run(_ arguments: [String]) throws { try TestSupport.openssl(arguments, in: directory) }
        func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }
        func write(_ name: String, _ text: String) throws { _ = try temporary.write(name, text) }

        validUnixTime = Int64(Date().timeIntervalSince1970) + 86_400
        staleUnixTime = validUnixTime + 40 * 86_400
        try write("req.cnf", """
            [req]
            distinguished_name = dn
            [dn]
            [root_ca]
            basicConstraints = critical,CA:true
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash

            """)
        try write("ca.cnf", """
            [ca]
            default_ca = root
            [root]
            database = index.txt
            crlnumber = crlnumber
            certificate = root.crt
            private_key = root.key
            default_md = sha256
            default_crl_days = 30

            """)
        try write("index.txt", "")
        try write("crlnumber", "01\n")
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
                 "-out", "root.crt", "-subj", "/CN=Revocation Test Root", "-days", "3650", "-config", "req.cnf",
                 "-extensions", "root_ca"])
        func leaf(_ name: String, serial: Int, issuer: String, extensions: String) throws {
            try run(["genpkey", "-algorithm", "ED25519", "-out", "\(name).key"])
            try run(["req", "-new", "-key", "\(name).key", "-subj", "/CN=\(name)", "-config", "req.cnf", "-out", "\(name).csr"])
            try write("\(name).ext", extensions)
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).crt", "-CAkey", "\(issuer).key",
                     "-set_serial", "\(serial)", "-days", "365", "-extfile", "\(name).ext", "-out", "\(name).crt"])
        }
        let client = "basicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n"
        try leaf("alice", serial: 0x2001, issuer: "root", extensions: client)
        try leaf("bob", serial: 0x2002, issuer: "root", extensions: client)
        try leaf("intermediate", serial: 0x2003, issuer: "root", extensions: """
            basicConstraints = critical,CA:true,pathlen:0
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid

            """)
        try leaf("carol", serial: 0x2004, issuer: "intermediate", extensions: client)
        // `openssl ca -revoke` wants the certificate in its database first; -valid adds it.
        try run(["ca", "-config", "ca.cnf", "-valid", "alice.crt"])
        try run(["ca", "-config", "ca.cnf", "-gencrl", "-out", "empty.crl"])
        try run(["ca", "-config", "ca.cnf", "-revoke", "alice.crt"])
        try run(["ca", "-config", "ca.cnf", "-gencrl", "-out", "alice.crl"])
        try run(["crl", "-in", "alice.crl", "-outform", "DER", "-out", "alice.crl.der"])

        rootPEM = try read("root.crt")
        rootKeyPEM = try read("root.key")
        intermediatePEM = try read("intermediate.crt")
        intermediateKeyPEM = try read("intermediate.key")
        alice = TestIdentity(chainPEM: try read("alice.crt"), keyPEM: try read("alice.key"))
        bob = TestIdentity(chainPEM: try read("bob.crt"), keyPEM: try read("bob.key"))
        carol = TestIdentity(chainPEM: try read("carol.crt") + intermediatePEM, keyPEM: try read("carol.key"))
        emptyCRL = try read("empty.crl")
        aliceRevokedCRL = try read("alice.crl")
        aliceRevokedCRLDER = try read("alice.crl.der")
    }

    /// A trust store of the root with these CRL files' lists.
    func trust(_ crls: [[UInt8]], stale: StaleRevocationListPolicy = .accept, anchors: [UInt8]? = nil) throws -> TrustStore {
        try TrustStore(pemBundle: anchors ?? rootPEM, revocationLists: crls.flatMap { try RevocationList.load($0) },
                       staleRevocationLists: stale)
    }

    /// A CRL signed by our own builder for `issuer` (PEM) with `key`, listing `serials`.
    static func built(issuer: [UInt8], key: [UInt8], serials: [[UInt8]], from: Int64, days: Int64 = 30) throws -> [UInt8] {
        let certificate = try Certificate.chain(fromPEM: issuer)[0]
        let list = try RevocationListBuilder.build(
            issuer: certificate, key: SigningKey(pem: key), revoked: serials.map { RevokedCertificate(serial: $0, revokedAt: from) },
            number: 7, thisUpdate: from - 300, nextUpdate: from + days * 86_400)
        return try list.pem()
    }
}
