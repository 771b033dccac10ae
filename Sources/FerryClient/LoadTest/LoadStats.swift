// Everything the sessions report, counted on the loop thread: handshake and upload latencies (HdrHistogram), counts,
// bytes, failures by class with the first few messages, rotations.
import Histogram

final class LoadStats {
    /// How many distinct failure messages the report keeps.
    static let maximumExamples = 5

    private(set) var handshakeLatency = LatencySummary.makeHistogram()
    private(set) var uploadLatency = LatencySummary.makeHistogram()
    private(set) var handshakes = 0
    private(set) var uploads = 0
    private(set) var bytes: UInt64 = 0
    /// Sessions that did all their work (the open-loop achieved rate counts these).
    private(set) var sessionsCompleted = 0
    private(set) var errors: [FailureClass: Int] = [:]
    private(set) var examples: [String] = []
    private(set) var rotationsSent = 0
    private(set) var rotationsReceived = 0

    func handshakeCompleted(nanoseconds: UInt64) {
        handshakes += 1
        LatencySummary.record(nanoseconds, in: &handshakeLatency)
    }

    func uploadCommitted(nanoseconds: UInt64, bytes: UInt64) {
        uploads += 1
        self.bytes += bytes
        LatencySummary.record(nanoseconds, in: &uploadLatency)
    }

    func sessionCompleted() { sessionsCompleted += 1 }

    func failed(_ failure: LoadFailure, count: Int = 1) {
        guard count > 0 else { return }
        errors[failure.kind, default: 0] += count
        let example = "\(failure.kind.rawValue): \(failure.message)"
        if examples.count < Self.maximumExamples, !examples.contains(example) { examples.append(example) }
    }

    func rotations(sent: Int, received: Int) {
        rotationsSent += sent
        rotationsReceived += received
    }

    func errorCount(_ kind: FailureClass) -> Int { errors[kind] ?? 0 }
    var totalErrors: Int { errors.values.reduce(0, +) }
}
