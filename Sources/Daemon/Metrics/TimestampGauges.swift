// A family of gauges holding Unix timestamps, one series per label set, replaced as a whole: publish() makes the
// published series exactly the given ones (new created, gone removed, every value set), so that a renewed certificate
// or CRL does not leave its predecessor's date behind to fire alerts. Used for certificate expiry and CRL nextUpdate.
import Prometheus
import Synchronization

final class TimestampGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let name: String
    private let help: String
    private let labelNames: [String]
    /// The series published now, by label values. A Mutex although only the main loop publishes: Sendable without
    /// @unchecked.
    private let current = Mutex<[[String]: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry, name: String, help: String, labelNames: [String]) {
        self.registry = registry
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    /// `series`: label values (in labelNames' order) and a timestamp. The same label values twice are one series, at
    /// the earlier timestamp (the same certificate twice in a bundle).
    func publish(_ series: [(labels: [String], timestamp: Int64)]) {
        var wanted: [[String]: Int64] = [:]
        for (labels, timestamp) in series where labels.count == labelNames.count {
            wanted[labels] = min(wanted[labels] ?? .max, timestamp)
        }
        current.withLock { current in
            for (labels, gauge) in current where wanted[labels] == nil {
                registry.unregisterGauge(gauge)
                current[labels] = nil
            }
            for (labels, timestamp) in wanted {
                let gauge = current[labels] ?? registry.makeGauge(
                    descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help),
                    labels: Array(zip(labelNames, labels)))
                gauge.set(timestamp)
                current[labels] = gauge
            }
        }
    }
}
