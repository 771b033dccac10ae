// A terminal of `columns` columns replayed from what a program wrote to it (as `script` recorded it): enough of
// ECMA-48 for ferry's progress display — printable characters (East Asian wide ones two columns), CR, LF, CSI n F
// and n A (cursor up), CSI K / 2K (erase in line), CSI J (erase below) — over an unbounded screen (nothing scrolls
// away). It says what a person would see at the end, and whether anything was ever written past the last column,
// which is where a real terminal wraps the line and the redraw arithmetic leaves stale copies behind.
import Foundation

struct ScreenModel {
    let columns: Int
    private var screen: [[Character]] = [[]]
    private var row = 0
    private var column = 0
    /// The lines in which a character went past the last column, as they stood then.
    private(set) var overflows: [String] = []

    init(columns: Int) { self.columns = columns }

    init(columns: Int, replaying output: String) {
        self.init(columns: columns)
        feed(output)
    }

    /// The screen's lines at the end, without trailing blanks and without the empty lines after the last one.
    var lines: [String] {
        var lines = screen.map {
            String($0.filter { $0 != Self.secondCell }).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    mutating func feed(_ output: String) {
        var characters = output[...]
        while let character = characters.popFirst() {
            switch character {
            case "\u{1B}":
                guard characters.first == "[" else { continue }  // ESC 7, ESC 8 and the like: none expected
                characters.removeFirst()
                let parameters = String(characters.prefix { !("\u{40}"..."\u{7E}").contains($0) })
                characters.removeFirst(parameters.count)
                guard let final = characters.popFirst() else { return }
                control(final, Int(parameters) ?? 0)
            case "\r":
                column = 0
            case "\n", "\r\n":
                row += 1
                column = 0
                while screen.count <= row { screen.append([]) }
            default:
                write(character)
            }
        }
    }

    private mutating func control(_ final: Character, _ parameter: Int) {
        switch final {
        case "F", "A":
            row = max(row - max(parameter, 1), 0)
            if final == "F" { column = 0 }
        case "K":
            if parameter == 2 { screen[row] = [] } else { screen[row] = Array(screen[row].prefix(column)) }
        case "J":
            screen[row] = Array(screen[row].prefix(column))
            screen.removeSubrange((row + 1)...)
        default:
            break
        }
    }

    private mutating func write(_ character: Character) {
        let width = Self.columns(of: character)
        if column + width > columns {
            overflows.append(String(screen[row].filter { $0 != Self.secondCell }) + String(character))
            // What a terminal does: the rest of the text goes on the next line.
            row += 1
            column = 0
            while screen.count <= row { screen.append([]) }
        }
        while screen[row].count < column + width { screen[row].append(" ") }
        screen[row][column] = character
        if width == 2 { screen[row][column + 1] = Self.secondCell }
        column += width
    }

    /// What fills the cell a wide character covers beside its own.
    private static let secondCell: Character = "\u{200B}"

    /// Columns a character takes: two for the East Asian wide ranges ferry's names use in these tests, else one.
    static func columns(of character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        switch scalar.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFF00...0xFF60, 0xFFE0...0xFFE6:
            return 2
        default:
            return 1
        }
    }
}
