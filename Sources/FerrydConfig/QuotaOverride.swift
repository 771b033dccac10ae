// `[quotas] overrides`: one namespace's own limits instead of the defaults (docs/STORE.md "Quotas").
//
//   override = namespace ":" limit *(" " limit)
//   limit    = "bytes=" size | "files=" count        (0: none of that kind; a kind not named keeps the default)
//
//   overrides = ["alice: bytes=50GiB files=100000", "backup: bytes=0"]
import Units

package struct QuotaOverride: Equatable, Sendable {
    package let namespace: String
    /// nil: the default; 0: no limit.
    package let bytes: UInt64?
    package let files: UInt64?

    package var text: String {
        "\(namespace):" + (bytes.map { " bytes=\(ByteSize.format($0))" } ?? "") + (files.map { " files=\($0)" } ?? "")
    }

    @Sendable static func entry(_ text: String) -> Result<String, ConfigKey.EntryProblem> {
        parse(text).map(\.text)
    }

    static func parse(_ text: String) -> Result<QuotaOverride, ConfigKey.EntryProblem> {
        let format = "\"NAMESPACE: bytes=SIZE files=COUNT\" (either limit may be left out; 0 = none)"
        guard let colon = text.lastIndex(of: ":") else { return .failure(.init("is not of the form \(format)")) }
        let namespace = String(text[..<colon]).trimmingSpaces()
        guard !namespace.isEmpty, !namespace.hasPrefix("."), !namespace.contains("/"),
              !namespace.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.init("names \"\(namespace)\", which is no identity's directory name"))
        }
        var bytes: UInt64?, files: UInt64?
        let limits = text[text.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
        guard !limits.isEmpty else { return .failure(.init("sets no limit: want \(format)")) }
        for limit in limits {
            if limit.hasPrefix("bytes="), bytes == nil, let size = try? ByteSize.parse(String(limit.dropFirst(6))) {
                bytes = size
            } else if limit.hasPrefix("files="), files == nil, let count = UInt64(limit.dropFirst(6)) {
                files = count
            } else {
                return .failure(.init("has \"\(limit)\": want \(format)"))
            }
        }
        return .success(QuotaOverride(namespace: namespace, bytes: bytes, files: files))
    }
}
