// The human form of a LoadReport: a few labelled lines and one aligned latency table, units in every heading.
import Foundation

enum ReportTable {
    static func render(_ report: LoadReport) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) { lines.append(label.padding(toLength: 16, withPad: " ", startingAt: 0) + value) }
        let config = report.config

        row("server", config.server + (config.spawned ? " (spawned ferryd" + (report.daemon.map { ", pid \($0.pid))" } ?? ")") : ""))
        var load = describe(sessions: config.sessions, files: config.filesPerSession, size: config.sizeBytes,
                            mix: config.mix?.mix)
        if let rate = config.rate {
            load += ", open loop at \(number(rate)) sessions/s"
        } else {
            load += ", closed loop"
        }
        if let duration = config.durationSeconds { load += " for \(number(duration)) s" }
        load += "; group \(config.group ?? "default"), cipher \(config.cipher ?? "default")"
        row("load", load)
        if let mix = config.mix {
            var text = "\(mix.mix.text), seed \(mix.seed)"
            if let files = mix.getFiles { text += "; gets read \(files) files stored before the load" }
            row("mix", text)
        }
        var elapsed = String(format: "%.2f s", report.elapsedSeconds)
        if let idle = report.idleSeconds {
            elapsed += String(format: " (idle sessions up in %.2f s, load phase %.2f s)", idle, report.loadSeconds)
        }
        row("elapsed", elapsed)
        if let reason = report.stoppedBecause { row("stopped", reason) }
        lines.append("")

        let headings = ["", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
        let handshakes = latencyRow("handshakes", report.handshakes, report.handshakesPerSecond, report.handshakeLatency)
        // A mixed run shows a row per operation it does instead of "uploads" (its put row is those figures).
        let active = config.mix?.mix.active ?? []
        let work = config.mix == nil ? [latencyRow("uploads", report.uploads, report.uploadsPerSecond, report.uploadLatency)]
            : operationRows(report, active: active)
        lines += align([headings, handshakes] + work)
        lines.append("")

        if config.mix != nil {
            if active.contains(where: { $0 != .list }) { row("throughput", operationThroughput(report, active: active)) }
        } else if config.filesPerSession > 0 {
            row("throughput", String(format: "%.2f MB in %.2f s = %.2f MB/s (MB = 10^6 bytes)",
                                     Double(report.bytes) / 1e6, report.loadSeconds, report.megabytesPerSecond))
        }
        if let requested = config.rate {
            row("rate", "requested \(number(requested)) sessions/s, achieved \(number(report.achievedRate ?? 0)) sessions/s")
        }
        if config.idleSessions > 0 {
            row("idle sessions", "requested \(config.idleSessions), established \(report.idleEstablished), "
                + "open at end \(report.idleOpenAtEnd)")
        }
        row("errors", "\(report.totalErrors) (" + FailureClass.allCases.map { "\($0.rawValue) \(report.errors($0))" }
            .joined(separator: ", ") + ")")
        if config.mix != nil { row("", "during operations: " + operationErrors(report, active: active)) }
        for example in report.examples { row("", "e.g. " + example) }
        row("rotations", "client→server \(report.rotationsClientToServer), server→client \(report.rotationsServerToClient)")
        let window = config.sessions > 0 ? "load phase" : "opening the idle sessions"
        row("client CPU", String(format: "%.2f s (\(window))", report.clientCPUSeconds))
        if let daemon = report.daemon {
            var rss = "before \(kib(daemon.rssKiBBefore))"
            if let idle = daemon.rssKiBWithIdle { rss += ", with idle sessions \(kib(idle))" }
            rss += ", peak \(kib(daemon.rssKiBPeak)), end \(kib(daemon.rssKiBEnd))"
            row("daemon RSS", rss)
            var cpu = String(format: "%.2f s (\(window))", daemon.cpuSeconds)
            if let perGB = daemon.cpuSecondsPerGB { cpu += String(format: ", %.2f s per GB received", perGB) }
            row("daemon CPU", cpu)
        }
        return lines.joined(separator: "\n")
    }

    /// "64 sessions × 4 files × 16 MiB", "8 sessions, handshake only"; with --mix "4 sessions × 50 operations,
    /// files of 64 KiB" ("4 sessions × 50 operations" when it moves no file).
    static func describe(sessions: Int, files: Int, size: UInt64, mix: OperationMix? = nil) -> String {
        if files == 0 { return "\(sessions) sessions, handshake only" }
        guard let mix else { return "\(sessions) sessions × \(files) files × \(bytes(size))" }
        let text = "\(sessions) sessions × \(files) operations"
        return mix.weight(.put) > 0 || mix.weight(.get) > 0 ? text + ", files of \(bytes(size))" : text
    }

    static func latencyRow(_ label: String, _ count: Int, _ perSecond: Double, _ latency: LatencySummary) -> [String] {
        let values = latency.count == 0 ? Array(repeating: "-", count: 5)
            : [latency.p50, latency.p90, latency.p99, latency.p999, latency.max].map { String(format: "%.2f", $0) }
        return [label, String(count), String(format: "%.1f", perSecond)] + values
    }

    /// Left-aligns the first column, right-aligns the others, two spaces apart.
    static func align(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }

    /// 204800 → "200 KiB", 16777216 → "16 MiB", 1500 → "1500 B" (binary units, as --size is usually written).
    static func bytes(_ count: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, name) in units where count >= size {
            return count % size == 0 ? "\(count / size) \(name)" : String(format: "%.2f \(name)", Double(count) / Double(size))
        }
        return "\(count) B"
    }

    static func kib(_ value: Int) -> String { String(format: "%.1f MiB", Double(value) / 1024) }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
    }
}
