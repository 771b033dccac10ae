// Trimming for the configuration's own text handling (SourceLocator), without Foundation.

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
