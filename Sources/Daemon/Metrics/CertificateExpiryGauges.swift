// The dates an operator must act before, as metrics, published at start and after every reload:
//
// ferry_certificate_expiry_timestamp_seconds{role, subject, serial}: each configured certificate's notAfter as Unix
// seconds, so that an alert such as `ferry_certificate_expiry_timestamp_seconds - time() < 14 * 86400` fires before
// clients see certificate_expired, for the server's certificate and for every CA ferryd trusts.
//
//   role     server (the leaf of identity.certificate), server_chain (its intermediates), client_ca (each certificate
//            of identity.client_ca), server_ca (each of identity.server_ca, when set)
//   subject  the certificate's subject, RFC 2253 ("CN=files.example.com")
//   serial   hex: a CA and its renewal usually share a subject, and both sit in a bundle during a rollover
//
// ferry_crl_next_update_timestamp_seconds{issuer, number}: each CRL's nextUpdate (identity.crl), so that
// `ferry_crl_next_update_timestamp_seconds < time()` alerts on a CRL that is due for renewal (what happens to its
// clients then is identity.crl_stale's policy). A CRL without nextUpdate has no series.
//
//   issuer   the CRL's issuer, RFC 2253
//   number   its cRLNumber in decimal ("" when it has none): two CRLs of one issuer may both be configured
//
// Departure from DaemonMetrics' rule that label values come from closed sets: subjects, serials and issuers are free
// text, but from the operator's own files, never from a client, and a handful of series (what is configured), so
// neither privacy nor cardinality is at stake.
import Prometheus

final class CertificateExpiryGauges: Sendable {
    static let name = "ferry_certificate_expiry_timestamp_seconds"
    static let help = "notAfter of each configured certificate, Unix seconds: role = server, server_chain, client_ca or server_ca."
    static let crlName = "ferry_crl_next_update_timestamp_seconds"
    static let crlHelp = "nextUpdate of each CRL in identity.crl, Unix seconds."

    private let certificates: TimestampGauges
    private let revocationLists: TimestampGauges

    init(registry: PrometheusCollectorRegistry) {
        certificates = TimestampGauges(registry: registry, name: Self.name, help: Self.help,
                                       labelNames: ["role", "subject", "serial"])
        revocationLists = TimestampGauges(registry: registry, name: Self.crlName, help: Self.crlHelp,
                                          labelNames: ["issuer", "number"])
    }

    func publish(_ report: CertificateReport) {
        certificates.publish(report.expiries.map { ([$0.role.rawValue, $0.subject, $0.serial], $0.notAfter) })
        revocationLists.publish(report.revocationLists.compactMap { list in
            list.nextUpdate.map { ([list.issuer, list.number.map(String.init) ?? ""], $0) }
        })
    }
}
