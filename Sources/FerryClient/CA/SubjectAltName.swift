// subjectAltName entries for server certificates, parsed from the command line: "DNS:host,IP:addr,…".
//
// Every entry is validated and re-written canonically, so a certificate names only well-formed hosts and addresses;
// Protocol's CertificateBuilder then encodes each as one GeneralName, so no text can become another GeneralName type
// ("email:", "dirName:", "URI:") or a second entry.
//
// DNS names (RFC 1035 §2.3.1 "preferred name syntax", RFC 1123 §2.1): ASCII letters, digits and hyphens, labels of
// 1–63 characters that neither start nor end with a hyphen, at most 253 characters, no trailing dot. The left-most
// label may be "*" (a whole-label wildcard, RFC 6125 §6.4.3; Ferry's verifier accepts no partial wildcards) when at
// least two labels follow it. Internationalised names must be given in their A-label form ("xn--…").
// IP addresses: IPv4 dotted quad or IPv6 text (inet_pton), without brackets or a zone; written back in canonical form
// (inet_ntop: RFC 5952 for IPv6).
import Protocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SubjectAltName: Hashable, Sendable, CustomStringConvertible {
    /// A host name, as given (DNS names compare case-insensitively; see `matchKey`).
    case dns(String)
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
    case ip(IPAddress)

    /// "DNS:files.example.com" / "IP:192.0.2.1" / "IP:::1": the form accepted on the command line and printed by
    /// `openssl x509 -text` (which shows "IP Address:" instead of "IP:").
    var description: String {
        switch self {
        case .dns(let name): "DNS:" + name
        case .ip(let address): "IP:" + address.text
        }
    }

    /// The most entries one certificate gets: a guard against a runaway script, far above any real server's needs.
    static let maximumCount = 100
    static let maximumDNSNameLength = 253
    static let maximumLabelLength = 63

    /// Parses a comma-separated list ("DNS:localhost,IP:127.0.0.1, IP:::1"). Whitespace around entries is ignored;
    /// an empty list, an empty entry, a duplicate or more than `maximumCount` entries is an error.
    static func parseList(_ text: String) throws(CAError) -> [SubjectAltName] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        guard !text.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            throw CAError.invalidArgument("empty subjectAltName list: give DNS:name or IP:address entries")
        }
        guard entries.count <= maximumCount else {
            throw CAError.invalidArgument("\(entries.count) subjectAltName entries, at most \(maximumCount)")
        }
        var result: [SubjectAltName] = []
        var seen: Set<String> = []
        for entry in entries {
            let name = try parse(String(entry))
            guard seen.insert(name.matchKey).inserted else {
                throw CAError.invalidArgument("subjectAltName \(name) is listed twice")
            }
            result.append(name)
        }
        return result
    }

    /// Parses one entry: "DNS:name" or "IP:address" (the type is case-insensitive).
    static func parse(_ text: String) throws(CAError) -> SubjectAltName {
        let entry = text.trimmingSpaces
        guard !entry.isEmpty else {
            throw CAError.invalidArgument("empty subjectAltName entry (a doubled or trailing comma?)")
        }
        guard let colon = entry.firstIndex(of: ":") else {
            throw CAError.invalidArgument(
                "subjectAltName \"\(printable(entry))\" has no type: write DNS:\(printable(entry)) or IP:\(printable(entry))")
        }
        let type = entry[..<colon].lowercased()
        let value = String(entry[entry.index(after: colon)...])
        switch type {
        case "dns":
            return .dns(try validatedDNSName(value))
        case "ip":
            guard let address = IPAddress(value) else {
                var hint = ""
                if value.hasPrefix("[") { hint = " (write IPv6 addresses without brackets: IP:::1)" }
                if value.contains("%") { hint = " (zone identifiers such as %eth0 cannot appear in a certificate)" }
                throw CAError.invalidArgument("subjectAltName IP:\(printable(value)) is not an IPv4 or IPv6 address\(hint)")
            }
            return .ip(address)
        default:
            throw CAError.invalidArgument(
                "subjectAltName type \"\(printable(String(entry[..<colon])))\" is not supported: use DNS:name or IP:address")
        }
    }

    /// The entry as Protocol's CertificateBuilder takes it.
    var generalName: GeneralName {
        switch self {
        case .dns(let name): .dnsName(name)
        case .ip(let address): .ipAddress(address.bytes)
        }
    }

    /// Case-insensitive identity for duplicate detection ("DNS:Localhost" repeats "DNS:localhost").
    var matchKey: String {
        switch self {
        case .dns(let name): "dns:" + name.lowercased()
        case .ip(let address): "ip:" + address.text
        }
    }

    private static func validatedDNSName(_ name: String) throws(CAError) -> String {
        func reject(_ why: String) -> CAError {
            CAError.invalidArgument("subjectAltName DNS:\(printable(name)) is not a valid host name: \(why)")
        }
        guard !name.isEmpty else { throw reject("it is empty") }
        guard name.utf8.count <= maximumDNSNameLength else { throw reject("longer than \(maximumDNSNameLength) characters") }
        guard IPAddress(name) == nil else {
            throw CAError.invalidArgument("subjectAltName DNS:\(name) is an IP address: write IP:\(name)")
        }
        guard name.unicodeScalars.allSatisfy(\.isASCII) else {
            throw reject("use the ASCII (\"xn--\") form of an internationalised name")
        }
        guard !name.hasSuffix(".") else { throw reject("no trailing dot") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if label == "*" {
                guard index == 0, labels.count >= 3 else {
                    throw reject("\"*\" may only be the left-most label, followed by at least two labels")
                }
                continue
            }
            guard !label.isEmpty else { throw reject("empty label") }
            guard label.utf8.count <= maximumLabelLength else {
                throw reject("label \"\(label)\" is longer than \(maximumLabelLength) characters")
            }
            guard label.utf8.allSatisfy({ isASCIILetterOrDigit($0) || $0 == UInt8(ascii: "-") }) else {
                throw reject("label \"\(printable(String(label)))\" may hold only letters, digits and hyphens")
            }
            guard label.first != "-", label.last != "-" else {
                throw reject("label \"\(label)\" starts or ends with a hyphen")
            }
        }
        return name
    }
}

/// An IP address for a subjectAltName: its bytes and canonical text.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]
    let text: String

    /// Parses IPv4 dotted-quad (no leading zeros: glibc's inet_pton refuses them, so "010.0.0.1" cannot mean two
    /// things) or IPv6 text. nil for anything else, brackets and zone identifiers included.
    init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= Int(INET6_ADDRSTRLEN), !text.utf8.contains(0) else { return nil }
        for (family, length) in [(AF_INET, 4), (AF_INET6, 16)] {
            var buffer = [UInt8](repeating: 0, count: 16)
            guard inet_pton(family, text, &buffer) == 1 else { continue }
            let bytes = Array(buffer.prefix(length))
            var output = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            guard inet_ntop(family, bytes, &output, socklen_t(output.count)) != nil else { return nil }
            self.bytes = bytes
            self.text = String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return
        }
        return nil
    }

    var description: String { text }
}

private func isASCIILetterOrDigit(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
}

/// `text` with control characters replaced, at most 80 characters: safe to echo in an error message.
func printable(_ text: String) -> String {
    let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map {
        $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : $0
    }))
    return cleaned.count > 80 ? String(cleaned.prefix(77)) + "..." : cleaned
}

extension String {
    /// Without leading and trailing spaces and tabs (Foundation's trimmingCharacters, without importing Foundation).
    var trimmingSpaces: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
