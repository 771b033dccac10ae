// How `ferry ca` writes a new private key (the CA's, or a leaf's with `issue --encrypt`), and the files that go with
// it: KEY (0600), its certificate (0644) and, for a generated passphrase, KEY.passphrase (0600).
//
//   .none                 PKCS#8 "PRIVATE KEY", as ferry ca wrote every key before (and `--no-encrypt` still does)
//   .passphrase(p)        PKCS#8 "ENCRYPTED PRIVATE KEY" under a passphrase a person chose, typed twice or read from a
//                         file: PBKDF2 600 000 iterations (Protocol's KeyEncryptionWork.chosenPassphrase)
//   .generatedPassphrase  the same under 32 random bytes (base64url), written to KEY.passphrase: 10 000 iterations,
//                         since a 256-bit passphrase cannot be guessed (KeyEncryptionWork.generatedPassphrase)
//
// Every file is staged first (StagedFile: O_EXCL, final mode from the first byte, fsync), then committed in the order
// passphrase, key, certificate: a key never appears without the passphrase that opens it, nor a certificate without
// its key. A failure part way removes what this call put in place (unless it was replacing files, where the old ones
// are gone already). Replacing (--force) without a generated passphrase removes a KEY.passphrase left from before, so
// that `ferry ca issue` never tries a stale passphrase on a new key.
import Foundation
import Protocol

enum KeyEncryption: Sendable {
    case none
    case passphrase(SecretBytes)
    case generatedPassphrase

    var isEncrypted: Bool {
        if case .none = self { return false }
        return true
    }
}

/// What `writeKeyFiles` wrote.
struct WrittenKeyFiles {
    /// The passphrase of the key, when it is encrypted (to load the key back without asking).
    let passphrase: SecretBytes?
    /// KEY.passphrase, when a passphrase was generated.
    let passphrasePath: String?
}

extension CertificateAuthority {
    /// Writes `key` (encrypted as `encryption` says), its passphrase file if generated, and `certificate`.
    static func writeKeyFiles(key: SigningKey, encryption: KeyEncryption, certificate: Certificate, keyPath: String,
                              certificatePath: String, replacing: Bool) throws(CAError) -> WrittenKeyFiles {
        let passphrasePath = PrivateKeyFile.passphrasePath(besideKey: keyPath)
        let keyPEM: SecretBytes
        let certificatePEM: [UInt8]
        var passphrase: SecretBytes?
        var passphraseFile: SecretBytes?
        do {
            switch encryption {
            case .none:
                keyPEM = try key.pkcs8PEM()
            case .passphrase(let chosen):
                keyPEM = try key.pkcs8PEM(passphrase: chosen, work: .chosenPassphrase)
                passphrase = chosen
            case .generatedPassphrase:
                let generated = Passphrase.generate()
                keyPEM = try key.pkcs8PEM(passphrase: generated, work: .generatedPassphrase)
                passphrase = generated
                passphraseFile = Passphrase.fileContents(generated)
            }
            certificatePEM = try certificate.pem()
        } catch {
            throw CAError(.library, "cannot write PEM: \(error)")
        }

        var staged: [StagedFile] = []
        do throws(CAError) {
            if let passphraseFile {
                staged.append(try passphraseFile.withUnsafeBytes { (bytes) throws(CAError) in
                    try StagedFile.stage(bytes, at: passphrasePath, mode: 0o600)
                })
            }
            staged.append(try keyPEM.withUnsafeBytes { (pem) throws(CAError) in try StagedFile.stage(pem, at: keyPath, mode: 0o600) })
            staged.append(try StagedFile.stage(certificatePEM, at: certificatePath, mode: 0o644, exactMode: true))
        } catch {
            for file in staged { file.discard() }
            throw error
        }
        try commitInOrder(staged, replacing: replacing)
        if replacing, passphraseFile == nil, unlink(passphrasePath) != 0, errno != ENOENT {
            throw CAError.io("cannot remove the stale passphrase file", passphrasePath, errno: errno)
        }
        return WrittenKeyFiles(passphrase: passphrase, passphrasePath: passphraseFile == nil ? nil : passphrasePath)
    }

    /// Commits `staged` one after the other. When one fails, the rest are discarded and, unless replacing, the ones
    /// already committed are removed again (they were new; with replacing, the old files are gone and the error says
    /// which one is missing).
    private static func commitInOrder(_ staged: [StagedFile], replacing: Bool) throws(CAError) {
        for (index, file) in staged.enumerated() {
            do throws(CAError) {
                try file.commit(replacing: replacing)
            } catch {
                for later in staged[(index + 1)...] { later.discard() }
                if !replacing { for earlier in staged[..<index] { _ = unlink(earlier.finalPath) } }
                throw error
            }
        }
    }
}
