// Revoking what the CA issued and publishing the list: `ferry ca revoke`, `ferry ca crl`, `ferry ca list`.
//
// A revocation only reaches ferryd through a CRL: `revoke` records it (DIR/revoked), `revocationList` signs every
// recorded revocation into a CRL for `[identity] crl`, and a reload of ferryd applies it — also to sessions already
// open. Revoking is for good: there is no un-revoke (RFC 5280's certificateHold is not offered), as with most CAs.
import Foundation
import Protocol

extension CertificateAuthority {
    var registry: CARegistry { CARegistry(directory: directory) }

    /// What `ferry ca list` shows of one issued certificate.
    struct IssuedEntry: Equatable, Sendable {
        enum Status: Equatable, Sendable { case valid, expired, revoked(at: Int64) }
        let name: String
        let serial: String
        let notAfter: Int64
        let status: Status
    }

    /// Every recorded certificate with its status at `now`, by name, then expiry.
    func issuedEntries(now: Date = Date()) throws(CAError) -> [IssuedEntry] {
        try Self.issuedEntries(registry: registry, now: now)
    }

    /// `issuedEntries` from the registry of the CA in `directory`, without opening its key (`ferry ca list`).
    static func issuedEntries(directory: URL, now: Date = Date()) throws(CAError) -> [IssuedEntry] {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(certificateFileName).path) else {
            throw CAError.invalidCA("no CA in \(directory.path) (no \(certificateFileName)): run `ferry ca init --dir "
                                    + "\(directory.path)` first")
        }
        return try issuedEntries(registry: CARegistry(directory: directory), now: now)
    }

    private static func issuedEntries(registry: CARegistry, now: Date) throws(CAError) -> [IssuedEntry] {
        let revoked = Dictionary(try registry.revocations().map { ($0.serial, $0.revokedAt) }, uniquingKeysWith: { a, _ in a })
        let time = Int64(now.timeIntervalSince1970)
        return try registry.issued().map { certificate in
            let serial = CARegistry.hex(certificate.serialNumber)
            let notAfter = certificate.notAfter ?? 0
            let status: IssuedEntry.Status = if let at = revoked[serial] { .revoked(at: at) }
                else if notAfter <= time { .expired } else { .valid }
            return IssuedEntry(name: certificate.commonName ?? "(no CN)", serial: serial, notAfter: notAfter, status: status)
        }.sorted { ($0.name, $0.notAfter) < ($1.name, $1.notAfter) }
    }

    /// Revokes every certificate issued under `name` that has not expired and is not revoked yet; returns their
    /// serials. Throws when there is none, saying why.
    @discardableResult
    func revoke(name: String, now: Date = Date()) throws(CAError) -> [String] {
        let entries = try issuedEntries(now: now).filter { $0.name == name }
        guard !entries.isEmpty else {
            throw CAError.invalidArgument("no certificate named \"\(name)\" was issued by this CA (`ferry ca list --dir "
                + "\(directory.path)` shows what was); certificates issued before it kept a record can be revoked "
                + "with --serial")
        }
        let targets = entries.filter { $0.status == .valid }
        guard !targets.isEmpty else {
            throw CAError.invalidArgument("every certificate named \"\(name)\" is already revoked or expired")
        }
        let at = Int64(now.timeIntervalSince1970)
        try registry.add(targets.map { CARegistry.Revocation(serial: $0.serial, revokedAt: at, name: name) })
        return targets.map(\.serial)
    }

    /// Revokes one certificate by serial (hex, colons and "0x" allowed), recorded or not. Returns the normalised
    /// serial and the name when the certificate is on record.
    @discardableResult
    func revoke(serial text: String, now: Date = Date()) throws(CAError) -> (serial: String, name: String?) {
        guard let serial = CARegistry.normalisedSerial(text) else {
            throw CAError.invalidArgument("--serial \"\(text)\" is not a serial number: hex digits, colons allowed "
                + "(as `ferry ca list` or `openssl x509 -noout -serial` print it)")
        }
        if try registry.revocations().contains(where: { $0.serial == serial }) {
            throw CAError.invalidArgument("serial \(serial) is already revoked")
        }
        let entry = try issuedEntries(now: now).first { $0.serial == serial }
        if serial == CARegistry.hex(certificate.serialNumber) {
            throw CAError.invalidArgument("serial \(serial) is the CA's own certificate: make a new CA instead")
        }
        try registry.add([CARegistry.Revocation(serial: serial, revokedAt: Int64(now.timeIntervalSince1970), name: entry?.name)])
        return (serial, entry?.name)
    }

    /// A CRL of every recorded revocation, valid from now (backdated like certificates) for `days`, numbered one more
    /// than the last.
    func revocationList(days: Int, now: Date = Date()) throws(CAError) -> RevocationList {
        guard (1...366).contains(days) else { throw CAError.invalidArgument("--days must be 1…366, got \(days)") }
        let start = Int64(now.timeIntervalSince1970)
        let revoked = try registry.revocations().map {
            RevokedCertificate(serial: CARegistry.bytes($0.serial), revokedAt: $0.revokedAt)
        }
        let number = try registry.takeCRLNumber()
        do {
            return try RevocationListBuilder.build(issuer: certificate, key: key, revoked: revoked, number: number,
                                                   thisUpdate: start - Self.clockSkewAllowance,
                                                   nextUpdate: start + Int64(days) * 86_400)
        } catch {
            throw CAError(.library, "cannot sign the CRL: \(error)")
        }
    }

    /// Writes `list` as PEM to `path` (replacing it atomically: ferryd may read it at any moment).
    static func write(_ list: RevocationList, to path: String) throws(CAError) {
        let pem: [UInt8]
        do { pem = try list.pem() } catch { throw CAError(.library, "cannot write the CRL: \(error)") }
        try StagedFile.stage(pem, at: path, mode: 0o644, exactMode: true).commit(replacing: true)
    }
}
