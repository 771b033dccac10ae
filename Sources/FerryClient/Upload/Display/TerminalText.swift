// Text measured in terminal columns, not bytes or characters: what `ferry upload` needs to never write a line wider
// than the terminal (a wrapped line breaks the cursor arithmetic of the redrawn bars and leaves stale copies behind).
//
// The width rule is the simple one of Markus Kuhn's wcwidth: a character is as wide as its widest scalar; East Asian
// Wide and Fullwidth scalars (and the emoji blocks terminals draw double) take 2 columns; combining marks, enclosing
// marks and format characters (ZWJ, variation selectors' Cf/Mn) take 0; everything else 1. Terminals differ on a few
// emoji sequences; for names that is close enough, and the last column is never relied on (ProgressDisplay draws one
// column short).
//
// Names come from the file system and the server: a control character in one (an escape sequence in a file name)
// would drive the terminal. `printable` replaces them with "?" as ls -q does; every text here is printable first.

enum TerminalText {
    /// The mark of a shortened text. One column wide.
    static let ellipsis: Character = "…"

    /// `text` with every control character (C0, DEL, C1) replaced by "?".
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isControl(scalar) ? "?" : scalar) }
        return String(scalars)
    }

    /// Columns `text` takes on a terminal (after `printable`).
    static func columns(_ text: String) -> Int {
        text.reduce(0) { $0 + columns($1) }
    }

    static func columns(_ character: Character) -> Int {
        character.unicodeScalars.reduce(0) { max($0, columns($1)) }
    }

    static func columns(_ scalar: Unicode.Scalar) -> Int {
        if isControl(scalar) { return 1 }  // shown as "?" by `printable`
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        return isWide(scalar.value) ? 2 : 1
    }

    /// The first characters of `text` that fit in `width` columns, ending with "…" when anything was cut.
    static func truncated(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard columns(text) > width else { return text }
        return prefix(text, columns: width - 1) + String(ellipsis)
    }

    /// `text` shortened in the middle to `width` columns: a path keeps its first directory and as much of its end
    /// (the file name) as fits, "photos/…/2024/img_0001.jpg"; then the name alone, "…/img_0001.jpg"; a name too
    /// long for that keeps its start and its end (the extension), "…/img_00…0001.jpg" — the name is what tells files
    /// apart. Unchanged when it fits.
    static func shortenedPath(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard columns(text) > width else { return text }
        let components = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 2, let first = components.first, let last = components.last {
            // "first/…/" then as many trailing components as fit, the last one always.
            let head = first + "/" + String(ellipsis)
            var tail = "/" + last
            if columns(head) + columns(tail) <= width {
                for component in components.dropFirst().dropLast().reversed() {
                    let longer = "/" + component + tail
                    guard columns(head) + columns(longer) <= width else { break }
                    tail = longer
                }
                return head + tail
            }
        }
        if components.count > 1, let last = components.last, width - 2 >= minimumNameColumns {
            // "…/name.iso", the name itself shortened if need be: the directories go before the name does.
            return String(ellipsis) + "/" + shortenedMiddle(last, to: width - 2)
        }
        return shortenedMiddle(text, to: width)
    }

    /// Below this many columns for the name, a path is shortened as plain text instead of as "…/name".
    static let minimumNameColumns = 6

    /// `text` with its middle replaced by "…" to fit `width` columns; the end, which tells names apart, gets the
    /// larger half.
    static func shortenedMiddle(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard columns(text) > width else { return text }
        let room = width - 1
        let tailColumns = room - room / 2
        return prefix(text, columns: room / 2) + String(ellipsis) + suffix(text, columns: tailColumns)
    }

    /// `text` broken into lines of at most `width` columns at spaces (a word longer than a line is cut), every line
    /// after the first led by `indent`. Never returns a line wider than `width`.
    static func wrapped(_ text: String, to width: Int, indent: String = "") -> [String] {
        guard width > 0 else { return [] }
        let indent = columns(indent) < width ? indent : ""
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            if !line.isEmpty, columns(line) + 1 + columns(word) <= width {
                line += " " + word
                continue
            }
            if !line.isEmpty { lines.append(line) }
            line = ""
            // The word starts a line; one wider than a line is cut into line-sized pieces.
            var rest = word
            while !rest.isEmpty {
                let lead = lines.isEmpty ? "" : indent
                let room = width - columns(lead)
                if columns(rest) <= room {
                    line = lead + rest
                    break
                }
                let piece = prefix(rest, columns: room)
                guard !piece.isEmpty else { break }  // a character wider than the room: the rest of the word goes
                lines.append(lead + piece)
                rest = String(rest.dropFirst(piece.count))
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    // MARK: Helpers

    /// The longest prefix of whole characters within `columns`.
    static func prefix(_ text: String, columns limit: Int) -> String {
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let width = columns(text[index])
            guard used + width <= limit else { break }
            used += width
            end = text.index(after: index)
        }
        return String(text[..<end])
    }

    /// The longest suffix of whole characters within `columns`.
    static func suffix(_ text: String, columns limit: Int) -> String {
        var used = 0
        var start = text.endIndex
        while start > text.startIndex {
            let previous = text.index(before: start)
            let width = columns(text[previous])
            guard used + width <= limit else { break }
            used += width
            start = previous
        }
        return String(text[start...])
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// East Asian Wide and Fullwidth ranges, and the emoji blocks drawn two columns wide (wcwidth's table, condensed).
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3, 0x25FD...0x25FE,
             0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1, 0x26AA...0x26AB, 0x26BD...0x26BE,
             0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA, 0x26F2...0x26F3, 0x26F5, 0x26FA, 0x26FD, 0x2705,
             0x270A...0x270B, 0x2728, 0x274C, 0x274E, 0x2753...0x2755, 0x2757, 0x2795...0x2797, 0x27B0, 0x27BF,
             0x2B1B...0x2B1C, 0x2B50, 0x2B55,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F,
             0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x16FE0...0x18CFF, 0x1B000...0x1B2FF, 0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F2FF,
             0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            true
        default:
            false
        }
    }
}
