// What to do about a certificate refused in the handshake, in the user's terms: the files they passed (--ca, --cert)
// and the name they connected by. The protocol's explanation (CertificateExplanation) says what the certificates are;
// this adds the way out, for the refusals a user can act on, on either side:
//
//   ours, of the server's certificate   name mismatch, unknown CA (or a missing intermediate), wrong purpose
//   the server's, of ours               unknown CA, wrong purpose (ferry checks its own certificate's purpose before
//                                       connecting, CredentialFiles, so this one is a server with other rules)
import Protocol

struct CertificateAdvice: Sendable {
    /// --ca (or `ca`), as the user gave it.
    let caPath: String
    /// --cert (or `certificate`).
    let certificatePath: String
    /// The name the server's certificate must carry: --server-name, else the host of --server.
    let serverName: String

    /// The message for a certificate refusal, or nil for any other error (the generic wording then applies).
    func explain(_ error: ProtocolError) -> String? {
        if error.origin == .peer {
            switch error.alert {
            case .unknownCA:
                return "the server does not trust the CA that issued our certificate (\(certificatePath)): ask its "
                    + "operator to add that CA to identity.client_ca, or use a certificate issued by the server's CA"
            case .unsupportedCertificate:
                let said = error.detail.isEmpty ? error.alert.name : error.detail
                return "the server refused our certificate (\(certificatePath)) for its type or purpose (\(said)): a "
                    + "client certificate is made with `ferry ca issue --client --name NAME`"
            default:
                return nil
            }
        }
        guard let kind = error.certificateFailure else { return nil }
        let facts = Self.facts(error.detail)
        switch kind {
        case .nameMismatch:
            let form = serverName.contains(":") || serverName.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP" : "DNS"
            return "the server's certificate does not match the name we connected to: \(facts). Connect by one of its "
                + "names, pass --server-name with one of them, or issue the server a certificate for that name "
                + "(`ferry ca issue --server --san \(form):\(serverName)`)"
        case .untrustedIssuer, .selfSigned:
            return "the server's certificate is not from a CA in \(caPath) (--ca): \(facts). Pass the certificate of the "
                + "CA that issued the server's with --ca; if an intermediate is missing, the server's operator must put it "
                + "after the certificate in identity.certificate"
        case .wrongPurpose:
            return "the server's certificate is not one for a server: \(facts). Its operator must use a server "
                + "certificate (`ferry ca issue --server`)"
        case .expired, .notYetValid:
            return "the server's certificate is outside its validity period: \(facts). Check this machine's clock; "
                + "otherwise its operator must renew it"
        default:
            return nil
        }
    }

    /// The protocol's detail without its prefix ("peer certificate rejected: nameMismatch: …").
    private static func facts(_ detail: String) -> String {
        var text = Substring(detail)
        for prefix in ["peer certificate rejected: "] where text.hasPrefix(prefix) { text = text.dropFirst(prefix.count) }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains(" ") { text = text[text.index(after: colon)...] }
        return text.trimmingCharacters(in: .whitespaces)
    }
}
