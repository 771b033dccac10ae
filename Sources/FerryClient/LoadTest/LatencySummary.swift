// Percentiles of one latency distribution, in milliseconds, read from an HdrHistogram of microseconds.
//
// Values are recorded in microseconds with 3 significant digits (HdrHistogram's quantisation: at most 0.1 % off)
// from 1 µs up to one hour; longer values are clamped to the top (a run is bounded by --max-seconds anyway).
// `max` is the largest value recorded, exactly; the percentiles are HdrHistogram's "highest equivalent value".
import Histogram

struct LatencySummary: Equatable, Sendable {
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
    var count: UInt64

    static let empty = LatencySummary(p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0)

    /// The highest value tracked: one hour in microseconds.
    static let highestTrackableMicroseconds: UInt64 = 3_600_000_000

    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableMicroseconds,
                          numberOfSignificantValueDigits: .three)
    }

    /// Records `nanoseconds` as microseconds (at least 1, at most the top of the range).
    static func record(_ nanoseconds: UInt64, in histogram: inout Histogram<UInt64>) {
        let micros = Swift.min(Swift.max(nanoseconds / 1_000, 1), highestTrackableMicroseconds)
        histogram.record(micros)
    }

    init(p50: Double, p90: Double, p99: Double, p999: Double, max: Double, count: UInt64) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.count = count
    }

    /// Zero everywhere for an empty histogram.
    init(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self = .empty
            return
        }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1_000 }
        self.init(p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
                  p99: ms(histogram.valueAtPercentile(99)), p999: ms(histogram.valueAtPercentile(99.9)),
                  max: ms(histogram.maxRecorded), count: histogram.totalCount)
    }
}
