// The human report of `ferry upload`: one line per entry, then the totals. Pure: the width (nil when stdout is no
// terminal: the lines are then whole, for a log or grep) and the current directory come in.
//
//   stored photos/2024/img_0001.jpg  4.2 MiB  1.3 s  3.2 MiB/s  sha256 3f2a9c0d1e4b
//   stored /data/big.iso  -> isos/big.iso  4.0 GiB  41.0 s  99.9 MiB/s  sha256 9e1f00c2d3a4  (resumed at 1.2 GiB)
//   already stored notes.txt  1.1 KiB  sha256 0a1b2c3d4e5f
//   FAILED photos/raw: cannot read photos/raw: permission denied
//   skipped photos/empty: empty directory
//   interrupted big.iso  1.2/4.0 GiB: will resume from 1.2 GiB when run again
//   not started small.iso: will be sent when run again
//
// A path is shown relative to the current directory when it is under it, else as given; the stored name only when it
// is not that same text; the digest by its first 12 hex digits (the whole one is in --json). On a terminal, when a
// line does not fit, the least useful parts go first (the retry note, the rate, the time), then the paths are
// shortened in the middle; a reason (a failure, what an interrupted file will do) that does not fit beside its path
// goes on the lines below it, wrapped and indented, rather than be cut.

enum SummaryLines {
    /// Hex digits of the SHA-256 shown; 48 bits tell a run's files apart, and --json has all 64.
    static let digestDigits = 12

    /// The lines for one entry.
    static func lines(_ result: FileResult, width: Int?, currentDirectory: String?) -> [String] {
        let path = TerminalText.printable(displayPath(result.file.localPath, currentDirectory: currentDirectory))
        switch result.status {
        case .stored, .alreadyStored:
            return [FittedLine.fit(storedParts(result, path: path), width: width)]
        case .failed:
            return withReason("FAILED", path, reason: result.error ?? "", width: width)
        case .skipped:
            return withReason("skipped", path, reason: result.skipped ?? "", width: width)
        case .interrupted:
            guard let interruption = result.interruption else { return [] }
            let progress = interruption.started && result.file.size > 0
                ? Figures.bytes(result.bytes, of: result.file.size) : ""
            return withReason(interruption.started ? "interrupted" : "not started", path, progress,
                              reason: interruption.outlook, width: width)
        }
    }

    private static func storedParts(_ result: FileResult, path: String) -> [LinePart] {
        let status = result.status == .alreadyStored ? "already stored" : "stored"
        var parts: [LinePart] = [.path(path, lead: status + " ")]
        if let stored = result.stored.map(TerminalText.printable), stored != path {
            parts.append(.path(stored, 2, lead: "-> "))
        }
        parts.append(.fixed(Figures.bytes(result.file.size), 1))
        if result.status == .stored {
            let moved = result.sentBytes > 0 ? result.sentBytes : result.bytes
            parts.append(.fixed(Figures.duration(result.seconds), 4))
            parts.append(.fixed(Figures.rate(moved, seconds: result.seconds), 5))
        }
        if let digest = result.sha256 { parts.append(.fixed("sha256 " + String(digest.prefix(digestDigits)), 3)) }
        parts.append(.fixed(retryNote(result), 6))
        return parts
    }

    /// "STATUS path[  detail]: reason" when it fits (the status and the path as they always were, for grep); else
    /// "STATUS path[  detail]" fitted, and the reason wrapped
    /// below it, indented.
    private static func withReason(_ status: String, _ path: String, _ detail: String = "", reason: String,
                                   width: Int?) -> [String] {
        let reason = TerminalText.printable(reason)
        let whole = status + " " + path + (detail.isEmpty ? "" : "  " + detail) + (reason.isEmpty ? "" : ": " + reason)
        guard let width, TerminalText.columns(whole) > width else { return [whole] }
        let fitted = FittedLine.fit([.path(path, lead: status + " "), .fixed(detail, 1)], width: width)
        return [fitted] + TerminalText.wrapped(reason, to: width - 2).map { "  " + $0 }
    }

    /// "(resumed at 1.2 GiB, 3 attempts)" when the file took more than one attempt or was resumed; "" otherwise.
    static func retryNote(_ result: FileResult) -> String {
        var parts: [String] = []
        if result.resumedBytes > 0 { parts.append("resumed at \(Figures.bytes(result.resumedBytes))") }
        if result.attempts > 1 { parts.append("\(result.attempts) attempts") }
        return parts.isEmpty ? "" : "(" + parts.joined(separator: ", ") + ")"
    }

    /// `path` relative to `currentDirectory` when it is an absolute path under it; otherwise as given (a relative
    /// path is relative to it already).
    static func displayPath(_ path: String, currentDirectory: String?) -> String {
        guard path.hasPrefix("/"), let directory = currentDirectory, directory.hasPrefix("/") else { return path }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        if path == directory || path + "/" == base { return "." }
        guard path.hasPrefix(base) else { return path }
        let relative = path.dropFirst(base.count).drop { $0 == "/" }
        return relative.isEmpty ? "." : String(relative)
    }

    /// "3 of 4 files, 1.2 GiB in 12.34 s (98.0 MiB/s)", as much of it as fits.
    static func totals(_ results: [FileResult], seconds: Double, width: Int?) -> String {
        let stored = results.filter { $0.ok && $0.skipped == nil }.count
        let files = results.filter { $0.skipped == nil }.count
        let bytes = results.filter(\.ok).reduce(0) { $0 + $1.bytes }
        let count = "\(stored) of \(files) files"
        let amount = ", \(Figures.bytes(bytes)) in " + String(format: "%.2f s", max(seconds, 0))
        let candidates = [count + amount + " (\(Figures.rate(bytes, seconds: seconds)))", count + amount, count]
        guard let width else { return candidates[0] }
        return TerminalText.truncated(candidates.first { TerminalText.columns($0) <= width } ?? count, to: width)
    }

    /// After an interrupted run: what became of the rest, and what to do.
    static func interruptedNote(_ results: [FileResult], width: Int?) -> [String] {
        let interruptions = results.compactMap(\.interruption)
        guard let signal = interruptions.first?.signal else { return [] }
        let started = interruptions.filter(\.started).count
        let waiting = interruptions.count - started
        var counts: [String] = []
        if started > 0 { counts.append("\(started) \(started == 1 ? "file" : "files") interrupted") }
        if waiting > 0 { counts.append("\(waiting) not started") }
        let text = "interrupted by \(Interruption.name(of: signal)): " + counts.joined(separator: ", ")
            + "; run the same command again to complete the set"
        guard let width else { return [text] }
        return TerminalText.wrapped(text, to: width, indent: "  ")
    }
}
