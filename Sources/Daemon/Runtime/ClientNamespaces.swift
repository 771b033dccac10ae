// Which namespace each client CA's identities live in (`[identity] client_ca_namespaces`, #16 point 2): with several
// CAs in client_ca, "alice" from one and "alice" from another are different clients unless the operator says
// otherwise, so each gets its own area ("alice" and "partner:alice").
//
//   set      one entry per certificate of the client_ca bundle, in file order; "" = the home namespace (identities as
//            they are); the same name for two CAs maps them together.
//   unset    the first certificate is home; each other gets a namespace named after its CN (lower-case letters,
//            digits, '-'), or "ca-" and the first 8 hex digits of its SHA-256 fingerprint when that name is empty or
//            taken. The start-up log lists them, so an operator sees where each CA's clients go.
import FerrydConfig
import Protocol

enum ClientNamespaces {
    /// The namespace of each anchor (by DER), and the log lines describing an automatic assignment.
    static func assign(anchors: [Certificate], configured: [String]) throws(ClientTrustError) -> (namespaces: [[UInt8]: String], notes: [String]) {
        if !configured.isEmpty {
            guard configured.count == anchors.count else {
                throw ClientTrustError("identity.client_ca_namespaces has \(configured.count) entries, but identity.client_ca "
                    + "holds \(anchors.count) certificates (\(anchors.map { "\"\($0.subjectName)\"" }.joined(separator: ", "))): "
                    + "give one namespace per certificate, in the file's order (\"\" for identities as they are)")
            }
            return (Dictionary(zip(anchors.map(\.der), configured), uniquingKeysWith: { first, _ in first }), [])
        }
        var namespaces: [[UInt8]: String] = [:]
        var taken: Set<String> = [""]
        var notes: [String] = []
        for (index, anchor) in anchors.enumerated() {
            guard index > 0 else {
                namespaces[anchor.der] = ""
                continue
            }
            var name = derivedName(anchor.commonName ?? "")
            if name.isEmpty || taken.contains(name) { name = "ca-" + String(hex(anchor.fingerprint).prefix(8)) }
            taken.insert(name)
            namespaces[anchor.der] = name
            notes.append("identity.client_ca: clients of \"\(anchor.subjectName)\" are identified as \(name):NAME (their own "
                + "namespace); set identity.client_ca_namespaces to name it or map it together with another CA")
        }
        return (namespaces, notes)
    }

    /// "Partner CA (EU)" → "partner-ca-eu".
    static func derivedName(_ commonName: String) -> String {
        var name = ""
        for scalar in commonName.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                name.unicodeScalars.append(scalar)
            } else if !name.isEmpty, !name.hasSuffix("-") {
                name += "-"
            }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return String(name.prefix(NamespaceName.maximumLength))
    }
}
