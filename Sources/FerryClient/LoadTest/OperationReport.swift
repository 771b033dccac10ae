// A mixed run's figures for each operation (--mix): what LoadReport adds to the JSON under "operations" and
// ReportTable to the table. A pure-put run has none of them, so its output stays what it always is; a mixed run keeps
// "uploads" too (the put figures, under the keys scripts read).
//
//   "operations": {"put":  {"completed", "per_second", "bytes", "mb_per_second", "latency_ms": {…}, "errors": {…}},
//                  "get":  {the same},
//                  "list": {"completed", "per_second", "latency_ms": {…}, "errors": {…}}}
//
// Every operation is listed, one weighing 0 with zeros. "errors" has the classes of the top-level errors and a total,
// counting failures during an operation of that kind; the top-level errors count those and what fails a session
// outside any operation (connect, handshake, work never started), so the per-operation totals may add up to less.
// per_second and mb_per_second (10^6 bytes) are over the load phase, as for uploads.

/// One operation's figures.
struct OperationFigures: Equatable {
    var operation: LoadOperation
    var completed: Int
    /// Of the files put or got; 0 for list.
    var bytes: UInt64
    var latency: LatencySummary
    var errors: [FailureClass: Int]

    var totalErrors: Int { errors.values.reduce(0, +) }
    /// put and get move files; list moves none and shows no throughput.
    var movesBytes: Bool { operation != .list }

    init(operation: LoadOperation, completed: Int, bytes: UInt64, latency: LatencySummary, errors: [FailureClass: Int]) {
        self.operation = operation
        self.completed = completed
        self.bytes = bytes
        self.latency = latency
        self.errors = errors
    }

    init(_ operation: LoadOperation, _ stats: LoadStats.Operation) {
        self.init(operation: operation, completed: stats.completed, bytes: stats.bytes, latency: LatencySummary(stats.latency),
                  errors: stats.errors)
    }

    func jsonValue(loadSeconds: Double) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("completed", .int(completed)),
            ("per_second", .number(LoadReport.perSecond(Double(completed), loadSeconds))),
        ]
        if movesBytes {
            members.append(("bytes", .int(bytes)))
            members.append(("mb_per_second", .number(LoadReport.perSecond(Double(bytes) / 1e6, loadSeconds))))
        }
        members.append(("latency_ms", latency.jsonValue))
        members.append(("errors", .object(FailureClass.allCases.map { ($0.rawValue, .int(errors[$0] ?? 0)) }
            + [("total", .int(totalErrors))])))
        return .object(members)
    }
}

extension LatencySummary {
    /// {"p50", "p90", "p99", "p999", "max"} in milliseconds.
    var jsonValue: JSONValue {
        .object([("p50", .number(p50)), ("p90", .number(p90)), ("p99", .number(p99)), ("p999", .number(p999)),
                 ("max", .number(max))])
    }
}

extension ReportTable {
    /// The latency table's row for each operation the mix gives a weight above 0.
    static func operationRows(_ report: LoadReport, active: [LoadOperation]) -> [[String]] {
        (report.operations ?? []).filter { active.contains($0.operation) }.map {
            latencyRow($0.operation.rawValue, $0.completed, LoadReport.perSecond(Double($0.completed), report.loadSeconds),
                       $0.latency)
        }
    }

    /// "put 8.19 MB = 4.10 MB/s, get 4.10 MB = 2.05 MB/s in 2.00 s (MB = 10^6 bytes)".
    static func operationThroughput(_ report: LoadReport, active: [LoadOperation]) -> String {
        let parts = (report.operations ?? []).filter { $0.movesBytes && active.contains($0.operation) }.map {
            String(format: "\($0.operation.rawValue) %.2f MB = %.2f MB/s", Double($0.bytes) / 1e6,
                   LoadReport.perSecond(Double($0.bytes) / 1e6, report.loadSeconds))
        }
        return parts.joined(separator: ", ") + String(format: " in %.2f s (MB = 10^6 bytes)", report.loadSeconds)
    }

    /// "put 0, get 1 (integrity 1), list 0".
    static func operationErrors(_ report: LoadReport, active: [LoadOperation]) -> String {
        (report.operations ?? []).filter { active.contains($0.operation) }.map { figures in
            let classes = FailureClass.allCases.compactMap { kind in
                (figures.errors[kind] ?? 0) > 0 ? "\(kind.rawValue) \(figures.errors[kind] ?? 0)" : nil
            }
            return "\(figures.operation.rawValue) \(figures.totalErrors)"
                + (classes.isEmpty ? "" : " (" + classes.joined(separator: ", ") + ")")
        }.joined(separator: ", ")
    }
}
