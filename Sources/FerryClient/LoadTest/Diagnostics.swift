// Where the load test talks to people: stderr only (stdout carries the table or the one JSON object), and with --json
// nothing but fatal errors.
import Foundation

struct Diagnostics {
    let quiet: Bool

    /// A progress line on stderr, unless quiet.
    func say(_ line: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A line on stderr whatever the mode: the run cannot go on.
    static func fatal(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Seconds as people write them: "60", "1.5".
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.3g", seconds)
}
