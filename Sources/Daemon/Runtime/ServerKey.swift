// The server's private key as ferryd loads it at start, on reload and in check-config: `[identity] private_key`, its
// passphrase (`private_key_passphrase_file`) when it is encrypted, and who else may read either file.
//
//   read private_key ──(mode check)──► unencrypted? ── yes ──► the key (a passphrase file set anyway: warned, unused)
//                                          │ no
//                                          ▼
//        private_key_passphrase_file set? ── no ──► refused: "is encrypted: give its passphrase with …"
//                                          │ yes
//                                          ▼
//        read it ──(mode check)──► decrypts? ── no ──► refused: "wrong passphrase"
//
// The mode check (`permissionProblem`), the rule PostgreSQL applies to its server key: no permission at all for
// others; none for the group either, except read on a file owned by root when ferryd is not root — that is a grant by
// root to ferryd's group, the arrangement of `install -m 0640 -o root -g ferry` (README), and it keeps the key out of
// reach of the service user's own chmod. A file in $CREDENTIALS_DIRECTORY is checked for others only: systemd writes
// credentials 0400 and gives the service read access with an ACL entry, and stat(2) shows an ACL's mask in the group
// bits (0440), although no group can read the file. With `allow_readable_private_key = true` a file that fails the
// check is used with a warning instead (for setups that manage access otherwise, e.g. a directory nobody else enters).
import FerrydConfig
import Foundation
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct ServerKey {
    /// A PEM key is a few KiB (an encrypted RSA-16384 key about 13 KiB); more is not a key file.
    static let maximumKeyFileSize = 64 * 1024
    /// A passphrase and its newline (Passphrase.maximumLength).
    static let maximumPassphraseFileSize = Passphrase.maximumLength + 2

    let key: SigningKey
    /// Said at start and reload, printed by check-config.
    let warnings: [String]

    /// Loads the key of `identity`, decrypting it with the passphrase file when it is encrypted. `processUser` is the
    /// effective uid the permission rule compares owners with.
    static func load(_ identity: DaemonConfig.IdentitySection, processUser: UInt32 = geteuid(),
                     environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServerKeyError) -> ServerKey {
        var warnings: [String] = []
        let credentials = environment["CREDENTIALS_DIRECTORY"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let keyPath = identity.privateKey.path
        let (pem, keyOwnership) = try readSecret(keyPath, key: "identity.private_key", limit: maximumKeyFileSize)
        warnings += try checkPermissions(keyOwnership, of: keyPath, key: "identity.private_key", what: "a private key",
                                         identity: identity, processUser: processUser, credentials: credentials)
        do throws(CryptoError) {
            let key = try SigningKey(pem: pem, passphrase: nil)
            if let unused = identity.privateKeyPassphraseFile {
                warnings.append("identity.private_key_passphrase_file is set (\(unused.path)) but \(keyPath) is not "
                    + "encrypted: the passphrase is not used")
            }
            return ServerKey(key: key, warnings: warnings)
        } catch where error.kind == .passphraseRequired {
            // Encrypted: on to its passphrase below.
        } catch {
            throw ServerKeyError("identity.private_key: \(keyPath) is not a PEM private key (\(error))")
        }

        guard let passphraseURL = identity.privateKeyPassphraseFile else {
            throw ServerKeyError("identity.private_key: \(keyPath) is encrypted: give its passphrase with "
                + "identity.private_key_passphrase_file (a file holding the passphrase on one line, mode 0600; or a "
                + "systemd credential: LoadCredential=server.key.passphrase:/etc/ferry/server.key.passphrase)")
        }
        let passphrasePath = passphraseURL.path
        let (contents, passphraseOwnership) = try readSecret(passphrasePath, key: "identity.private_key_passphrase_file",
                                                             limit: maximumPassphraseFileSize)
        warnings += try checkPermissions(passphraseOwnership, of: passphrasePath, key: "identity.private_key_passphrase_file",
                                         what: "a passphrase file", identity: identity, processUser: processUser,
                                         credentials: credentials)
        let passphrase: SecretBytes
        do throws(Passphrase.FileProblem) {
            passphrase = try contents.withUnsafeBytes { (bytes) throws(Passphrase.FileProblem) in try Passphrase.fromFile(bytes) }
        } catch {
            throw ServerKeyError("identity.private_key_passphrase_file: \(passphrasePath) \(error)")
        }
        do throws(CryptoError) {
            return ServerKey(key: try SigningKey(pem: pem, passphrase: passphrase), warnings: warnings)
        } catch where error.kind == .wrongPassphrase {
            throw ServerKeyError("identity.private_key_passphrase_file: wrong passphrase for \(keyPath) in "
                + "\(passphrasePath) (or a damaged key file; `openssl pkey -in \(keyPath) -passin file:\(passphrasePath) "
                + "-noout` checks the pair)")
        } catch {
            throw ServerKeyError("identity.private_key: \(keyPath) is not a PEM private key (\(error))")
        }
    }

    /// What is wrong with a file's permissions and how to fix it; nil when `ownership` keeps it private enough for a
    /// key or its passphrase (the rule at the top of this file).
    static func permissionProblem(_ ownership: FileOwnership, path: String, processUser: UInt32,
                                  fromCredentials: Bool) -> (problem: String, fix: String)? {
        let rootGrantsGroupRead = ownership.owner == 0 && processUser != 0 && ownership.mode & 0o030 == 0
        let groupAllowed = fromCredentials || rootGrantsGroupRead || !ownership.groupHasAccess
        guard ownership.othersHaveAccess || !groupAllowed else { return nil }
        let who = groupAllowed ? "others" : (ownership.accessBeyondOwner ?? "others")
        let rootAlternative = ownership.owner == 0 && processUser != 0
            ? " (or `chmod 640 \(path)`: owned by root, it may be readable by ferryd's group)" : ""
        return ("\(path) has mode \(ownership.modeText): \(who) may access it", "run `chmod 600 \(path)`\(rootAlternative)")
    }

    // MARK: - Helpers

    private static func readSecret(_ path: String, key: String, limit: Int) throws(ServerKeyError) -> (SecretBytes, FileOwnership) {
        do {
            return try SecretFile.read(path, limit: limit) { bytes, ownership in (SecretBytes(copying: bytes), ownership) }
        } catch {
            throw ServerKeyError("\(key): \(error)")
        }
    }

    /// Throws when the file fails the permission rule and the operator did not allow it; returns the warning when
    /// they did.
    private static func checkPermissions(_ ownership: FileOwnership, of path: String, key: String, what: String,
                                         identity: DaemonConfig.IdentitySection, processUser: UInt32,
                                         credentials: String?) throws(ServerKeyError) -> [String] {
        let fromCredentials = credentials.map { PathResolution.normalise(path).hasPrefix(PathResolution.normalise($0) + "/") } ?? false
        guard let (problem, fix) = permissionProblem(ownership, path: path, processUser: processUser,
                                                     fromCredentials: fromCredentials) else { return [] }
        if identity.allowReadablePrivateKey {
            return ["\(key): \(problem); used anyway because identity.allow_readable_private_key = true"]
        }
        throw ServerKeyError("\(key): \(problem), and \(what) must be accessible to its owner only: \(fix), or set "
            + "identity.allow_readable_private_key = true to use it anyway")
    }
}

struct ServerKeyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
