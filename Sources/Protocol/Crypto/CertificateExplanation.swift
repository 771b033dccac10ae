// What a refused peer chain means in the terms of the certificates themselves, so that a message can say what to do
// rather than quote OpenSSL ("hostname mismatch (X509_V_ERR 62 at depth 0)"): the names a certificate is valid for and
// the name that was used; who issued the chain and which CAs were trusted, and whether an intermediate is missing;
// what a certificate is for when it is used for the other purpose. The kind stays the same (it decides the alert);
// OpenSSL's text stays at the end, for whoever searches for it.
enum CertificateExplanation {
    static func explain(_ error: CertificateVerificationError, chain: [Certificate], trust: TrustStore,
                        purpose: CertificatePurpose, expectedName: String?) -> CertificateVerificationError {
        guard let leaf = chain.first else { return error }
        let role = purpose == .serverAuth ? "server" : "client"
        let facts: String
        switch error.kind {
        case .nameMismatch:
            let names = leaf.subjectAltNames
            let valid = names.isEmpty ? "no names at all (it has no subjectAltName)" : names.joined(separator: ", ")
            facts = "the \(role) certificate \(leaf.subjectName) is valid for \(valid), not for "
                + "\"\(expectedName ?? "")\""
        case .untrustedIssuer:
            let top = chain.last ?? leaf
            let trusted = trust.anchorSubjects.isEmpty ? "none" : trust.anchorSubjects.joined(separator: "; ")
            if trust.anchorSubjects.contains(top.issuerName) {
                facts = "the \(role) certificate chain ends at \(top.subjectName), issued by a CA named "
                    + "\(top.issuerName) that is not the one trusted under that name (another key)"
            } else if !top.isSelfIssued, chain.count == 1 {
                facts = "the \(role) certificate \(leaf.subjectName) is issued by \(top.issuerName), which is not a "
                    + "trusted CA (trusted: \(trusted)); if \(top.issuerName) is an intermediate CA, the \(role) did "
                    + "not send it: a missing intermediate"
            } else {
                facts = "the \(role) certificate chain ends at \(top.subjectName), issued by \(top.issuerName), which is "
                    + "not a trusted CA (trusted: \(trusted))"
            }
        case .wrongPurpose:
            let usage = leaf.extendedKeyUsage
            if purpose == .clientAuth, usage == [.serverAuth] {
                facts = "\(leaf.subjectName) is a server certificate (extendedKeyUsage serverAuth only), used as a "
                    + "client one"
            } else if purpose == .serverAuth, usage == [.clientAuth] {
                facts = "\(leaf.subjectName) is a client certificate (extendedKeyUsage clientAuth only), used as a "
                    + "server one"
            } else {
                facts = "\(leaf.subjectName) is not for \(purpose == .serverAuth ? "serverAuth" : "clientAuth") (its "
                    + "extendedKeyUsage or keyUsage forbids it)"
            }
        default:
            return error
        }
        return CertificateVerificationError(error.kind, "\(facts) [\(error.detail)]")
    }
}
