// What a CA directory remembers besides its key and certificate, so that `ferry ca list`, `revoke` and `crl` work:
//
//   DIR/issued/SERIAL.crt   every certificate `ferry ca issue` signed (0644, public), named by serial in lower-case hex
//   DIR/revoked             one line per revocation: "SERIAL UNIX-TIME NAME" (NAME "-" when revoked by serial alone)
//   DIR/crlnumber           the cRLNumber of the last CRL written (decimal), so each new CRL supersedes the last
//
// The same idea as `openssl ca`'s index.txt, newcerts/ and crlnumber, in files a person can read. Every write stages
// a new file and renames it over the old one (StagedFile), so a crash leaves the old or the new file, never half.
// Certificates issued before the registry existed are not in issued/: they can still be revoked by serial.
import Foundation
import Protocol

struct CARegistry {
    static let issuedDirectoryName = "issued"
    static let revokedFileName = "revoked"
    static let crlNumberFileName = "crlnumber"
    /// Bounds on what is read back: a private CA's registry is small; these only stop a wrong file from filling memory.
    static let maximumRevokedFileSize = 16 << 20
    static let maximumIssued = 100_000

    struct Revocation: Equatable, Sendable {
        /// Lower-case hex, no separators, no leading zeros beyond what the serial has.
        let serial: String
        let revokedAt: Int64
        let name: String?
    }

    let directory: URL
    private var issuedDirectory: URL { directory.appendingPathComponent(Self.issuedDirectoryName, isDirectory: true) }
    private var revokedPath: String { directory.appendingPathComponent(Self.revokedFileName).path }
    private var crlNumberPath: String { directory.appendingPathComponent(Self.crlNumberFileName).path }

    /// Keeps a copy of an issued certificate.
    func record(_ certificate: Certificate) throws(CAError) {
        do {
            try FileManager.default.createDirectory(at: issuedDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw CAError(.io, "cannot create \(issuedDirectory.path): \(error.localizedDescription)")
        }
        let pem: [UInt8]
        do { pem = try certificate.pem() } catch { throw CAError(.library, "cannot write PEM: \(error)") }
        let path = issuedDirectory.appendingPathComponent(Self.hex(certificate.serialNumber) + ".crt").path
        try StagedFile.stage(pem, at: path, mode: 0o644, exactMode: true).commit(replacing: true)
    }

    /// Every recorded certificate, in no particular order. A file that does not parse is reported, not skipped.
    func issued() throws(CAError) -> [Certificate] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: issuedDirectory.path).filter { $0.hasSuffix(".crt") }
        } catch CocoaError.fileReadNoSuchFile {
            return []
        } catch {
            throw CAError(.io, "cannot list \(issuedDirectory.path): \(error.localizedDescription)")
        }
        guard names.count <= Self.maximumIssued else {
            throw CAError.invalidCA("\(issuedDirectory.path) holds \(names.count) files, more than \(Self.maximumIssued)")
        }
        var certificates: [Certificate] = []
        for name in names {
            let path = issuedDirectory.appendingPathComponent(name).path
            do {
                certificates += try Certificate.chain(fromPEM: try readSmallFile(path, limit: CertificateAuthority.maximumFileSize))
            } catch let error as CAError {
                throw error
            } catch {
                throw CAError.invalidCA("\(path): not a PEM certificate (\(error))")
            }
        }
        return certificates
    }

    /// The revocations recorded so far, oldest first.
    func revocations() throws(CAError) -> [Revocation] {
        let bytes: [UInt8]
        do { bytes = try readSmallFile(revokedPath, limit: Self.maximumRevokedFileSize, missing: .io) } catch {
            if FileManager.default.fileExists(atPath: revokedPath) { throw error }
            return []
        }
        var result: [Revocation] = []
        for (index, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 3, let serial = Self.normalisedSerial(String(fields[0])), let time = Int64(fields[1]) else {
                throw CAError.invalidCA("\(revokedPath) line \(index + 1) is not \"SERIAL UNIX-TIME NAME\": fix or remove it")
            }
            result.append(Revocation(serial: serial, revokedAt: time, name: fields[2] == "-" ? nil : String(fields[2])))
        }
        return result
    }

    /// Adds revocations (serials already revoked are left as they were) and rewrites the file.
    func add(_ new: [Revocation]) throws(CAError) {
        var all = try revocations()
        for revocation in new where !all.contains(where: { $0.serial == revocation.serial }) { all.append(revocation) }
        let text = all.map { "\($0.serial) \($0.revokedAt) \($0.name ?? "-")\n" }.joined()
        try StagedFile.stage(Array(text.utf8), at: revokedPath, mode: 0o644, exactMode: true).commit(replacing: true)
    }

    /// The number for the next CRL (one more than the last), recorded before the CRL is written: a number is never
    /// used twice, even when writing the CRL then fails.
    func takeCRLNumber() throws(CAError) -> UInt64 {
        var last: UInt64 = 0
        if FileManager.default.fileExists(atPath: crlNumberPath) {
            let text = String(decoding: try readSmallFile(crlNumberPath, limit: 64, missing: .io), as: UTF8.self)
            guard let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw CAError.invalidCA("\(crlNumberPath) does not hold a number: fix it (the last CRL's number)")
            }
            last = value
        }
        guard last < UInt64.max else { throw CAError.invalidCA("\(crlNumberPath): the CRL number is exhausted") }
        try StagedFile.stage(Array("\(last + 1)\n".utf8), at: crlNumberPath, mode: 0o644, exactMode: true)
            .commit(replacing: true)
        return last + 1
    }

    /// A serial as colon-less lower-case hex: "1a2b", from "1A:2B", "0x1a2b" or "1a2b"; nil if not hex.
    static func normalisedSerial(_ text: String) -> String? {
        var digits = text.lowercased().filter { $0 != ":" }
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst() }
        guard !digits.isEmpty, digits.count <= 40, digits.allSatisfy(\.isHexDigit) else { return nil }
        return digits
    }

    /// A serial's bytes as `normalisedSerial` writes them.
    static func hex(_ serial: [UInt8]) -> String {
        normalisedSerial(serial.map { String(format: "%02x", $0) }.joined()) ?? "0"
    }

    /// The bytes of a normalised serial (for the CRL entry).
    static func bytes(_ serial: String) -> [UInt8] {
        let digits = serial.count % 2 == 0 ? serial : "0" + serial
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
