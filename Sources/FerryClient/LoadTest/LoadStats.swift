// Everything the sessions report, counted on the loop thread: handshake and operation latencies (HdrHistogram),
// counts, bytes, failures by class (overall, and per operation for what failed during one) with the first few
// messages, rotations. A pure-put run's uploads are the put operation's figures.
import Histogram

final class LoadStats {
    /// How many distinct failure messages the report keeps.
    static let maximumExamples = 5

    /// One operation's figures.
    struct Operation {
        var completed = 0
        /// Bytes of the files put or got (0 for list).
        var bytes: UInt64 = 0
        var latency = LatencySummary.makeHistogram()
        /// Failures during an operation of this kind, by class.
        var errors: [FailureClass: Int] = [:]
    }

    private(set) var handshakeLatency = LatencySummary.makeHistogram()
    private(set) var handshakes = 0
    private(set) var operations: [LoadOperation: Operation] = [:]
    /// Sessions that did all their work (the open-loop achieved rate counts these).
    private(set) var sessionsCompleted = 0
    private(set) var errors: [FailureClass: Int] = [:]
    private(set) var examples: [String] = []
    private(set) var rotationsSent = 0
    private(set) var rotationsReceived = 0

    func operation(_ kind: LoadOperation) -> Operation { operations[kind] ?? Operation() }
    var uploads: Int { operation(.put).completed }
    var bytes: UInt64 { operation(.put).bytes }
    var uploadLatency: Histogram<UInt64> { operation(.put).latency }
    var operationsCompleted: Int { operations.values.reduce(0) { $0 + $1.completed } }

    func handshakeCompleted(nanoseconds: UInt64) {
        handshakes += 1
        LatencySummary.record(nanoseconds, in: &handshakeLatency)
    }

    func completed(_ kind: LoadOperation, nanoseconds: UInt64, bytes: UInt64) {
        operations[kind, default: Operation()].completed += 1
        operations[kind, default: Operation()].bytes += bytes
        LatencySummary.record(nanoseconds, in: &operations[kind, default: Operation()].latency)
    }

    func sessionCompleted() { sessionsCompleted += 1 }

    func failed(_ failure: LoadFailure, count: Int = 1) {
        guard count > 0 else { return }
        errors[failure.kind, default: 0] += count
        if let kind = failure.operation { operations[kind, default: Operation()].errors[failure.kind, default: 0] += count }
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
