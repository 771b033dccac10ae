// The open-loop timetable: session i is due at t0 + i/R, for every i with i/R < T. Starts never bunch up to "catch
// up" and never wait for replies: a session that has to wait for a free slot (at most N in flight) keeps its due time,
// and its latencies count from there (no coordinated omission: Gil Tene, "How NOT to Measure Latency").

struct OpenLoopSchedule: Equatable, Sendable {
    let rate: Double
    let duration: Double

    /// How many sessions fall in the window: the i ≥ 0 with i/R < T.
    var count: Int {
        var count = Int((rate * duration).rounded(.up))
        while count > 0, Double(count - 1) / rate >= duration { count -= 1 }
        while Double(count) / rate < duration { count += 1 }
        return count
    }

    /// Session i's due time after t0, in nanoseconds.
    func offset(of index: Int) -> UInt64 {
        UInt64((Double(index) / rate * 1e9).rounded())
    }

    /// How many sessions are due `elapsed` nanoseconds after t0 (never more than `count`).
    func dueCount(after elapsed: UInt64) -> Int {
        let estimate = Int((Double(elapsed) / 1e9 * rate).rounded(.down)) + 1
        var due = min(max(estimate, 0), count)
        while due > 0, offset(of: due - 1) > elapsed { due -= 1 }
        while due < count, offset(of: due) <= elapsed { due += 1 }
        return due
    }
}
