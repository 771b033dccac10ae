// Writing TOML literals for renderEffective(). Only what the key table needs: basic strings, string arrays, byte sizes.
import Units

enum TOMLText {
    /// A TOML basic string: `"` and `\` escaped, control characters as \uXXXX (TOML 1.0 §String).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func array(_ texts: [String]) -> String {
        "[" + texts.map(quoted).joined(separator: ", ") + "]"
    }

    /// 0 as a bare integer, a value with an exact unit as a string ("1GiB"), anything else as a bare integer.
    static func byteSize(_ bytes: UInt64) -> String {
        let text = ByteSize.format(bytes)
        return text.allSatisfy(\.isNumber) ? text : quoted(text)
    }
}
