// "host:port" listen addresses for `server.listen` and `metrics.listen`.
//
// Accepted hosts: an IPv4 literal ("127.0.0.1", "0.0.0.0"), a bracketed IPv6 literal ("[::1]", "[::]"), or the name
// "localhost". No other names: the daemon binds before it could resolve them reliably (DNS at boot is a classic cause of
// a unit that starts on one boot and not the next), and a literal says exactly which interface is exposed.
// IPv6 zone identifiers ("[fe80::1%eth0]") are not supported yet.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The same shape as the one Runtime/RuntimeSettings.swift declared for the listener (host text + port), so either
/// declaration can go when the two land together; the parsing lives in this file.
package struct ListenAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 literal ("127.0.0.1"), an IPv6 literal without brackets ("::1"), or "localhost" (127.0.0.1 and ::1;
    /// the listener decides how to bind it).
    package var host: String
    package var port: UInt16

    /// The literals a listener binds: "localhost" is the one name the configuration accepts, for both loopback
    /// addresses; anything else is already a literal.
    package var bindHosts: [String] { host == "localhost" ? ["127.0.0.1", "::1"] : [host] }

    /// The address in the form it is written in the configuration; `parse(description)` gives `self` back.
    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Completes "must be …" in error messages.
    static let expectedForm =
        "\"host:port\" with an IPv4 address, \"[IPv6]\" in brackets or \"localhost\", and a port 1…65535"

    /// Parses "host:port"; the error is a short reason, without the key (the caller adds it).
    static func parse(_ text: String) -> Result<ListenAddress, ParseError> {
        guard let colon = text.lastIndex(of: ":"), !(text.hasPrefix("[") && text.hasSuffix("]")) else {
            return .failure(.missingPort)
        }
        let hostText = String(text[..<colon])
        let portText = String(text[text.index(after: colon)...])
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText) else { return .failure(.badPort(portText)) }
        guard (1...65535).contains(port) else { return .failure(.badPort(portText)) }

        let host: String
        if hostText.hasPrefix("[") || hostText.hasSuffix("]") {
            guard hostText.count >= 2, hostText.hasPrefix("["), hostText.hasSuffix("]") else {
                return .failure(.badHost(hostText))
            }
            let inner = String(hostText.dropFirst().dropLast())
            guard Self.isValid(inner, family: AF_INET6) else { return .failure(.badHost(hostText)) }
            host = inner
        } else if hostText.contains(":") {
            return .failure(.unbracketedIPv6(hostText))
        } else if hostText == "localhost" {
            host = "localhost"
        } else if Self.isValid(hostText, family: AF_INET) {
            host = hostText
        } else {
            return .failure(.badHost(hostText))
        }
        return .success(ListenAddress(host: host, port: UInt16(port)))
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingPort
        case badPort(String)
        case badHost(String)
        case unbracketedIPv6(String)

        var description: String {
            switch self {
            case .missingPort: "has no \":port\""
            case .badPort(let port): "has port \"\(port)\"; the port must be a number from 1 to 65535"
            case .badHost(let host):
                host.isEmpty ? "has no host; write 0.0.0.0 or [::] to listen on every interface"
                    : "has host \"\(host)\", which is not an IPv4 address, a bracketed IPv6 address or \"localhost\""
            case .unbracketedIPv6(let host): "has host \"\(host)\"; write an IPv6 address in brackets: \"[\(host)]:port\""
            }
        }
    }

    /// inet_pton is pure parsing (no lookup): the exact grammar the listener's uv_ip4_addr / uv_ip6_addr accept.
    private static func isValid(_ text: String, family: Int32) -> Bool {
        guard !text.isEmpty, !text.utf8.contains(0) else { return false }
        var buffer = (UInt64(0), UInt64(0))  // room for in6_addr
        return withUnsafeMutableBytes(of: &buffer) { inet_pton(family, text, $0.baseAddress) == 1 }
    }
}
