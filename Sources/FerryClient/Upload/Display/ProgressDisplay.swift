// What `ferry upload` shows while it runs. On a terminal (stderr): one bar per file in flight and a total line with
// rate and ETA, redrawn in place. Otherwise: one plain line per finished file. `--quiet` shows only failures.
// Notes — a retry and its wait, a file resumed — go to stderr unless `--quiet` (with `--json` too: stdout stays the one
// JSON object), above the bars on a terminal.
import EventLoop
import Foundation

final class ProgressDisplay {
    enum Mode { case terminal, lines, quiet }

    private let mode: Mode
    /// Whether `note` prints (not with --quiet).
    private let notes: Bool
    private let engine: UploadEngine
    private var drawnLines = 0
    private var finished = 0
    private let totalBytes: UInt64

    init(mode: Mode, notes: Bool, engine: UploadEngine) {
        self.mode = mode
        self.notes = notes
        self.engine = engine
        totalBytes = engine.files.reduce(0) { $0 + $1.size }
    }

    static func defaultMode(quiet: Bool, json: Bool) -> Mode {
        if quiet { return .quiet }
        return isatty(STDERR_FILENO) == 1 ? .terminal : .lines
    }

    /// Redraws the bars (terminal mode only).
    func redraw() {
        guard mode == .terminal else { return }
        var lines: [String] = []
        let width = 30
        for (index, sent) in engine.inProgress.sorted(by: { $0.key < $1.key }).prefix(16) {
            let file = engine.files[index]
            let fraction = file.size == 0 ? 1 : Double(sent) / Double(file.size)
            lines.append("\(bar(fraction, width: width)) \(percent(fraction)) \(Self.bytes(sent))/\(Self.bytes(file.size))  \(file.remotePath)")
        }
        let done = engine.results.filter { $0.stored != nil || $0.error != nil }
        let sentTotal = done.reduce(0) { $0 + $1.bytes } + engine.inProgress.values.reduce(0, +)
        let elapsed = max(Double(EventLoop.hrtimeNanoseconds - engine.startedAt) / 1e9, 0.001)
        let rate = Double(sentTotal) / elapsed
        let eta = rate > 0 && totalBytes > sentTotal ? Self.duration(Double(totalBytes - sentTotal) / rate) : "--"
        let fraction = totalBytes == 0 ? 1 : Double(sentTotal) / Double(totalBytes)
        lines.append("\(bar(fraction, width: width)) \(percent(fraction)) total \(Self.bytes(sentTotal))/\(Self.bytes(totalBytes))  "
            + "\(Self.bytes(UInt64(rate)))/s  ETA \(eta)  files \(done.count)/\(engine.files.count)")
        var output = drawnLines > 0 ? "\u{1B}[\(drawnLines)F" : ""
        for line in lines { output += "\u{1B}[2K" + line + "\n" }
        if lines.count < drawnLines { output += String(repeating: "\u{1B}[2K\n", count: drawnLines - lines.count) }
        drawnLines = max(lines.count, drawnLines)
        FileHandle.standardError.write(Data(output.utf8))
    }

    /// One line about what happens ("retrying in 2.1 s (attempt 2 of 7): …", "big.iso: resumed at 1.2 GiB"). On a
    /// terminal the bars are cleared first and drawn again below it.
    func note(_ line: String) {
        guard notes else { return }
        var output = ""
        if mode == .terminal, drawnLines > 0 {
            output += "\u{1B}[\(drawnLines)F"
            output += String(repeating: "\u{1B}[2K\n", count: drawnLines) + "\u{1B}[\(drawnLines)F"
            drawnLines = 0
        }
        FileHandle.standardError.write(Data((output + "ferry: " + line + "\n").utf8))
        redraw()
    }

    func fileDone(_ result: FileResult) {
        switch mode {
        case .terminal:
            redraw()
        case .lines:
            finished += 1
            let line = result.ok ? "[\(finished)/\(engine.files.count)] stored \(result.stored ?? "") (\(Self.bytes(result.bytes)))"
                : "[\(finished)/\(engine.files.count)] " + Self.summary(result)
            FileHandle.standardError.write(Data((line + "\n").utf8))
        case .quiet:
            if !result.ok { FileHandle.standardError.write(Data((Self.summary(result) + "\n").utf8)) }
        }
    }

    static func summary(_ result: FileResult) -> String {
        if let error = result.error { return "FAILED \(result.file.localPath): \(error)" }
        if result.alreadyStored {
            return "already stored \(result.file.localPath) -> \(result.stored ?? "?")  \(bytes(result.file.size))  sha256 \(result.sha256 ?? "")"
        }
        let rate = result.seconds > 0 ? Double(result.bytes) / result.seconds : 0
        return "ok \(result.file.localPath) -> \(result.stored ?? "?")  \(bytes(result.bytes))  \(bytes(UInt64(rate)))/s  sha256 \(result.sha256 ?? "")"
            + retrySummary(result)
    }

    /// "  (resumed at 1.2 GiB, 3 attempts)" when the file took more than one attempt or was resumed; "" otherwise.
    static func retrySummary(_ result: FileResult) -> String {
        var parts: [String] = []
        if result.resumedBytes > 0 { parts.append("resumed at \(bytes(result.resumedBytes))") }
        if result.attempts > 1 { parts.append("\(result.attempts) attempts") }
        return parts.isEmpty ? "" : "  (" + parts.joined(separator: ", ") + ")"
    }

    private func bar(_ fraction: Double, width: Int) -> String {
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    private func percent(_ fraction: Double) -> String { String(format: "%3d%%", Int(min(max(fraction, 0), 1) * 100)) }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}
