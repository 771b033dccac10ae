// Which Ferry this build is: the one place the release number is written. `ferry --version` and `ferryd --version`
// print `description(tool:)`, ferryd's "ferryd ready" log line carries `release` as version=, and its metrics expose
// it as ferry_build_info{version}. Beside the protocol, not in Platform (which may not depend on Protocol), because the
// line names the protocol versions this build speaks too (ProtocolVersion, Wire/Limits.swift), and both executables
// and every test target already import Protocol: nothing else has to repeat either number.
public enum FerryVersion {
    /// The release (semantic versioning). Raised when a release is made; the man pages in docs/man carry it too
    /// (`scripts/man` writes it there).
    public static let release = "0.9.0"

    /// The protocol versions this build can negotiate, as the handshake numbers them (docs/PROTOCOL.md §4).
    public static var protocolVersions: [UInt16] { ProtocolVersion.allCases.map(\.rawValue) }

    /// `ferry 0.9.0 (protocol 1)`: what `--version` prints (several versions as `protocol 1, 2`).
    public static func description(tool: String) -> String {
        "\(tool) \(release) (protocol \(protocolVersions.map(String.init).joined(separator: ", ")))"
    }
}
