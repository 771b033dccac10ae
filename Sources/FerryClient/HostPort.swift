// "HOST[:PORT]" as the client configuration and command line write a server address: a DNS name or IPv4 literal,
// or an IPv6 literal in brackets ("[2001:db8::1]:7443", RFC 3986 §3.2.2), with a port — ferryd's default, 7443,
// when none is written (as ssh takes 22).

/// "host[:port]", "1.2.3.4[:port]" or "[v6][:port]".
struct HostPort: Equatable, Sendable {
    let host: String
    let port: UInt16

    /// ferryd's default listening port (config/ferryd.toml, server.listen).
    static let defaultPort: UInt16 = 7443

    static func parse(_ text: String) throws(ClientSettingsError) -> HostPort {
        func bad(_ why: String) -> ClientSettingsError {
            ClientSettingsError(.badValue, path: nil, key: nil, "\"\(printable(text))\": \(why)")
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("missing \"]\" after the IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw bad("expected \":PORT\" or nothing after \"]\"") }
            portText = rest.isEmpty ? "\(defaultPort)" : rest.dropFirst()
            guard IPAddress(String(host)).map({ $0.bytes.count == 16 }) == true else {
                throw bad("\"[\(printable(String(host)))]\" is not an IPv6 address")
            }
        } else {
            if let colon = text.lastIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = Substring(text)
                portText = "\(defaultPort)"
            }
            guard !host.contains(":") else { throw bad("write an IPv6 address in brackets: [ADDR]:PORT") }
            do { try validateHost(String(host), bracketsAllowed: false) } catch { throw bad(error.message) }
        }
        guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = UInt16(portText), port > 0 else {
            throw bad("the port must be a number 1…65535")
        }
        return HostPort(host: String(host), port: port)
    }

    /// A DNS name or an IP literal: non-empty, at most 253 bytes, no spaces, control characters or "/".
    static func validateHost(_ host: String, bracketsAllowed: Bool) throws(ClientSettingsError) {
        func bad(_ why: String) -> ClientSettingsError { ClientSettingsError(.badValue, path: nil, key: nil, why) }
        guard !host.isEmpty else { throw bad("empty host") }
        guard host.utf8.count <= SubjectAltName.maximumDNSNameLength else { throw bad("host name longer than 253 bytes") }
        if host.hasPrefix("["), !bracketsAllowed { throw bad("\"\(printable(host))\": write an IP address without brackets") }
        if IPAddress(host) != nil { return }
        guard host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "/" && $0 != ":" }) else {
            throw bad("\"\(printable(host))\" is not a host name (ASCII letters, digits, '-', '.', no spaces)")
        }
    }
}

