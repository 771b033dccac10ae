// stdout and stderr as `ferry upload` finds them: which is a terminal and how large (TIOCGWINSZ), and whether the
// two are one and the same file, pipe or terminal (2>&1, or both left on the terminal), in which case what the report
// on stdout says must not be said on stderr as well. And the one way both are written: write(2), whole, retried on
// EINTR, errors ignored — FileHandle.write traps on EPIPE (`ferry upload … | head -1`), and a report nobody reads is
// no reason to die.
import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct TerminalSize: Equatable {
    let columns: Int
    /// nil when the terminal does not say.
    let rows: Int?
}

struct OutputStreams {
    /// stderr is a terminal: the progress bars go there.
    let stderrIsTerminal: Bool
    let stdoutIsTerminal: Bool
    /// stdout and stderr are the same open file (same device and inode).
    let shared: Bool

    static func current() -> OutputStreams {
        OutputStreams(stderrIsTerminal: isatty(STDERR_FILENO) == 1, stdoutIsTerminal: isatty(STDOUT_FILENO) == 1,
                      shared: sameFile(STDOUT_FILENO, STDERR_FILENO))
    }

    /// The size of the terminal on `descriptor`, nil when it is not one. A terminal that reports 0 columns (a pty
    /// nobody sized, as under `script` without a terminal around it) is taken to be $COLUMNS wide, else 80.
    static func terminalSize(_ descriptor: Int32) -> TerminalSize? {
        guard isatty(descriptor) == 1 else { return nil }
        var size = winsize()
        let asked = ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0
        let columns = asked && size.ws_col > 0 ? Int(size.ws_col) : environmentColumns ?? fallbackColumns
        return TerminalSize(columns: columns, rows: asked && size.ws_row > 0 ? Int(size.ws_row) : nil)
    }

    /// The width when the terminal does not tell.
    static let fallbackColumns = 80

    private static var environmentColumns: Int? {
        guard let text = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(text), value > 0 else { return nil }
        return min(value, 10_000)
    }

    /// Whether two descriptors are the same open file: one terminal, one pipe, one file.
    static func sameFile(_ first: Int32, _ second: Int32) -> Bool {
        var a = stat()
        var b = stat()
        guard fstat(first, &a) == 0, fstat(second, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    static func writeOut(_ text: String) { write(text, to: STDOUT_FILENO) }
    static func writeError(_ text: String) { write(text, to: STDERR_FILENO) }

    /// All of `text` to `descriptor`, or as much as it takes before an error other than EINTR.
    static func write(_ text: String, to descriptor: Int32) { TextOutput.writeAll(text, to: descriptor) }
}
