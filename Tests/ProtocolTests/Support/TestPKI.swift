// A throwaway PKI for tests, made once per test process with the plain `openssl` command line, so that the
// certificates are what an operator would make by hand (not what our own code thinks a certificate looks like).
//
// CAs come from `openssl req -x509 -newkey …`; leaves from `openssl req -new` + `openssl x509 -req -CA … -CAkey …
// -extfile …`. Everything is generated into a temporary directory, read back as bytes, and the directory is removed.
//
// Validity: OpenSSL 3.0's `x509 -req` cannot backdate (`-not_before` arrived in 3.4), so every certificate starts at
// the moment it was made and leaves run for 30 days (CAs for 10 years). `validUnixTime` is one day after generation
// began, inside every window; `expiredUnixTime` is 31 days after, past every leaf; `notYetValidUnixTime` is one day
// before, ahead of every certificate. Verifying at the real current time also works, since generation came first —
// except for `expiredClient`, which is expired in real time (made with `x509 -days -1`).
import Foundation
import TestSupport

enum TestKeyType: CaseIterable, Sendable { case ed25519, ecdsaP256, ecdsaP384, rsa2048 }

/// A certificate chain (leaf first, then the intermediate if any) and the leaf's private key (PKCS#8 PEM).
struct TestIdentity: Sendable {
    let chainPEM: [UInt8]
    let keyPEM: [UInt8]
}

final class TestPKI: Sendable {
    /// Built on first use; Swift runs a static's initializer once, thread-safely.
    static let shared = TestPKI()

    /// The trusted CA (RSA 2048).
    let caPEM: [UInt8]
    private let servers: [TestKeyType: TestIdentity]
    private let clients: [TestKeyType: TestIdentity]

    /// CN=ferry-server, SAN DNS:localhost, IP:127.0.0.1, IP:::1, EKU serverAuth, KU digitalSignature, signed by the CA.
    func server(_ key: TestKeyType) -> TestIdentity {
        guard let identity = servers[key] else { preconditionFailure("TestPKI: no server for \(key)") }
        return identity
    }

    /// CN=alice, EKU clientAuth, KU digitalSignature, signed by the CA.
    func client(_ key: TestKeyType) -> TestIdentity {
        guard let identity = clients[key] else { preconditionFailure("TestPKI: no client for \(key)") }
        return identity
    }

    /// A second, unrelated CA (P-256) and a client (CN=alice, clientAuth) it issued.
    let otherCAPEM: [UInt8]
    let otherCAClient: TestIdentity
    /// Self-signed leaves (CA:false) with the usual client / server names and EKUs.
    let selfSignedClient: TestIdentity
    let selfSignedServer: TestIdentity
    /// Wrong EKU: a server name with only clientAuth, and a client with only serverAuth.
    let serverWithClientEKU: TestIdentity
    let clientWithServerEKU: TestIdentity
    /// CN=localhost (to show the CN is never used for name checks) and SAN DNS:other.example only.
    let serverForOtherName: TestIdentity
    /// Leaves signed by `openssl x509 -req -CA ca.crt -CAkey ca.key` with only a SAN extfile: no EKU, no KU.
    let plainServer: TestIdentity
    let plainClient: TestIdentity
    /// A server leaf issued by an intermediate CA (CA:true, P-384) under the CA; chainPEM = leaf + intermediate.
    let intermediateServer: TestIdentity
    /// CN=alice, clientAuth, RSA 1024, signed by the CA.
    let rsa1024Client: TestIdentity

    let validUnixTime: Int64
    let expiredUnixTime: Int64
    let notYetValidUnixTime: Int64

    // Additions beyond the shared interface.

    /// The intermediate CA certificate alone (to pin it as the only anchor).
    let intermediateCAPEM: [UInt8]
    /// CN=alice, clientAuth, signed by the CA, already expired in real time: notAfter is a day before generation.
    let expiredClient: TestIdentity
    /// No CN; SAN DNS:san-only.example, IP:192.0.2.7, serverAuth.
    let sanOnlyServer: TestIdentity
    /// No CN; SAN IP:2001:db8::1 only, serverAuth.
    let ipv6OnlyServer: TestIdentity
    /// CN=localhost and no SAN at all, serverAuth: must not match "localhost" (Ferry never falls back to the CN).
    let cnOnlyServer: TestIdentity
    /// CN=ferry-server, SAN DNS:*.ferry.test, DNS:f*.partial.test, serverAuth.
    let wildcardServer: TestIdentity
    /// CN=alice, clientAuth, signed by the CA, with keys that pass OpenSSL's path checks but that Ferry does not
    /// verify signatures with: Ed448 and ECDSA P-521.
    let ed448Client: TestIdentity
    let p521Client: TestIdentity
    /// keyUsage keyEncipherment only: OpenSSL's sslserver purpose accepts it, Ferry must not (it signs with the key).
    let keyEnciphermentOnlyServer: TestIdentity
    /// Subject /CN=first/CN=alice (two commonNames; the last, most specific one is the identity), clientAuth.
    let twoCNClient: TestIdentity

    private init() {
        do {
            let builder = try Builder()
            defer { builder.removeDirectory() }
            let start = Int64(Date().timeIntervalSince1970)
            let day: Int64 = 86_400
            validUnixTime = start + day
            expiredUnixTime = start + 31 * day
            notYetValidUnixTime = start - day

            let ca = try builder.makeCA(name: "ca", subject: "/CN=Ferry Test CA", newkey: ["rsa:2048"])
            let otherCA = try builder.makeCA(
                name: "otherca", subject: "/CN=Other Test CA", newkey: ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            caPEM = ca.certificate
            otherCAPEM = otherCA.certificate

            let serverExtensions = Builder.leafExtensions(eku: "serverAuth", san: Builder.serverSAN)
            let clientExtensions = Builder.leafExtensions(eku: "clientAuth", san: nil)
            var servers: [TestKeyType: TestIdentity] = [:]
            var clients: [TestKeyType: TestIdentity] = [:]
            for type in TestKeyType.allCases {
                servers[type] = try builder.makeLeaf(
                    name: "server-\(type)", key: .init(type), subject: "/CN=ferry-server", issuer: ca,
                    extensions: serverExtensions)
                clients[type] = try builder.makeLeaf(
                    name: "client-\(type)", key: .init(type), subject: "/CN=alice", issuer: ca,
                    extensions: clientExtensions)
            }
            self.servers = servers
            self.clients = clients

            otherCAClient = try builder.makeLeaf(
                name: "otherca-client", key: .p256, subject: "/CN=alice", issuer: otherCA, extensions: clientExtensions)
            selfSignedClient = try builder.makeSelfSigned(
                name: "selfsigned-client", subject: "/CN=alice", extensions: clientExtensions)
            selfSignedServer = try builder.makeSelfSigned(
                name: "selfsigned-server", subject: "/CN=ferry-server", extensions: serverExtensions)
            serverWithClientEKU = try builder.makeLeaf(
                name: "server-client-eku", key: .p256, subject: "/CN=ferry-server", issuer: ca,
                extensions: Builder.leafExtensions(eku: "clientAuth", san: Builder.serverSAN))
            clientWithServerEKU = try builder.makeLeaf(
                name: "client-server-eku", key: .p256, subject: "/CN=alice", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: nil))
            serverForOtherName = try builder.makeLeaf(
                name: "server-other-name", key: .p256, subject: "/CN=localhost", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: "DNS:other.example"))
            plainServer = try builder.makeLeaf(
                name: "plain-server", key: .p256, subject: "/CN=ferry-server", issuer: ca,
                extensions: "subjectAltName = \(Builder.serverSAN)\n")
            plainClient = try builder.makeLeaf(
                name: "plain-client", key: .p256, subject: "/CN=alice", issuer: ca,
                extensions: "subjectAltName = DNS:alice.clients.example\n")

            let intermediate = try builder.makeIntermediateCA(name: "intermediate", issuer: ca)
            intermediateCAPEM = intermediate.certificate
            let leafUnderIntermediate = try builder.makeLeaf(
                name: "intermediate-server", key: .p256, subject: "/CN=ferry-server", issuer: intermediate,
                extensions: serverExtensions)
            intermediateServer = TestIdentity(
                chainPEM: leafUnderIntermediate.chainPEM + intermediate.certificate, keyPEM: leafUnderIntermediate.keyPEM)

            rsa1024Client = try builder.makeLeaf(
                name: "client-rsa1024", key: .rsa(1024), subject: "/CN=alice", issuer: ca, extensions: clientExtensions)
            expiredClient = try builder.makeLeaf(
                name: "client-expired", key: .p256, subject: "/CN=alice", issuer: ca, extensions: clientExtensions,
                days: -1)
            sanOnlyServer = try builder.makeLeaf(
                name: "san-only", key: .p256, subject: "/O=Ferry Tests", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: "DNS:san-only.example,IP:192.0.2.7"))
            ipv6OnlyServer = try builder.makeLeaf(
                name: "ipv6-only", key: .p256, subject: "/O=Ferry Tests", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: "IP:2001:db8:0:0:0:0:0:1"))
            cnOnlyServer = try builder.makeLeaf(
                name: "cn-only", key: .p256, subject: "/CN=localhost", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: nil))
            wildcardServer = try builder.makeLeaf(
                name: "wildcard", key: .p256, subject: "/CN=ferry-server", issuer: ca,
                extensions: Builder.leafExtensions(eku: "serverAuth", san: "DNS:*.ferry.test,DNS:f*.partial.test"))
            ed448Client = try builder.makeLeaf(
                name: "client-ed448", key: .ed448, subject: "/CN=alice", issuer: ca, extensions: clientExtensions)
            p521Client = try builder.makeLeaf(
                name: "client-p521", key: .p521, subject: "/CN=alice", issuer: ca, extensions: clientExtensions)
            keyEnciphermentOnlyServer = try builder.makeLeaf(
                name: "server-keyencipherment", key: .rsa(2048), subject: "/CN=ferry-server", issuer: ca,
                extensions: "keyUsage = critical,keyEncipherment\nextendedKeyUsage = serverAuth\n"
                    + "subjectAltName = \(Builder.serverSAN)\n")
            twoCNClient = try builder.makeLeaf(
                name: "client-two-cn", key: .p256, subject: "/CN=first/CN=alice", issuer: ca,
                extensions: clientExtensions)
        } catch {
            fatalError("TestPKI: could not build the test PKI with the openssl command line: \(error)")
        }
    }
}

/// Runs `openssl` in one temporary directory. Only used while `TestPKI.init` runs, on one thread.
final class Builder {

    enum Key {
        case ed25519, p256, p384, rsa(Int), ed448, p521

        init(_ type: TestKeyType) {
            switch type {
            case .ed25519: self = .ed25519
            case .ecdsaP256: self = .p256
            case .ecdsaP384: self = .p384
            case .rsa2048: self = .rsa(2048)
            }
        }

        var genpkeyArguments: [String] {
            switch self {
            case .ed25519: ["-algorithm", "ED25519"]
            case .p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            case .p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            case .rsa(let bits): ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)"]
            case .ed448: ["-algorithm", "ED448"]
            case .p521: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]
            }
        }
    }

    /// A CA's certificate (PEM bytes) and the file names `x509 -req -CA/-CAkey` need.
    struct Issuer {
        let certificate: [UInt8]
        let certificateFile: String
        let keyFile: String
    }

    static let serverSAN = "DNS:localhost,IP:127.0.0.1,IP:::1"

    static func leafExtensions(eku: String, san: String?) -> String {
        var text = """
            basicConstraints = critical,CA:false
            keyUsage = critical,digitalSignature
            extendedKeyUsage = \(eku)

            """
        if let san { text += "subjectAltName = \(san)\n" }
        return text
    }

    /// A private `req` configuration, so that the system openssl.cnf adds no extensions of its own (also
    /// OpenSSLWorkbench's).
    static let requestConfiguration = """
        [req]
        distinguished_name = dn
        [dn]
        [root_ca]
        basicConstraints = critical,CA:true
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash

        """

    private let temporary: TemporaryDirectory
    private var directory: URL { temporary.url }
    private var serial = 0x1000

    init() throws {
        temporary = try TemporaryDirectory(label: "test-pki")
        try write("req.cnf", Self.requestConfiguration)
    }

    func removeDirectory() { temporary.remove() }

    func makeCA(name: String, subject: String, newkey: [String]) throws -> Issuer {
        try openssl(["req", "-x509", "-newkey"] + newkey + [
            "-nodes", "-keyout", "\(name).key", "-out", "\(name).crt", "-subj", subject, "-days", "3650",
            "-config", "req.cnf", "-extensions", "root_ca",
        ])
        return Issuer(certificate: try read("\(name).crt"), certificateFile: "\(name).crt", keyFile: "\(name).key")
    }

    func makeIntermediateCA(name: String, issuer: Issuer) throws -> Issuer {
        let leaf = try makeLeaf(
            name: name, key: .p384, subject: "/CN=Ferry Test Intermediate CA", issuer: issuer,
            extensions: """
                basicConstraints = critical,CA:true,pathlen:0
                keyUsage = critical,keyCertSign,cRLSign
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid

                """, days: 365)
        return Issuer(certificate: leaf.chainPEM, certificateFile: "\(name).crt", keyFile: "\(name).key")
    }

    func makeLeaf(name: String, key: Key, subject: String, issuer: Issuer, extensions: String,
                  days: Int = 30) throws -> TestIdentity {
        try openssl(["genpkey"] + key.genpkeyArguments + ["-out", "\(name).key"])
        try openssl(["req", "-new", "-key", "\(name).key", "-subj", subject, "-config", "req.cnf", "-out", "\(name).csr"])
        try write("\(name).ext", extensions)
        serial += 1
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", issuer.certificateFile, "-CAkey", issuer.keyFile,
            "-set_serial", "\(serial)", "-days", "\(days)", "-extfile", "\(name).ext", "-out", "\(name).crt",
        ])
        return TestIdentity(chainPEM: try read("\(name).crt"), keyPEM: try read("\(name).key"))
    }

    func makeSelfSigned(name: String, subject: String, extensions: String) throws -> TestIdentity {
        try write("\(name).cnf", Self.requestConfiguration + "[leaf]\n" + extensions)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "\(name).key", "-out", "\(name).crt", "-subj", subject, "-days", "30",
            "-config", "\(name).cnf", "-extensions", "leaf",
        ])
        return TestIdentity(chainPEM: try read("\(name).crt"), keyPEM: try read("\(name).key"))
    }

    private func write(_ file: String, _ text: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(file))
    }

    private func read(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
    }

    private func openssl(_ arguments: [String]) throws {
        try TestSupport.openssl(arguments, in: directory)
    }
}
