// One line of parts that must fit a width: the least important parts are left out first, then the paths are
// shortened in the middle. The progress bars and the summary are made of these, so that no line `ferry upload` writes
// to a terminal is ever wider than it (TerminalText measures).

struct LinePart: Equatable {
    var text: String
    /// 0: always kept; the larger the number, the sooner the part is left out when the line is too wide.
    var priority: Int
    /// A path: shortened in the middle (TerminalText.shortenedPath) before it would be left out.
    var isPath = false
    /// Written before the text and never shortened ("-> " before a stored name).
    var lead = ""

    static func fixed(_ text: String, _ priority: Int) -> LinePart { LinePart(text: text, priority: priority) }

    static func path(_ text: String, _ priority: Int = 0, lead: String = "") -> LinePart {
        LinePart(text: text, priority: priority, isPath: true, lead: lead)
    }
}

enum FittedLine {
    /// A line's paths are not shortened below half the width together (at least 12 columns) while a less
    /// important part can still be left out instead: which file a line is about matters more than its figures, and
    /// fewer than ~12 columns of a path rarely say which file it is.
    static func pathFloor(width: Int) -> Int { max(12, width / 2) }

    /// `parts` joined by `separator` into at most `width` columns (nil: no limit, everything as it is). Parts are left
    /// out, largest priority first (the later of equals first), while the line cannot fit even with its paths
    /// shortened to `pathFloor` in all; then the paths share the room left, the shorter ones kept whole when they fit in
    /// their share. Whatever still overflows (parts of priority 0 alone too wide) is cut at the end with "…".
    static func fit(_ parts: [LinePart], width: Int?, separator: String = "  ") -> String {
        let parts = parts.filter { !$0.text.isEmpty }
        guard let width else { return join(parts, separator) }
        var kept = parts
        while minimumColumns(kept, separator, floor: pathFloor(width: width)) > width, let drop = leastImportant(kept) {
            kept.remove(at: drop)
        }
        if TerminalText.columns(join(kept, separator)) > width {
            shortenPaths(&kept, separator: separator, width: width)
        }
        return TerminalText.truncated(join(kept, separator), to: width)
    }

    /// The part to leave out next: the largest priority, the last of equals; nil when only priority 0 is left.
    private static func leastImportant(_ parts: [LinePart]) -> Int? {
        var found: Int?
        for index in parts.indices where parts[index].priority > 0 {
            if let current = found, parts[current].priority > parts[index].priority { continue }
            found = index
        }
        return found
    }

    private static func join(_ parts: [LinePart], _ separator: String) -> String {
        parts.map { $0.lead + $0.text }.joined(separator: separator)
    }

    /// The line's width with its paths shortened to `floor` columns together (or whole when shorter).
    private static func minimumColumns(_ parts: [LinePart], _ separator: String, floor: Int) -> Int {
        let separators = TerminalText.columns(separator) * max(parts.count - 1, 0)
        var fixed = separators
        var paths = 0
        for part in parts {
            fixed += TerminalText.columns(part.lead)
            if part.isPath { paths += TerminalText.columns(part.text) } else { fixed += TerminalText.columns(part.text) }
        }
        return fixed + min(paths, floor)
    }

    /// Shares the room the other parts leave among the paths: each in turn, shortest first, gets an equal share of
    /// what is left, or its whole width when that is less.
    private static func shortenPaths(_ parts: inout [LinePart], separator: String, width: Int) {
        let paths = parts.indices.filter { parts[$0].isPath }
        guard !paths.isEmpty else { return }
        let others = parts.indices.filter { !parts[$0].isPath }.reduce(0) { $0 + TerminalText.columns(parts[$1].text) }
        let leads = paths.reduce(0) { $0 + TerminalText.columns(parts[$1].lead) }
        var room = width - others - leads - TerminalText.columns(separator) * (parts.count - 1)
        var remaining = paths.count
        for index in paths.sorted(by: { TerminalText.columns(parts[$0].text) < TerminalText.columns(parts[$1].text) }) {
            let share = max(room / remaining, 1)
            parts[index].text = TerminalText.shortenedPath(parts[index].text, to: share)
            room -= TerminalText.columns(parts[index].text)
            remaining -= 1
        }
    }
}
