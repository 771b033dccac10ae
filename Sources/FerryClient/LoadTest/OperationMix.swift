// A mixed load (--mix put=70,get=20,list=10): which operations a session does and how each is picked.
//
// Each operation of each session is drawn by weight from a SplitMix64 stream of its own, seeded from --seed, the
// session's slot and its iteration. So what a session does depends on the seed and on its place in the run alone,
// never on which session happened to run first: the same command line does the same operations, and in a closed loop
// without --duration the per-operation counts of two runs are equal.
//
//   put   upload one file of --size (as a pure-put run does), under a name no other operation of the run uses
//   get   read back one of the files stored for the gets before the load (LoadRunner), SHA-256 checked (GetCheck)
//   list  one page of the directory the run writes into (List, §14.3), which exists from before the load on

/// One kind of operation of a mixed run.
enum LoadOperation: String, CaseIterable, Sendable {
    case put, get, list

    /// Whether it needs the `store` feature (PROTOCOL.md §14): everything but an upload.
    var needsStore: Bool { self != .put }
}

/// The weights of --mix, checked: each a whole number 0...`maximumWeight`, at least one above 0.
struct OperationMix: Equatable, Sendable {
    /// Largest weight accepted: a typo bound, and the total of three stays far from overflowing.
    static let maximumWeight: UInt64 = 1_000_000
    static let example = "put=70,get=20,list=10"

    /// In `LoadOperation.allCases` order; an operation the option did not name weighs 0.
    let weights: [UInt64]

    init(_ weights: [LoadOperation: UInt64]) {
        self.weights = LoadOperation.allCases.map { weights[$0] ?? 0 }
    }

    func weight(_ operation: LoadOperation) -> UInt64 {
        LoadOperation.allCases.firstIndex(of: operation).map { weights[$0] } ?? 0
    }

    var total: UInt64 { weights.reduce(0, +) }
    /// The operations with a weight above 0, in put, get, list order.
    var active: [LoadOperation] { LoadOperation.allCases.filter { weight($0) > 0 } }
    var needsStore: Bool { active.contains(where: \.needsStore) }
    /// "put=70,get=20,list=10": every operation, in order.
    var text: String { LoadOperation.allCases.map { "\($0.rawValue)=\(weight($0))" }.joined(separator: ",") }

    /// The operation that `draw` (0..<total) falls on, the weights laid end to end in put, get, list order.
    func operation(at draw: UInt64) -> LoadOperation {
        var rest = draw
        for (operation, weight) in zip(LoadOperation.allCases, weights) {
            if rest < weight { return operation }
            rest -= weight
        }
        // Our own bug: draws come from `below(total)`.
        preconditionFailure("draw \(draw) past the total \(total)")
    }

    /// "put=70,get=20,list=10": comma-separated OPERATION=WEIGHT items, each operation at most once.
    static func parse(_ text: String) throws(LoadTestUsageError) -> OperationMix {
        func fail(_ message: String) -> LoadTestUsageError { LoadTestUsageError("--mix: \(message)") }
        let names = LoadOperation.allCases.map(\.rawValue).joined(separator: ", ")
        var weights: [LoadOperation: UInt64] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw fail("\"\(printable(String(item)))\" is not OPERATION=WEIGHT (e.g. \(example))")
            }
            let name = String(parts[0]).trimmingSpaces, value = String(parts[1]).trimmingSpaces
            guard let operation = LoadOperation(rawValue: name.lowercased()) else {
                throw fail("unknown operation \"\(printable(name))\" (\(names))")
            }
            // Digits only: UInt64("+5") would take a sign, and "1.5" or "-1" must not become a weight.
            guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let weight = UInt64(value),
                  weight <= maximumWeight else {
                throw fail("\(operation.rawValue)=\(printable(value)): a weight is a whole number 0...\(maximumWeight)")
            }
            guard weights[operation] == nil else { throw fail("\(operation.rawValue) is given twice") }
            weights[operation] = weight
        }
        let mix = OperationMix(weights)
        guard mix.total > 0 else { throw fail("every weight is 0; at least one must be above 0") }
        return mix
    }
}

/// One session's picks: its operations in order, and which staged file each get reads.
struct OperationPicker {
    let mix: OperationMix
    private var generator: SplitMix64

    /// A stream of its own for (seed, slot, iteration): the three are mixed through SplitMix64 so neighbouring slots
    /// or seeds give unrelated streams.
    init(mix: OperationMix, seed: UInt64, slot: Int, iteration: Int) {
        self.mix = mix
        var mixer = SplitMix64(seed: seed)
        var state = mixer.next()
        for part in [UInt64(truncatingIfNeeded: slot), UInt64(truncatingIfNeeded: iteration)] {
            mixer = SplitMix64(seed: state ^ part)
            state = mixer.next()
        }
        generator = SplitMix64(seed: state)
    }

    mutating func next() -> LoadOperation { mix.operation(at: generator.below(mix.total)) }

    /// A file index 0..<count (count > 0: --get-files is checked).
    mutating func file(of count: Int) -> Int { Int(generator.below(UInt64(count))) }
}
