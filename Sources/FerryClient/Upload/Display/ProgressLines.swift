// The lines of the progress display on a terminal, from a snapshot of the run: one per file in flight, then the
// total. Pure, so that what a terminal of any width gets is tested without one. Every line fits `width` columns, and
// there are never more lines than the terminal has rows to redraw them in (ProgressDisplay moves the cursor up over
// them: a line scrolled off the top could not be reached, and would stay behind as a stale copy).
//
//   [#########-----------]  42%  1.2/4.0 GiB  photos/…/img_0001.jpg
//   [####################]  committing  512.0/512.0 MiB  big.iso
//   [######--------------]  31%  1.7/5.4 GiB  48.2 MiB/s  ETA 1:17  files 3/10

struct ProgressSnapshot: Equatable {
    struct Row: Equatable {
        let path: String
        let size: UInt64
        let state: FileState
    }

    /// The files in flight, in command-line order.
    var rows: [Row]
    /// Bytes of the files that are over (stored, failed, interrupted).
    var finishedBytes: UInt64
    var totalBytes: UInt64
    var filesFinished: Int
    var filesFailed: Int
    var fileCount: Int
    var elapsedSeconds: Double

    /// Bytes moved so far: the files over and what the files in flight have written.
    var movedBytes: UInt64 { rows.reduce(finishedBytes) { $0 + $1.state.bytes(size: $1.size) } }
}

enum ProgressLines {
    /// At most this many file lines, however tall the terminal: the rest are counted on the total line.
    static let maximumFileLines = 16

    /// The lines for `snapshot` on a terminal of `width` columns (each at most that wide) and `rows` rows (nil:
    /// unknown; the file lines then stop at `maximumFileLines`).
    static func lines(_ snapshot: ProgressSnapshot, width: Int, rows: Int?) -> [String] {
        // One row is kept free for the cursor below the last line, one is the total's.
        let room = rows.map { max($0 - 2, 0) } ?? maximumFileLines
        let shown = snapshot.rows.prefix(min(room, maximumFileLines))
        return shown.map { fileLine($0, width: width) }
            + [totalLine(snapshot, hidden: snapshot.rows.count - shown.count, width: width)]
    }

    static func fileLine(_ row: ProgressSnapshot.Row, width: Int) -> String {
        let fraction = row.state.fraction(size: row.size)
        return FittedLine.fit([
            .fixed(bar(fraction, columns: barColumns(width)), 3),
            .fixed(row.state.label ?? percent(fraction), 0),
            .fixed(Figures.bytes(row.state.bytes(size: row.size), of: row.size), 2),
            .path(TerminalText.printable(row.path)),
        ], width: width)
    }

    static func totalLine(_ snapshot: ProgressSnapshot, hidden: Int, width: Int) -> String {
        let moved = snapshot.movedBytes
        let allDone = snapshot.filesFinished == snapshot.fileCount
        // 100 % only when every file is over and all their bytes are with the server (not after an interruption).
        let fraction = snapshot.totalBytes == 0 ? (allDone ? 1 : 0)
            : min(Double(moved) / Double(snapshot.totalBytes), allDone ? 1 : FileState.nearlyDone)
        let seconds = max(snapshot.elapsedSeconds, 0.001)
        let perSecond = Double(moved) / seconds
        let eta = perSecond > 0 && snapshot.totalBytes > moved
            ? Figures.clock(Double(snapshot.totalBytes - moved) / perSecond) : "--"
        var files = "files \(snapshot.filesFinished)/\(snapshot.fileCount)"
        if snapshot.filesFailed > 0 { files += ", \(snapshot.filesFailed) failed" }
        return FittedLine.fit([
            .fixed(bar(fraction, columns: barColumns(width)), 5),
            .fixed(percent(fraction), 0),
            .fixed(Figures.bytes(moved, of: snapshot.totalBytes), 2),
            .fixed(Figures.rate(moved, seconds: seconds), 3),
            .fixed("ETA " + eta, 4),
            .fixed(files, 1),
            .fixed(hidden > 0 ? "(+\(hidden) in flight)" : "", 1),
        ], width: width)
    }

    /// "[#####-----]": `columns` wide in all.
    static func bar(_ fraction: Double, columns: Int) -> String {
        let inside = max(columns - 2, 0)
        let filled = Int((min(max(fraction, 0), 1) * Double(inside)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: inside - filled) + "]"
    }

    /// "  7%", " 42%", "100%".
    static func percent(_ fraction: Double) -> String {
        let value = Int((min(max(fraction, 0), 1) * 100).rounded(.down))
        return String(repeating: " ", count: max(0, 3 - String(value).count)) + "\(value)%"
    }

    /// A wider terminal gets a longer bar; a narrow one leaves it out first (its priority) anyway.
    private static func barColumns(_ width: Int) -> Int {
        width >= 120 ? 32 : width >= 80 ? 22 : 12
    }
}
