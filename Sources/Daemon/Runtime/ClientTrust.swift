// The trust the daemon puts in client certificates: `[identity] client_ca`, the intermediates clients may be issued
// by (`client_intermediates`; none unless listed) and the CRLs (`crl`, `crl_stale`), read
// and cross-checked so that a mistake shows at start, at reload and in check-config rather than as clients refused
// later. Errors stop the load; warnings are said and the configuration is used.
//
//   error    a CRL file unreadable or malformed; a CRL that names a configured CA as its issuer but is not signed by it
//   warning  a configured CA with no CRL (its clients are refused once CRLs are configured); a CRL past its nextUpdate;
//            a CRL from an issuer that is not a configured CA (it applies only if clients send that CA as an
//            intermediate)
import Foundation
import Platform
import Protocol

struct ClientTrust {
    let store: TrustStore
    /// The namespace of each CA's clients (ClientNamespaces), for the protocol's ClientAdmission.
    let namespaces: [[UInt8]: String]
    let warnings: [String]
    /// What the operator should see at start but is not a problem (automatic namespaces).
    let notes: [String]
    /// When each CRL is due, for the metrics and the stale check while running.
    let schedules: [RevocationListSchedule]

    static func load(bundlePEM: [UInt8], bundlePath: String, namespaces configured: [String], intermediateFiles: [URL],
                     crlFiles: [URL], stale: StaleRevocationListPolicy, now: Int64) throws(ClientTrustError) -> ClientTrust {
        let anchors: [Certificate]
        do { anchors = try Certificate.chain(fromPEM: bundlePEM) } catch {
            throw ClientTrustError("identity.client_ca (\(bundlePath)): \(error)")
        }
        let (namespaces, notes) = try ClientNamespaces.assign(anchors: anchors, configured: configured)
        var intermediates: [Certificate] = []
        for file in intermediateFiles {
            let bytes: [UInt8]
            do { bytes = try SmallFile.read(file.path, limit: 1 << 20) } catch {
                throw ClientTrustError("identity.client_intermediates: \(error)")
            }
            do { intermediates += try Certificate.chain(fromPEM: bytes) } catch {
                throw ClientTrustError("identity.client_intermediates (\(file.path)): \(error)")
            }
        }
        for certificate in intermediates where !certificate.isCertificateAuthority {
            throw ClientTrustError("identity.client_intermediates: \"\(certificate.subjectName)\" is not a CA certificate "
                + "(basicConstraints CA:TRUE): list only the intermediate CAs that issue clients")
        }
        var lists: [RevocationList] = []
        var warnings: [String] = []
        var schedules: [RevocationListSchedule] = []
        for file in crlFiles {
            let read = try readCRLs(file)
            for list in read {
                warnings += try check(list, file: file.path, anchors: anchors, stale: stale, now: now)
                schedules.append(RevocationListSchedule(file: file.path, issuer: list.issuerName, number: list.number,
                                                        nextUpdate: list.nextUpdate))
            }
            lists += read
        }
        if !lists.isEmpty {
            for anchor in anchors where anchor.isCertificateAuthority && !lists.contains(where: { $0.isIssued(by: anchor) }) {
                warnings.append("identity.client_ca: no CRL in identity.crl is from \"\(anchor.subjectName)\": every "
                    + "client it issued is refused (revocation unknown) until its CRL is added")
            }
        }
        let store: TrustStore
        do {
            store = try TrustStore(pemBundle: bundlePEM, revocationLists: lists, staleRevocationLists: stale,
                                   permittedIntermediates: intermediates)
        } catch {
            throw ClientTrustError("identity.client_ca (\(bundlePath)): \(error)")
        }
        return ClientTrust(store: store, namespaces: namespaces, warnings: warnings, notes: notes, schedules: schedules)
    }

    private static func readCRLs(_ file: URL) throws(ClientTrustError) -> [RevocationList] {
        let bytes: [UInt8]
        do { bytes = try SmallFile.read(file.path, limit: RevocationList.maximumFileLength) } catch {
            throw ClientTrustError("identity.crl: \(error)")
        }
        do { return try RevocationList.load(bytes) } catch {
            throw ClientTrustError("identity.crl (\(file.path)): not a CRL: \(error)")
        }
    }

    private static func check(_ list: RevocationList, file: String, anchors: [Certificate],
                              stale: StaleRevocationListPolicy, now: Int64) throws(ClientTrustError) -> [String] {
        var warnings: [String] = []
        let namesake = anchors.filter { $0.subjectName == list.issuerName }
        if namesake.isEmpty {
            warnings.append("identity.crl (\(file)): issued by \"\(list.issuerName)\", which is not a CA in "
                + "identity.client_ca; it applies only to clients that send that CA as an intermediate")
        } else if !namesake.contains(where: { list.isIssued(by: $0) }) {
            throw ClientTrustError("identity.crl (\(file)): names \"\(list.issuerName)\" as its issuer but is not "
                + "signed by that CA's key in identity.client_ca: use the CRL that CA published")
        }
        if let next = list.nextUpdate, next < now {
            warnings.append(staleWarning(file: file, issuer: list.issuerName, nextUpdate: next, stale: stale))
        }
        return warnings
    }

    /// What is said of a CRL past its nextUpdate: at load, and by the running daemon when one becomes stale.
    static func staleWarning(file: String, issuer: String, nextUpdate: Int64, stale: StaleRevocationListPolicy) -> String {
        let effect = switch stale {
        case .accept: "it still revokes what it lists (identity.crl_stale = \"accept\")"
        case .refuse: "every client it covers is refused (identity.crl_stale = \"refuse\")"
        }
        return "identity.crl (\(file)): the CRL of \"\(issuer)\" was due for renewal on \(SystemClock.utcText(nextUpdate)) "
            + "(nextUpdate); \(effect). Install a new one (`ferry ca crl`) and reload"
    }
}

struct ClientTrustError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
