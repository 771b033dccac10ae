// The rule for a client CA's namespace name (`[identity] client_ca_namespaces`): it begins its clients' identities
// ("partner:alice"), which become directory names under the storage root, so it stays within a portable file-name
// alphabet and cannot be a dot file.

package enum NamespaceName {
    package static let maximumLength = 64

    /// 1–64 of [A-Za-z0-9._-], not starting with ".".
    package static func isValid(_ name: String) -> Bool {
        guard (1...maximumLength).contains(name.utf8.count), name.utf8.first != UInt8(ascii: ".") else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
