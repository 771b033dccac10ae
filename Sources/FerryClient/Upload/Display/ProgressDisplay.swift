// What `ferry upload` shows while it runs, and where. Each entry is reported once, whatever the redirections:
//
//   terminal (stderr is one): a bar per file in flight and a total line, redrawn in place, every line fitted to the
//       terminal's width (redrawn at the new one on SIGWINCH); erased at the end, leaving no blank line, before the
//       report (SummaryLines) goes to stdout.
//   lines (stderr is no terminal: a log, a pipe): each entry's report line on stdout as it ends ("[3/10] stored …"),
//       then the totals at the end. stdout alone carries them, so 2>&1 into one pipe shows each file once.
//   quiet (--quiet, --json): failures only, on stderr, as they happen.
//
// Notes — a retry and its wait, a file resumed, an interruption — go to stderr unless --quiet (with --json too:
// stdout stays the one JSON object), above the bars on a terminal. A path the plan cannot send is said on stderr at
// once, unless stderr is stdout and the report says it anyway.
//
// Redrawing moves the cursor up over the rows the bars take now. Lines are drawn one column short of the width, so
// none ends in the last column (where terminals differ on when to wrap); after a resize to fewer columns the count
// assumes the terminal reflowed them (VTE, kitty, iTerm2, tmux do), as it must to leave no stale copy behind there.
import Foundation

final class ProgressDisplay {
    enum Mode { case terminal, lines, quiet }

    let mode: Mode
    /// Whether `note` prints (not with --quiet).
    private let notes: Bool
    private let streams: OutputStreams
    private let currentDirectory: String?
    /// Files to send, for the "[3/10]" of the lines mode.
    private let fileCount: Int
    private var finished = 0
    /// The run at this moment (UploadEngine.snapshot), read at each redraw.
    var snapshot: (() -> ProgressSnapshot)?
    /// stderr's terminal, nil when it is none; read again on SIGWINCH.
    private var size: TerminalSize?
    /// The columns of each line drawn and not erased yet.
    private var drawn: [Int] = []

    init(mode: Mode, notes: Bool, streams: OutputStreams, fileCount: Int, currentDirectory: String?) {
        self.mode = mode
        self.notes = notes
        self.streams = streams
        self.fileCount = fileCount
        self.currentDirectory = currentDirectory
        size = OutputStreams.terminalSize(STDERR_FILENO)
    }

    /// `progress`: --progress / --no-progress (false: a line per finished file even on a terminal); nil: the default,
    /// bars when stderr is a terminal. Bars need a terminal to be redrawn in, so --progress cannot force them elsewhere.
    static func mode(quiet: Bool, json: Bool, streams: OutputStreams, progress: Bool? = nil) -> Mode {
        if quiet || json { return .quiet }
        if progress == false { return .lines }
        return streams.stderrIsTerminal ? .terminal : .lines
    }

    // MARK: The bars

    /// Redraws the bars (terminal mode only).
    func redraw() {
        guard mode == .terminal, let snapshot, let size else { return }
        let lines = ProgressLines.lines(snapshot(), width: max(size.columns - 1, 1), rows: size.rows)
        var output = toFirstDrawnLine()
        for line in lines { output += "\u{1B}[2K" + line + "\n" }
        output += "\u{1B}[J"  // what a longer display left below
        drawn = lines.map(TerminalText.columns)
        OutputStreams.writeError(output)
    }

    /// Erases the bars and leaves the cursor where the first one was.
    func clear() {
        guard mode == .terminal, !drawn.isEmpty else { return }
        OutputStreams.writeError(toFirstDrawnLine() + "\u{1B}[J")
        drawn = []
    }

    /// SIGWINCH: the terminal's new size, and the bars drawn again to fit it — over the rows the old ones take at
    /// the new width (`toFirstDrawnLine`).
    func resized() {
        guard mode == .terminal else { return }
        size = OutputStreams.terminalSize(STDERR_FILENO) ?? size
        redraw()
    }

    /// "\r" and up over the rows the drawn lines take at the present width (a line the terminal rewrapped takes more).
    private func toFirstDrawnLine() -> String {
        let columns = max(size?.columns ?? 1, 1)
        let rows = drawn.reduce(0) { $0 + max(1, ($1 + columns - 1) / columns) }
        return rows > 0 ? "\r\u{1B}[\(rows)F" : "\r"
    }

    // MARK: Notes and entries

    /// One line about what happens ("retrying in 2.1 s (attempt 2 of 7): …", "big.iso: resumed at 1.2 GiB"); on a
    /// terminal wrapped to its width, above the bars.
    func note(_ line: String) {
        guard notes else { return }
        clear()
        writeError(["ferry: " + line], indent: "  ")
        redraw()
    }

    /// A file is over (stored, failed, interrupted).
    func fileDone(_ result: FileResult) {
        switch mode {
        case .terminal:
            redraw()
        case .lines:
            finished += 1
            let counter = "[\(finished)/\(fileCount)] "
            let pad = String(repeating: " ", count: counter.count)
            let width = Self.stdoutWidth.map { max($0 - counter.count, 1) }
            let lines = SummaryLines.lines(result, width: width, currentDirectory: currentDirectory)
            OutputStreams.writeOut(lines.enumerated().map { ($0 == 0 ? counter : pad) + $1 + "\n" }.joined())
        case .quiet:
            if !result.ok {
                let lines = SummaryLines.lines(result, width: size?.columns, currentDirectory: currentDirectory)
                OutputStreams.writeError(lines.map { $0 + "\n" }.joined())
            }
        }
    }

    /// The entries the plan failed or skipped (`results` of those alone), before anything is sent.
    func planned(_ results: [FileResult]) {
        for result in results {
            if mode == .lines {
                let lines = SummaryLines.lines(result, width: Self.stdoutWidth, currentDirectory: currentDirectory)
                OutputStreams.writeOut(lines.map { $0 + "\n" }.joined())
            }
            // A failure is always said (even --quiet says failures), a skip is a note; neither when the report on
            // the same stream will say it.
            let reported = mode != .quiet && streams.shared
            if let reason = result.error, !reported {
                writeError(["ferry: " + reason], indent: "  ")
            } else if let reason = result.skipped, notes, !reported {
                writeError(["ferry: skipped \(result.file.localPath): \(reason)"], indent: "  ")
            }
        }
    }

    /// The report at the end, on stdout (terminal and lines modes; --json prints its object instead, --quiet
    /// nothing): on a terminal every entry, the bars erased first; in lines mode the entries are out already.
    func report(_ results: [FileResult], seconds: Double) {
        let width = Self.stdoutWidth
        var lines: [String] = []
        switch mode {
        case .terminal:
            clear()
            for result in results {
                lines += SummaryLines.lines(result, width: width, currentDirectory: currentDirectory)
            }
            lines.append(SummaryLines.totals(results, seconds: seconds, width: width))
            lines += SummaryLines.interruptedNote(results, width: width)
        case .lines:
            lines.append(SummaryLines.totals(results, seconds: seconds, width: width))
            lines += SummaryLines.interruptedNote(results, width: width)
        case .quiet:
            // Only stderr: stdout is the JSON object, or nothing with --quiet; an interruption is worth a line.
            return writeError(SummaryLines.interruptedNote(results, width: nil).map { "ferry: " + $0 }, indent: "  ")
        }
        OutputStreams.writeOut(lines.map { $0 + "\n" }.joined())
    }

    /// The width stdout's lines must keep to: its terminal's, or none when it is a file or a pipe.
    private static var stdoutWidth: Int? { OutputStreams.terminalSize(STDOUT_FILENO)?.columns }

    /// `lines` on stderr, each wrapped to its terminal's width when it is one.
    private func writeError(_ lines: [String], indent: String) {
        var text = ""
        for line in lines.map(TerminalText.printable) {
            let wrapped = size.map { TerminalText.wrapped(line, to: $0.columns, indent: indent) } ?? [line]
            text += wrapped.map { $0 + "\n" }.joined()
        }
        OutputStreams.writeError(text)
    }
}
