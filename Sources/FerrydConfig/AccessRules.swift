// `[access]`: the deny lists, checked as the file is read and turned into the protocol's ClientAdmission.
import Protocol
import Store

package enum AccessRules {
    /// Longest identity entry: far above any CN (64 characters, RFC 5280 ub-common-name) or DNS name (253).
    static let maximumIdentityLength = 1024

    /// A client identity as the handshake reports it: not empty, no control characters (such a CN is never an
    /// identity, Certificate.identityText), not absurdly long.
    @Sendable static func identityEntry(_ text: String) -> Result<String, ConfigKey.EntryProblem> {
        guard !text.isEmpty, text.utf8.count <= maximumIdentityLength else {
            return .failure(.init("must be 1–\(maximumIdentityLength) bytes"))
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.init("contains control characters, which no identity holds"))
        }
        return .success(text)
    }

    /// A SHA-256 fingerprint: 64 hex digits, in either case, with or without colons, optionally after "sha256:" or
    /// OpenSSL's "sha256 Fingerprint=" (so a line of `openssl x509 -fingerprint -sha256` output can be pasted).
    /// Kept as 64 lower-case digits.
    @Sendable static func fingerprintEntry(_ text: String) -> Result<String, ConfigKey.EntryProblem> {
        var digits = Substring(text.trimmingSpaces())
        for prefix in ["sha256 fingerprint=", "sha256:"] where digits.lowercased().hasPrefix(prefix) {
            digits = digits.dropFirst(prefix.count)
        }
        let hex = digits.filter { $0 != ":" }.lowercased()
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            return .failure(.init("is not a SHA-256 fingerprint: want 64 hex digits (colons allowed), as "
                + "`openssl x509 -noout -fingerprint -sha256 -in CERT` prints"))
        }
        return .success(hex)
    }

    /// A namespace name: "" (the home namespace), or 1–64 of [A-Za-z0-9._-] not starting with "." — it begins the
    /// identities of a CA's clients ("partner:alice"), which become directory names.
    @Sendable static func namespaceEntry(_ text: String) -> Result<String, ConfigKey.EntryProblem> {
        guard text.isEmpty || NamespaceName.isValid(text) else {
            return .failure(.init("is not a namespace name: \"\" or 1–64 letters, digits, '.', '-', '_', not starting with '.'"))
        }
        return .success(text)
    }

    /// The protocol's admission policy for this configuration: the deny lists, and the store's rule for identities,
    /// so that a client whose identity can never be a directory (`a/b`, `..`, the staging name, a name against the
    /// Unicode policy) is refused in the handshake, saying why, instead of holding a session that fails every upload.
    package static func admission(_ access: DaemonConfig.AccessSection, staging: String) -> ClientAdmission {
        var admission = ClientAdmission()
        let rules = NameRules(staging: staging)
        admission.identityRule = { identity in
            do throws(StorageNameError) { try rules.validateIdentity(identity) } catch { return error.nameProblem }
            return nil
        }
        admission.deniedIdentities = Set(access.denyIdentities)
        admission.deniedFingerprints = Set(access.denyFingerprints.compactMap(bytes(fromHex:)))
        return admission
    }

    private static func bytes(fromHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
