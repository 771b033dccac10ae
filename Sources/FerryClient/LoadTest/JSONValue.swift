// A JSON document with its keys in the order written (the report's schema reads top to bottom as documented), numbers
// as numbers, nil as null. Non-finite numbers become null rather than invalid JSON.
import Foundation

indirect enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered == rhs.rendered }

    static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .integer(Int64(clamping: value)) }
    static func int<T: BinaryInteger>(_ value: T?) -> JSONValue { value.map { .integer(Int64(clamping: $0)) } ?? .null }
    static func double(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
    static func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// Compact, one line.
    var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    private func render(into out: inout String) {
        switch self {
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.renderString(key, into: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.render(into: &out)
            }
            out += "]"
        case .string(let text): Self.renderString(text, into: &out)
        case .integer(let value): out += String(value)
        case .number(let value): out += Self.format(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    /// Up to 3 decimals, no exponent, no trailing zeros ("12.5", "0.001", "3").
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        var text = String(format: "%.3f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// A JSON string literal, escaped as `ferry upload --json` writes its strings (JSONText).
    private static func renderString(_ text: String, into out: inout String) { JSONText.appendQuoted(text, to: &out) }
}
