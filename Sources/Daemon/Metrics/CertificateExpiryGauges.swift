// ferry_certificate_expiry_timestamp_seconds{role, subject, serial}: each configured certificate's notAfter as Unix
// seconds, so that an alert such as `ferry_certificate_expiry_timestamp_seconds - time() < 14 * 86400` fires before
// clients see certificate_expired, for the server's certificate and for every CA ferryd trusts.
//
//   role     server (the leaf of identity.certificate), server_chain (its intermediates), client_ca (each certificate
//            of identity.client_ca), server_ca (each of identity.server_ca, when set)
//   subject  the certificate's subject, RFC 2253 ("CN=files.example.com")
//   serial   hex: a CA and its renewal usually share a subject, and both sit in a bundle during a rollover
//
// Departure from DaemonMetrics' rule that label values come from closed sets: subject and serial are free text, but
// from the operator's own files, never from a client, and a handful of series (the certificates configured), so
// neither privacy nor cardinality is at stake. The series are replaced on every reload that changes the files, and
// stale ones removed: a renewed certificate does not leave its predecessor's expiry behind to fire alerts.
import Prometheus
import Synchronization

final class CertificateExpiryGauges: Sendable {
    static let name = "ferry_certificate_expiry_timestamp_seconds"
    static let help = "notAfter of each configured certificate, Unix seconds: role = server, server_chain, client_ca or server_ca."

    private struct Key: Hashable {
        let role: String
        let subject: String
        let serial: String
    }

    private let registry: PrometheusCollectorRegistry
    /// The series published now. A Mutex although only the main loop publishes: Sendable without @unchecked.
    private let current = Mutex<[Key: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Makes the series match `expiries` exactly: new ones created, gone ones removed, every value set.
    func publish(_ expiries: [CertificateExpiry]) {
        // The same certificate twice in a bundle (or two with the same subject and serial) is one series, at the
        // earlier expiry.
        var wanted: [Key: Int64] = [:]
        for expiry in expiries {
            let key = Key(role: expiry.role.rawValue, subject: expiry.subject, serial: expiry.serial)
            wanted[key] = min(wanted[key] ?? .max, expiry.notAfter)
        }
        current.withLock { current in
            for (key, gauge) in current where wanted[key] == nil {
                registry.unregisterGauge(gauge)
                current[key] = nil
            }
            for (key, notAfter) in wanted {
                let gauge = current[key] ?? registry.makeGauge(
                    descriptor: MetricNameDescriptor(metricName: Self.name, unitName: "", helpText: Self.help),
                    labels: [("role", key.role), ("subject", key.subject), ("serial", key.serial)])
                gauge.set(notAfter)
                current[key] = gauge
            }
        }
    }
}
