// `ferry get`'s progress on a terminal: one line on stderr, redrawn five times a second — files done of all, bytes
// here of all (a resumed .part counts from where it was), the rate since the start, the file being got — fitted to
// the terminal's width and erased before any other line is written and at the end, so what stays on the screen is
// the per-file lines and the errors. Not shown when stderr is no terminal, with --quiet or --json.
import Foundation
import Platform

final class GetProgress {
    private let totalFiles: Int
    private let totalBytes: UInt64
    private let startedAt = Date()
    private var shown = false

    init(jobs: [GetJob]) {
        totalFiles = jobs.count
        // Saturating: the sizes are the server's, and a sum past 2^64 must not trap (it only makes the line wrong).
        totalBytes = jobs.reduce(0) { Self.sum($0, $1.size) }
    }

    /// Redraws the line from where the files are now.
    func draw(_ jobs: GetJobs, _ downloaders: [GetDownloader]) {
        let done = jobs.results.count
        var bytes = jobs.results.reduce(UInt64(0)) { Self.sum($0, $1.status == .failed ? 0 : $1.bytes) }
        var current: String?
        for downloader in downloaders {
            if let (name, held) = downloader.inFlight {
                bytes = Self.sum(bytes, held)
                current = current ?? name
            }
        }
        let seconds = max(Date().timeIntervalSince(startedAt), 0.001)
        var line = "[\(done)/\(totalFiles)] \(Figures.bytes(bytes, of: totalBytes))  \(Figures.bytes(UInt64(min(Double(bytes) / seconds, 1e18))))/s"
        if let current { line += "  " + TerminalText.printable(current) }
        let width = (OutputStreams.terminalSize(STDERR_FILENO)?.columns ?? OutputStreams.fallbackColumns) - 1
        TextOutput.writeAll("\r\u{1B}[K" + TerminalText.truncated(line, to: max(width, 10)), to: STDERR_FILENO)
        shown = true
    }

    static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : total
    }

    /// Erases the line (before another is written, and at the end).
    func erase() {
        guard shown else { return }
        TextOutput.writeAll("\r\u{1B}[K", to: STDERR_FILENO)
        shown = false
    }
}
