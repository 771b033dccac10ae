// A file-based certificate authority for Ferry: `ca.crt` and `ca.key` in one directory, and leaves issued from them.
//
//   initialize(directory:)  ──►  DIR/ca.key (0600, PKCS#8, encrypted or not)  DIR/ca.crt (0644)
//                                [DIR/ca.key.passphrase (0600) when the passphrase was generated: KeyEncryption.swift]
//   CertificateAuthority(directory:)  loads them back (and checks they belong together and form a valid CA); an
//                                encrypted ca.key is opened with its passphrase (PassphraseSources.certificateAuthority:
//                                --passphrase-file, DIR/ca.key.passphrase, the terminal)
//   issue(name:role:…)      ──►  OUT/NAME.key (0600, PKCS#8, encrypted with --encrypt)  OUT/NAME.crt (0644, the leaf
//                                only) [OUT/NAME.key.passphrase], and a copy of the certificate in DIR/issued/
//                                (CARegistry.swift)
//   revoke, revocationList  ──►  DIR/revoked, DIR/crlnumber; a signed CRL (CertificateAuthority+Revocation.swift)
//
// Profiles (RFC 5280 §4.2):
//   CA    basicConstraints critical CA:TRUE; keyUsage critical keyCertSign, cRLSign; subjectKeyIdentifier
//   leaf  basicConstraints critical CA:FALSE; keyUsage critical digitalSignature; extendedKeyUsage serverAuth or
//         clientAuth; subjectAltName (servers only, see below); subjectKeyIdentifier; authorityKeyIdentifier
// keyUsage is digitalSignature alone for every key type: Ferry's handshake signs an ephemeral DH exchange (like TLS 1.3)
// and never encrypts to the certificate key, so RSA leaves need no keyEncipherment.
//
// Client certificates carry no subjectAltName. Ferry identifies a client by its subject CN (Certificate.identity) and
// checks no name against client certificates; a DNS:alice SAN would claim a host name the client does not have, and
// OpenSSL's sslclient purpose does not need a SAN (RFC 5280 §4.2.1.6 requires one only when the subject is empty).
//
// The NAME.crt file holds the leaf alone; peers are configured with ca.crt separately (both sides trust the same CA,
// and a Ferry chain sent on the wire need not include the anchor).
//
// Keys and certificates are made by Protocol's crypto layer (KeyGeneration.swift, CertificateBuilder.swift), the one
// place that touches OpenSSL; this file decides the profiles and where the files go.
import Foundation
import Platform
import Protocol

struct CertificateAuthority {
    static let certificateFileName = "ca.crt"
    static let keyFileName = "ca.key"
    static let defaultName = "Ferry CA"
    /// Ten years for the CA, 397 days for leaves: the CA/Browser Forum's leaf maximum, which keeps renewal a yearly
    /// habit. Both are overridable; `maximumDays` only stops typos (100 years).
    static let defaultCADays = 3650
    static let defaultLeafDays = 397
    static let maximumDays = 36_500
    /// notBefore is backdated by this much so that a peer whose clock is a little behind accepts a fresh certificate.
    static let clockSkewAllowance: Int64 = 5 * 60
    /// ub-common-name (RFC 5280 Appendix A.1): a CN holds at most 64 characters.
    static let maximumNameLength = 64
    /// CA files are a few KiB; anything much larger is not one.
    static let maximumFileSize = 1 << 20

    /// What a leaf certificate is for.
    enum Role: Equatable, Sendable {
        /// serverAuth, with these subjectAltNames (at least one: clients check the server's name against them only).
        case server(sans: [SubjectAltName])
        /// clientAuth, no subjectAltName.
        case client
    }

    let directory: URL
    let certificatePath: String
    let keyPath: String
    /// The CA's commonName.
    let name: String
    let keyType: CAKeyType
    let notAfter: Date
    let certificate: Certificate
    let key: SigningKey

    /// Loads DIR/ca.crt and DIR/ca.key and checks that the key is the certificate's, that the certificate is a CA and
    /// that it has not expired. An encrypted ca.key is opened with a passphrase from `passphrase`, asked for only then.
    init(directory: URL, now: Date = Date(),
         passphrase: PassphraseSources = .certificateAuthority(file: nil)) throws(CAError) {
        let certificatePath = directory.appendingPathComponent(Self.certificateFileName).path
        let keyPath = directory.appendingPathComponent(Self.keyFileName).path
        guard FileManager.default.fileExists(atPath: certificatePath) || FileManager.default.fileExists(atPath: keyPath) else {
            throw CAError.invalidCA("no CA in \(directory.path) (no \(Self.certificateFileName) or \(Self.keyFileName)): "
                                    + "run `ferry ca init --dir \(directory.path)` first")
        }
        let certificatePEM = try readSmallFile(certificatePath, limit: Self.maximumFileSize)
        let chain: [Certificate]
        do {
            chain = try Certificate.chain(fromPEM: certificatePEM)
        } catch {
            throw CAError.invalidCA("\(certificatePath): not a PEM certificate (\(error))")
        }
        // The first certificate of the file: ca.crt holds one, and a bundle names its own certificate first.
        guard let certificate = chain.first else { throw CAError.invalidCA("\(certificatePath): no certificate") }
        let key: SigningKey
        do { key = try PrivateKeyFile.load(keyPath, passphrase: passphrase) } catch {
            throw CAError(error.kind == .unreadable ? .invalidCA : .passphrase, error.description)
        }
        guard let keyType = key.algorithm.map(CAKeyType.init(signingWith:)) else {
            throw CAError.invalidCA("\(keyPath): unsupported key type (want Ed25519, ECDSA P-256/P-384 or RSA ≥ 2048 bits)")
        }

        guard certificate.matches(key) else {
            throw CAError.invalidCA("\(keyPath) is not the key of \(certificatePath)")
        }
        guard certificate.isCertificateAuthority else {
            throw CAError.invalidCA("\(certificatePath) is not a CA certificate (basicConstraints CA:TRUE is missing)")
        }
        guard let notAfter = certificate.notAfter else {
            throw CAError.invalidCA("\(certificatePath): unreadable notAfter")
        }
        guard notAfter > Int64(now.timeIntervalSince1970) else {
            throw CAError.invalidCA("\(certificatePath) expired on \(SystemClock.utcText(notAfter)): make a new CA")
        }
        self.directory = directory
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.name = certificate.commonName ?? "(no CN)"
        self.keyType = keyType
        self.notAfter = Date(timeIntervalSince1970: TimeInterval(notAfter))
        self.certificate = certificate
        self.key = key
    }

    /// Creates a CA in `directory` (made, 0700, if missing): a new key of `keyType`, written as `keyEncryption` says,
    /// and a self-signed certificate CN=`name`, valid from now − 5 minutes for `days` days. Refuses to replace an
    /// existing ca.key, ca.crt or ca.key.passphrase unless `force`. Returns the new CA, loaded back from the files
    /// written. The library writes the key unencrypted unless asked: `ferry ca init` decides (encrypted by default).
    @discardableResult
    static func initialize(directory: URL, name: String = defaultName, keyType: CAKeyType = .ecdsaP256,
                           days: Int = defaultCADays, keyEncryption: KeyEncryption = .none, force: Bool = false,
                           now: Date = Date()) throws(CAError) -> CertificateAuthority {
        try validateCommonName(name, what: "CA name")
        try validateDays(days)
        let certificatePath = directory.appendingPathComponent(certificateFileName).path
        let keyPath = directory.appendingPathComponent(keyFileName).path
        try makeDirectory(directory)
        try refuseExistingCA(in: directory, force: force)

        let start = Int64(now.timeIntervalSince1970)
        let template = CertificateTemplate(
            commonName: name, notBefore: start - clockSkewAllowance, notAfter: start + Int64(days) * 86_400,
            extensions: [.basicConstraints(isCA: true), .keyUsage([.keyCertSign, .cRLSign]), .subjectKeyIdentifier])
        let (key, certificate) = try issueCertificate(template, keyType: keyType, issuer: nil)
        let written = try writeKeyFiles(key: key, encryption: keyEncryption, certificate: certificate, keyPath: keyPath,
                                        certificatePath: certificatePath, replacing: force)
        return try CertificateAuthority(directory: directory, now: now, passphrase: .known(written.passphrase))
    }

    /// Throws `.alreadyExists` when DIR holds ca.key, ca.crt or ca.key.passphrase and `force` is not set: checked
    /// by `ferry ca init` before it asks for a passphrase, and again by `initialize`.
    static func refuseExistingCA(in directory: URL, force: Bool) throws(CAError) {
        guard !force else { return }
        let keyPath = directory.appendingPathComponent(keyFileName).path
        let paths = [keyPath, directory.appendingPathComponent(certificateFileName).path,
                     PrivateKeyFile.passphrasePath(besideKey: keyPath)]
        for path in paths where FileManager.default.fileExists(atPath: path) {
            throw CAError(.alreadyExists, "\(path) already exists: a CA is already set up in \(directory.path) "
                          + "(pass --force to replace it; certificates it issued will stop verifying)")
        }
    }

    /// Issues a leaf for `name` (its CN and file name) with a new key of `keyType`, valid from now − 5 minutes for
    /// `days` days (not past the CA's own expiry), and writes OUT/NAME.key (as `keyEncryption` says) and OUT/NAME.crt
    /// (OUT made, 0700, if missing). Refuses to replace existing files unless `force`.
    @discardableResult
    func issue(name: String, role: Role, keyType: CAKeyType = .ed25519, days: Int = defaultLeafDays,
               outputDirectory: URL, keyEncryption: KeyEncryption = .none, force: Bool = false,
               now: Date = Date()) throws(CAError) -> IssuedCertificate {
        try Self.validateLeafName(name)
        try Self.validateDays(days)
        let start = Int64(now.timeIntervalSince1970)
        let notBefore = start - Self.clockSkewAllowance
        let notAfter = start + Int64(days) * 86_400
        let caNotAfter = Int64(self.notAfter.timeIntervalSince1970)
        guard notAfter <= caNotAfter else {
            let remaining = (caNotAfter - start) / 86_400
            throw CAError.invalidArgument("a certificate valid for \(days) days would outlive the CA, which expires on "
                                          + "\(SystemClock.utcText(caNotAfter)): pass --days \(remaining) or less")
        }

        var extensions: [CertificateExtension] = [.basicConstraints(isCA: false), .keyUsage([.digitalSignature])]
        let sans: [SubjectAltName]
        switch role {
        case .server(let given):
            guard !given.isEmpty else {
                throw CAError.invalidArgument("a server certificate needs at least one subjectAltName (DNS:host or IP:address)"
                                              + ": clients check the server's name against these only")
            }
            guard given.count <= SubjectAltName.maximumCount else {
                throw CAError.invalidArgument("\(given.count) subjectAltNames, at most \(SubjectAltName.maximumCount)")
            }
            guard Set(given.map(\.matchKey)).count == given.count else {
                throw CAError.invalidArgument("a subjectAltName is listed twice")
            }
            sans = given
            extensions.append(.extendedKeyUsage([.serverAuth]))
            extensions.append(.subjectAltName(given.map(\.generalName)))
        case .client:
            sans = []
            extensions.append(.extendedKeyUsage([.clientAuth]))
        }
        extensions.append(.subjectKeyIdentifier)
        extensions.append(.authorityKeyIdentifier)

        let (keyPath, certificatePath) = try checkOutput(name: name, outputDirectory: outputDirectory, force: force)

        let template = CertificateTemplate(commonName: name, notBefore: notBefore, notAfter: notAfter, extensions: extensions)
        let (leafKey, leaf) = try Self.issueCertificate(template, keyType: keyType, issuer: (certificate, key))
        // Recorded before the files are written: a certificate handed out is always one `ferry ca list` and
        // `revoke --name` know (one recorded but never written is harmless).
        try registry.record(leaf)
        let written = try Self.writeKeyFiles(key: leafKey, encryption: keyEncryption, certificate: leaf, keyPath: keyPath,
                                             certificatePath: certificatePath, replacing: force)
        return IssuedCertificate(
            name: name, role: role, keyType: keyType, certificatePath: certificatePath, keyPath: keyPath,
            keyEncrypted: keyEncryption.isEncrypted, passphrasePath: written.passphrasePath,
            serialHex: leaf.serialNumber.map { String(format: "%02x", $0) }.joined(separator: ":"),
            notBefore: Date(timeIntervalSince1970: TimeInterval(notBefore)),
            notAfter: Date(timeIntervalSince1970: TimeInterval(notAfter)), subjectAltNames: sans,
            issuer: self.name)
    }

    // MARK: - Helpers

    /// A new key of `keyType` and its certificate, signed by `issuer` or self-signed. Crypto failures are the
    /// library's (the template was validated here first), so they surface as `.library`.
    private static func issueCertificate(_ template: CertificateTemplate, keyType: CAKeyType,
                                         issuer: (certificate: Certificate, key: SigningKey)?) throws(CAError)
        -> (SigningKey, Certificate) {
        do {
            let key = try SigningKey.generate(keyType.algorithm)
            return (key, try CertificateBuilder.build(template, subjectKey: key, issuer: issuer))
        } catch {
            throw CAError(.library, "cannot make the \(keyType) key and certificate for \(template.commonName): \(error)")
        }
    }

    /// OUT/NAME.key and OUT/NAME.crt for a leaf, after checking that they are not the CA's own files and, unless
    /// `force`, that none of them (nor NAME.key.passphrase) exists: `ferry ca issue` checks this before it asks for
    /// a passphrase, and `issue` again. Creates OUT (0700) if missing.
    @discardableResult
    func checkOutput(name: String, outputDirectory: URL, force: Bool) throws(CAError) -> (key: String, certificate: String) {
        let keyPath = outputDirectory.appendingPathComponent(name + ".key").path
        let certificatePath = outputDirectory.appendingPathComponent(name + ".crt").path
        try Self.makeDirectory(outputDirectory)
        // `--name ca --out <the CA directory> --force` would replace the CA's own key with a leaf key.
        let ownFiles = Set([self.keyPath, self.certificatePath].map(Self.canonicalPath))
        guard ownFiles.isDisjoint(with: [keyPath, certificatePath].map(Self.canonicalPath)) else {
            throw CAError.invalidArgument("\(certificatePath) and \(keyPath) would replace the CA's own files: "
                                          + "choose another --name or --out")
        }
        if !force {
            for path in [keyPath, certificatePath, PrivateKeyFile.passphrasePath(besideKey: keyPath)]
            where FileManager.default.fileExists(atPath: path) {
                throw CAError(.alreadyExists, "\(path) already exists (pass --force to replace it)")
            }
        }
        return (keyPath, certificatePath)
    }

    /// The path with symbolic links in its directory resolved, for comparing file identities.
    private static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent)
            .standardizedFileURL.path
    }

    private static func makeDirectory(_ directory: URL) throws(CAError) {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CAError(.io, "cannot create directory \(directory.path): \(error.localizedDescription)")
        }
    }

    /// A CA name: 1–64 characters (ub-common-name), no control characters, no leading or trailing space.
    static func validateCommonName(_ name: String, what: String) throws(CAError) {
        let count = name.unicodeScalars.count
        guard count >= 1, count <= maximumNameLength else {
            throw CAError.invalidArgument("\(what) must be 1–\(maximumNameLength) characters, got \(count)")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw CAError.invalidArgument("\(what) \"\(printable(name))\" contains control characters")
        }
        guard name.trimmingSpaces == name else {
            throw CAError.invalidArgument("\(what) \"\(name)\" has leading or trailing spaces")
        }
    }

    /// A leaf name is also a file name (NAME.crt, NAME.key): ASCII letters, digits and ". _ @ -", starting with a letter
    /// or digit, so it can neither escape the output directory nor hide as a dot file. 1–64 characters.
    static func validateLeafName(_ name: String) throws(CAError) {
        try validateCommonName(name, what: "name")
        guard let first = name.utf8.first, isAlphanumeric(first),
              name.utf8.allSatisfy({ isAlphanumeric($0) || ".-_@".utf8.contains($0) }) else {
            throw CAError.invalidArgument("name \"\(printable(name))\" must start with a letter or digit and hold only "
                                          + "letters, digits, '.', '-', '_' and '@' (it is also the file name)")
        }
    }

    static func validateDays(_ days: Int) throws(CAError) {
        guard days >= 1, days <= maximumDays else {
            throw CAError.invalidArgument("days must be 1…\(maximumDays), got \(days)")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}

/// What `issue` wrote, for the command to print.
struct IssuedCertificate: Equatable, Sendable {
    let name: String
    let role: CertificateAuthority.Role
    let keyType: CAKeyType
    let certificatePath: String
    let keyPath: String
    let keyEncrypted: Bool
    /// OUT/NAME.key.passphrase, when `issue` generated the passphrase.
    let passphrasePath: String?
    /// The serial number as colon-separated hex, as `openssl x509 -text` prints it.
    let serialHex: String
    let notBefore: Date
    let notAfter: Date
    let subjectAltNames: [SubjectAltName]
    /// The issuing CA's commonName.
    let issuer: String
}
