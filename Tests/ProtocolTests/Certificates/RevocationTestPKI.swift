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
        let bench = try OpenSSLWorkbench(label: "revocation-pki")
        validUnixTime = Int64(Date().timeIntervalSince1970) + 86_400
        staleUnixTime = validUnixTime + 40 * 86_400
        try bench.write("ca.cnf", """
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
        try bench.write("index.txt", "")
        try bench.write("crlnumber", "01\n")
        try bench.rootCA("root", subject: "/CN=Revocation Test Root")
        let client = OpenSSLWorkbench.clientExtensions
        try bench.leaf("alice", subject: "/CN=alice", serial: 0x2001, issuer: "root", extensions: client)
        try bench.leaf("bob", subject: "/CN=bob", serial: 0x2002, issuer: "root", extensions: client)
        try bench.leaf("intermediate", subject: "/CN=intermediate", serial: 0x2003, issuer: "root",
                       extensions: OpenSSLWorkbench.intermediateExtensions)
        try bench.leaf("carol", subject: "/CN=carol", serial: 0x2004, issuer: "intermediate", extensions: client)
        // `openssl ca -revoke` wants the certificate in its database first; -valid adds it.
        try bench.run(["ca", "-config", "ca.cnf", "-valid", "alice.crt"])
        try bench.run(["ca", "-config", "ca.cnf", "-gencrl", "-out", "empty.crl"])
        try bench.run(["ca", "-config", "ca.cnf", "-revoke", "alice.crt"])
        try bench.run(["ca", "-config", "ca.cnf", "-gencrl", "-out", "alice.crl"])
        try bench.run(["crl", "-in", "alice.crl", "-outform", "DER", "-out", "alice.crl.der"])

        rootPEM = try bench.read("root.crt")
        rootKeyPEM = try bench.read("root.key")
        intermediatePEM = try bench.read("intermediate.crt")
        intermediateKeyPEM = try bench.read("intermediate.key")
        alice = try bench.identity("alice")
        bob = try bench.identity("bob")
        carol = try bench.identity("carol", chainedWith: ["intermediate"])
        emptyCRL = try bench.read("empty.crl")
        aliceRevokedCRL = try bench.read("alice.crl")
        aliceRevokedCRLDER = try bench.read("alice.crl.der")
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
