// What each side brings to a session: preferences, identity, trust and rotation policy.

/// The algorithm lists a side offers (client) or accepts in order of preference (server).
public struct AlgorithmPreferences: Sendable, Equatable {
    public var cipherSuites: [CipherSuite]
    public var groups: [KeyExchangeGroup]
    public var hashes: [HashFunction]
    /// What this side accepts in the *peer's* CertificateVerify: the client's ClientHello.signature_schemes, the
    /// server's ServerHello.client_signature_schemes (docs/PROTOCOL.md §4). Never what this side signs with: each side
    /// signs with a scheme its own key can produce (`SigningKey.schemes`), picked from what the peer accepts.
    public var signatureSchemes: [SignatureScheme]

    public init(cipherSuites: [CipherSuite], groups: [KeyExchangeGroup], hashes: [HashFunction],
                signatureSchemes: [SignatureScheme]) {
        self.cipherSuites = cipherSuites
        self.groups = groups
        self.hashes = hashes
        self.signatureSchemes = signatureSchemes
    }

    /// Server defaults: AES-256-GCM first (AES-NI makes it the fastest here, docs/PERFORMANCE.md), every group, the
    /// post-quantum hybrid first (docs/PROTOCOL.md §12.10): a client that offers it gets it.
    public static let serverDefault = AlgorithmPreferences(
        cipherSuites: [.aes256GCM, .chacha20Poly1305, .aes128GCM, .aes256CBCHMACSHA256],
        groups: [.x25519MLKEM768, .x25519, .secp256r1, .ffdhe3072, .ffdhe2048],
        hashes: [.sha256, .sha384, .sha512],
        signatureSchemes: [.ed25519, .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512])

    /// Client defaults. The client sends a share for every group it offers (no HelloRetryRequest round trip), so it
    /// offers the post-quantum hybrid (1216-byte share) and the cheap elliptic-curve groups, for servers without the
    /// hybrid, unless configured otherwise: a ClientHello of 1,400 bytes, far under the 8 KiB pre-authentication limit.
    public static let clientDefault = AlgorithmPreferences(
        cipherSuites: [.aes256GCM, .chacha20Poly1305, .aes128GCM, .aes256CBCHMACSHA256],
        groups: [.x25519MLKEM768, .x25519, .secp256r1],
        hashes: [.sha256, .sha384, .sha512],
        signatureSchemes: [.ed25519, .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512])

    /// Refuses empty, repeated or oversized lists (a bug in the caller's configuration, reported before any session).
    public func validate() throws(ConfigurationError) {
        func check<T: Hashable>(_ list: [T], _ name: String) throws(ConfigurationError) {
            guard !list.isEmpty else { throw ConfigurationError("\(name): the list is empty") }
            guard list.count <= Limits.maxOfferedAlgorithms else {
                throw ConfigurationError("\(name): at most \(Limits.maxOfferedAlgorithms) entries")
            }
            guard Set(list).count == list.count else { throw ConfigurationError("\(name): an entry is repeated") }
        }
        try check(cipherSuites, "cipher suites")
        try check(groups, "groups")
        try check(hashes, "hashes")
        try check(signatureSchemes, "signature schemes")
    }
}

public struct ConfigurationError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A side's certificate chain and the matching private key.
public struct Identity: Sendable {
    public let chain: [Certificate]
    public let key: SigningKey

    /// Checks that the chain is non-empty, short enough, and that the key is the leaf's and can sign.
    public init(chain: [Certificate], key: SigningKey) throws(ConfigurationError) {
        guard let leaf = chain.first else { throw ConfigurationError("the certificate file has no certificate") }
        guard chain.count <= Limits.maxCertificateChainLength else {
            throw ConfigurationError("certificate chain longer than \(Limits.maxCertificateChainLength)")
        }
        guard leaf.matches(key) else { throw ConfigurationError("the private key does not belong to the certificate") }
        // The Certificate message travels before the peer is authenticated, in one record under the small limit.
        let messageLength = 1 + chain.reduce(0) { $0 + 2 + $1.der.count }
        guard messageLength + 1 + Limits.maxSealingOverhead <= Limits.maxRecordBodyBeforeAuthentication,
              chain.allSatisfy({ $0.der.count <= Limits.maxCertificateLength }) else {
            throw ConfigurationError("the certificate chain is \(messageLength) bytes of DER; at most "
                + "\(Limits.maxRecordBodyBeforeAuthentication - 1 - Limits.maxSealingOverhead) fit in a handshake record")
        }
        guard !key.schemes.isEmpty else {
            throw ConfigurationError("the private key is \(key.kindDescription), which Ferry cannot sign with: it "
                + "supports Ed25519, ECDSA on P-256 or P-384, and RSA of 2048 bits or more (`ferry ca issue --key-type "
                + "ed25519 | ecdsa-p256 | ecdsa-p384 | rsa-3072` makes one)")
        }
        self.chain = chain
        self.key = key
    }

    /// For tests only: an identity whose key need not match its certificate (an impostor).
    init(uncheckedChain chain: [Certificate], key: SigningKey) {
        self.chain = chain
        self.key = key
    }

    /// Loads a PEM chain (leaf first) and a PEM private key from bytes the caller read.
    public init(chainPEM: [UInt8], keyPEM: [UInt8]) throws(ConfigurationError) {
        let chain: [Certificate]
        let key: SigningKey
        do { chain = try Certificate.chain(fromPEM: chainPEM) } catch { throw ConfigurationError("certificate: \(error)") }
        do { key = try SigningKey(pem: keyPEM) } catch { throw ConfigurationError("private key: \(error)") }
        try self.init(chain: chain, key: key)
    }

    /// Loads a PEM chain (leaf first) for a key the caller already loaded (an encrypted one, with its passphrase).
    public init(chainPEM: [UInt8], key: SigningKey) throws(ConfigurationError) {
        let chain: [Certificate]
        do { chain = try Certificate.chain(fromPEM: chainPEM) } catch { throw ConfigurationError("certificate: \(error)") }
        try self.init(chain: chain, key: key)
    }
}

public struct ServerConfiguration: Sendable {
    public var versions: [ProtocolVersion] = [.v1]
    public var preferences: AlgorithmPreferences = .serverDefault
    public var identity: Identity
    /// The CA bundle client certificates must chain to.
    public var clientTrust: TrustStore
    /// The server's rotation policy; announced to the client, which rotates at the stricter of both.
    public var rotation: RotationPolicy = .none
    /// Largest Data chunk the server accepts (announced in ServerParameters).
    public var maxDataChunk: Int = Limits.maxDataChunk
    /// Who may connect, beyond holding a valid certificate: checked once the client has proven its key.
    public var admission = ClientAdmission()
    /// Features beyond v1 the server agrees to when a client offers them (§8.9).
    public var uploadFeatures: UploadFeatures = .known

    public init(identity: Identity, clientTrust: TrustStore) {
        self.identity = identity
        self.clientTrust = clientTrust
    }
}

public struct ClientConfiguration: Sendable {
    public var versions: [ProtocolVersion] = [.v1]
    public var preferences: AlgorithmPreferences = .clientDefault
    public var identity: Identity
    /// The CA bundle the server's certificate must chain to.
    public var serverTrust: TrustStore
    /// The name (DNS) or IP address the server's certificate must carry in its subjectAltName.
    public var serverName: String
    public var rotation: RotationPolicy = .none
    /// Features beyond v1 the client offers (§8.9); used only when the server agrees.
    public var uploadFeatures: UploadFeatures = .known

    public init(identity: Identity, serverTrust: TrustStore, serverName: String) {
        self.identity = identity
        self.serverTrust = serverTrust
        self.serverName = serverName
    }
}

/// What both sides agreed on, reported when the handshake completes.
public struct SessionParameters: Sendable, Equatable {
    public let version: ProtocolVersion
    public let cipherSuite: CipherSuite
    public let group: KeyExchangeGroup
    public let hash: HashFunction
    /// The scheme the server signed with, and the one the client signed with.
    public let serverSignature: SignatureScheme
    public let clientSignature: SignatureScheme
    /// The peer as verified: its identity, chain and anchor (kept for checking it again later: a reload with new CRLs).
    public let peer: VerifiedPeer
    /// The rotation policy in force for this session (the stricter of both sides').
    public let rotation: RotationPolicy
    /// Largest Data chunk this session uses.
    public let maxDataChunk: Int
    /// Features beyond v1 that both sides agreed (§8.9).
    public var uploadFeatures: UploadFeatures = []

    /// The verified identity of the peer: certificate CN, else first subjectAltName; on a server, prefixed with the
    /// namespace of the client's CA when it has one (ClientAdmission).
    public var peerIdentity: String { peer.identity }
    /// The chain the peer sent (leaf first), as verified.
    public var peerChain: [Certificate] { peer.chain }
}
