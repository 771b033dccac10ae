// Refuse what cannot work (issue #16 point 7): the server's own chain checked the way its clients will check it
// (docs/PROTOCOL.md §6.9: serverAuth, no name, since only a client knows the name it dialled), by `check-config`, at
// start and at every SIGHUP reload. A certificate every client would refuse stops the daemon (or the reload, which
// keeps the running configuration) with a message that names the file, says what is wrong and what to do, instead of
// a daemon that starts "fine" and fails every handshake on the clients' side.
//
//   1. each certificate of identity.certificate: expired, or not yet valid (the commonest failure; the date is in
//      the message, which OpenSSL's verify error does not carry)
//   2. the leaf's extendedKeyUsage (must allow serverAuth) and keyUsage (must allow digitalSignature)
//   3. the key matches the leaf: Identity's own check, before this file runs
//   4. the path to the bundle clients use, through TrustStore.verify(purpose: .serverAuth): exactly the client's
//      check (one implementation of §6.9, not a second one here). A chain that ends below the bundle names the
//      certificate it lacks.
//
// "The bundle clients use": `[identity] server_ca` when set, else `client_ca`. Most deployments issue server and client
// certificates from one CA (`ferry ca`), whose certificate is then both what clients verify the server with and what
// ferryd verifies clients with; a server certificate from another CA (a public one, a separate server CA) is declared
// with server_ca, a bundle ferryd only checks against and never sends.
//
// Not refused, only warned about (log lines at start and reload, stderr of check-config): the server certificate or a CA
// in client_ca / server_ca that expires within `expiryWarningSeconds`, and a CA in client_ca that has already expired
// (a bundle may keep an old CA beside its successor; the clients of the old one are refused with certificate_expired).
import ArgumentParser
import Foundation
import Platform
import Protocol

/// One certificate's notAfter, for `ferry_certificate_expiry_timestamp_seconds` (Metrics/CertificateExpiryGauges).
struct CertificateExpiry: Equatable, Sendable {
    enum Role: String, Sendable {
        /// The leaf of identity.certificate.
        case server
        /// The intermediates after it in that file.
        case serverChain = "server_chain"
        /// Each certificate of identity.client_ca.
        case clientCA = "client_ca"
        /// Each certificate of identity.server_ca, when set.
        case serverCA = "server_ca"
    }

    let role: Role
    /// RFC 2253 subject, e.g. "CN=files.example.com".
    let subject: String
    /// Hex serial number: a CA and its renewal usually share the subject.
    let serial: String
    let notAfter: Int64
}

/// When one CRL of identity.crl is due for renewal, for `ferry_crl_next_update_timestamp_seconds` and the stale
/// check that runs while the daemon does (Server.watchRevocationLists).
struct RevocationListSchedule: Hashable, Sendable {
    /// The file it was read from.
    let file: String
    /// RFC 2253 issuer name.
    let issuer: String
    /// Its cRLNumber; nil when it has none.
    let number: UInt64?
    /// nil when the CRL has none.
    let nextUpdate: Int64?
}

/// What the check found that does not stop the daemon.
struct CertificateReport: Equatable, Sendable {
    /// One line each, naming the key and file.
    var warnings: [String] = []
    /// Every certificate the daemon was configured with.
    var expiries: [CertificateExpiry] = []
    /// Every CRL of identity.crl (filled in by DaemonRuntime from ClientTrust).
    var revocationLists: [RevocationListSchedule] = []
}

enum ServerCertificateCheck {
    /// 30 days: the usual renewal margin (ACME clients renew with 30 days left, `ferry ca issue` defaults to 397 days),
    /// and long enough for a warning in a weekly log review to be acted on before clients see certificate_expired.
    static let expiryWarningSeconds: Int64 = 30 * 86_400

    /// A bundle as the check uses it: the key that named it, its file, the store and the certificates in it.
    struct Bundle {
        let key: String
        let path: String
        let trust: TrustStore
        let certificates: [Certificate]
    }

    /// Refuses (throws a ValidationError with the whole message) or returns the warnings and expiries.
    /// `clientCA` is identity.client_ca; `serverCA` is identity.server_ca when set (else client_ca is used for both).
    static func check(identity: Identity, certificatePath: String, clientCA: Bundle, serverCA: Bundle?,
                      now: Int64) throws -> CertificateReport {
        let bundle = serverCA ?? clientCA
        let file = "identity.certificate (\(certificatePath))"
        try checkTimes(identity.chain, file: file, now: now)
        if let leaf = identity.chain.first { try checkUsages(leaf, file: file) }
        do {
            try bundle.trust.verify(chain: identity.chain, purpose: .serverAuth, expectedName: nil, unixTime: now)
        } catch {
            throw ValidationError(pathFailure(error, chain: identity.chain, file: file, bundle: bundle,
                                              serverCASet: serverCA != nil))
        }
        var report = CertificateReport()
        for (index, certificate) in identity.chain.enumerated() {
            let role: CertificateExpiry.Role = index == 0 ? .server : .serverChain
            report.add(certificate, role: role)
            guard let notAfter = certificate.notAfter, notAfter - now < expiryWarningSeconds else { continue }
            let what = index == 0 ? "the server certificate" : "the intermediate CA certificate"
            report.warnings.append("\(file): \(what) \(certificate.subjectName) expires on \(SystemClock.utcText(notAfter)), "
                + "\(inDays(notAfter - now)); clients refuse it from then on: renew it and reload")
        }
        report.addBundle(clientCA, role: .clientCA, now: now,
                         consequence: "client certificates issued by it are refused")
        if let serverCA {
            report.addBundle(serverCA, role: .serverCA, now: now,
                             consequence: "clients verifying the server with it refuse the server")
        }
        return report
    }

    // MARK: 1. Validity

    private static func checkTimes(_ chain: [Certificate], file: String, now: Int64) throws {
        for (index, certificate) in chain.enumerated() {
            let what = index == 0 ? "the server certificate \(certificate.subjectName)"
                : "certificate \(index + 1) of the chain, the intermediate CA \(certificate.subjectName),"
            if let notAfter = certificate.notAfter, notAfter < now {
                throw ValidationError("\(file): \(what) expired on \(SystemClock.utcText(notAfter)); clients refuse it "
                    + "(certificate_expired). "
                    + (index == 0 ? "Install a renewed certificate (ferry ca issue --server …) and start or reload ferryd"
                        : "Replace it with its issuer's current certificate and start or reload ferryd"))
            }
            if let notBefore = certificate.notBefore, notBefore > now {
                throw ValidationError("\(file): \(what) is not valid before \(SystemClock.utcText(notBefore)) (it is "
                    + "\(SystemClock.utcText(now)) on this machine); clients refuse it until then (certificate_expired). "
                    + "If this machine's clock is wrong, correct it; otherwise use a certificate that is valid now")
            }
        }
    }

    // MARK: 2. What the leaf may be used for

    private static func checkUsages(_ leaf: Certificate, file: String) throws {
        if let purposes = leaf.extendedKeyUsage, !purposes.contains(.serverAuth) {
            let allowed = purposes.contains(.clientAuth) ? "clientAuth but not serverAuth (a client certificate)"
                : "neither serverAuth nor clientAuth"
            throw ValidationError("\(file): the server certificate \(leaf.subjectName) is not for servers: its "
                + "extendedKeyUsage allows \(allowed), and clients refuse it (unsupported_certificate). Issue a server "
                + "certificate (ferry ca issue --server, or openssl with extendedKeyUsage = serverAuth) and use it")
        }
        if leaf.keyUsageAllowsDigitalSignature == false {
            throw ValidationError("\(file): the server certificate \(leaf.subjectName) has a keyUsage without "
                + "digitalSignature, which the server's handshake signature needs, and clients refuse it "
                + "(unsupported_certificate). Issue it with keyUsage = digitalSignature (ferry ca issue --server does)")
        }
    }

    // MARK: 4. The path to the bundle

    private static func pathFailure(_ error: CertificateVerificationError, chain: [Certificate], file: String,
                                    bundle: Bundle, serverCASet: Bool) -> String {
        let against = "\(bundle.key) (\(bundle.path))"
        let otherCA = serverCASet
            ? "If the server certificate comes from another CA, \(bundle.key) must be the bundle clients verify the "
                + "server with (their ferry upload --ca)"
            : "If the server certificate comes from another CA than the client certificates, set identity.server_ca to "
                + "the bundle clients verify the server with (their ferry upload --ca)"
        switch error.kind {
        case .untrustedIssuer, .selfSigned:
            guard let last = chain.last else { return "\(file): no certificate" }
            if last.isSelfIssued {
                return "\(file): the chain ends at \(last.subjectName), a self-signed certificate that is not in "
                    + "\(against), so clients refuse it (unknown_ca). Add it to that bundle if clients should trust it. "
                    + otherCA
            }
            let position = chain.count == 1 ? "the server certificate" : "certificate \(chain.count) of the chain"
            return "\(file): \(position), \(last.subjectName), was issued by \(last.issuerName), which is neither in "
                + "that file nor in \(against), so clients refuse the chain (unknown_ca). If \(last.issuerName) is an "
                + "intermediate CA, the chain is missing that intermediate: append its certificate (PEM) to "
                + "\(file) after the ones there. " + otherCA
        case .expired, .notYetValid:
            // The chain's own certificates passed checkTimes: what is out of date is the CA in the bundle it reaches.
            return "\(file): the CA in \(against) that the chain leads to is expired or not yet valid (\(error.detail)), "
                + "so clients using it refuse the server: renew that CA"
        case .wrongPurpose:
            return "\(file): the chain is not for serverAuth (\(error.detail)); clients refuse it "
                + "(unsupported_certificate). An intermediate whose extendedKeyUsage lacks serverAuth cannot issue "
                + "server certificates: use a chain made for servers"
        case .weakKey:
            return "\(file): \(error.detail); clients refuse it (unsupported_certificate). Use an Ed25519, ECDSA "
                + "P-256/P-384 or RSA (≥ 2048 bits) key"
        case .badSignature:
            return "\(file): a signature in the chain does not verify (\(error.detail)): the certificates in the file "
                + "are not each issued by the next one, or by a CA in \(against)"
        case .noCertificate, .chainTooLong, .malformed, .nameMismatch, .other, .revoked, .revocationUnknown,
             .untrustedIntermediate, .notEndEntity:
            return "\(file) does not verify against \(against) as clients will verify it: \(error)"
        }
    }

    /// "in 12 days", "in less than a day".
    private static func inDays(_ seconds: Int64) -> String {
        let days = seconds / 86_400
        return days == 0 ? "in less than a day" : days == 1 ? "in 1 day" : "in \(days) days"
    }

    fileprivate static func warning(for certificate: Certificate, in bundle: Bundle, now: Int64,
                                    consequence: String) -> String? {
        guard let notAfter = certificate.notAfter else { return nil }
        let head = "\(bundle.key) (\(bundle.path)): the CA \(certificate.subjectName)"
        if notAfter < now {
            return "\(head) expired on \(SystemClock.utcText(notAfter)): \(consequence) (certificate_expired); "
                + "remove it from the bundle or replace it with its renewal"
        }
        guard notAfter - now < expiryWarningSeconds else { return nil }
        return "\(head) expires on \(SystemClock.utcText(notAfter)), \(inDays(notAfter - now)); from then on "
            + "\(consequence): renew it"
    }
}

extension CertificateReport {
    fileprivate mutating func add(_ certificate: Certificate, role: CertificateExpiry.Role) {
        guard let notAfter = certificate.notAfter else { return }
        let serial = certificate.serialNumber.map { String(format: "%02x", $0) }.joined()
        expiries.append(CertificateExpiry(role: role, subject: certificate.subjectName, serial: serial, notAfter: notAfter))
    }

    fileprivate mutating func addBundle(_ bundle: ServerCertificateCheck.Bundle, role: CertificateExpiry.Role, now: Int64,
                                        consequence: String) {
        for certificate in bundle.certificates {
            add(certificate, role: role)
            if let warning = ServerCertificateCheck.warning(for: certificate, in: bundle, now: now,
                                                            consequence: consequence) {
                warnings.append(warning)
            }
        }
    }
}
