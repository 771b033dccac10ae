// Opening a private key that may be encrypted, for everything in ferry that signs: `ferry upload` and `ferry loadtest`
// (the client's key), `ferry ca` (the CA's key).
//
// A passphrase is looked for only once the key turns out to be encrypted, in the order of `PassphraseSources`; the
// first source present is the one used, and a wrong passphrase from it is an error rather than a reason to try the
// next (a file or variable the operator pointed at is not silently passed over). A terminal is asked last, and only
// when standard input is one (PassphraseTerminal.swift): up to three tries, as sudo and ssh give. Without any source
// the message lists the ways to give one.
//
// A key file, or a passphrase file, that group or others may access is used with a warning on stderr: the client runs
// as its user, on their files, and a refusal would only stop them after the fact (ferryd refuses instead:
// Sources/Daemon/Runtime/ServerKey.swift).
import Foundation
import Platform
import Protocol

/// Where the passphrase of an encrypted key may come from, in order of precedence.
struct PassphraseSources: Sendable {
    enum Source: Sendable {
        /// The passphrase itself, already at hand (a key `ferry ca` just wrote, loaded back).
        case given(SecretBytes)
        /// A passphrase file; `origin` says who named it ("--key-passphrase-file", "key_passphrase_file in FILE").
        case file(String, origin: String)
        /// An environment variable holding the passphrase itself.
        case environment(String)
        /// KEY.passphrase beside the key, if it exists (what `ferry ca init` generates without a terminal).
        case besideKey
    }

    var sources: [Source]
    /// The ways to give the passphrase of the key at a path, for the message when it is encrypted and no source has one.
    var ways: @Sendable (String) -> String

    /// The environment variable `ferry upload` and `ferry loadtest` read the key's passphrase from.
    static let environmentVariable = "FERRY_KEY_PASSPHRASE"

    /// The client's key: --key-passphrase-file, then $FERRY_KEY_PASSPHRASE, then client.toml's key_passphrase_file
    /// (command line over environment over file, as for every other setting), then the terminal.
    static func client(file: String?, configuredFile: String?, configuration: String? = nil) -> PassphraseSources {
        var sources: [Source] = []
        if let file { sources.append(.file(file, origin: "--key-passphrase-file")) }
        sources.append(.environment(environmentVariable))
        if let configuredFile {
            sources.append(.file(configuredFile, origin: "key_passphrase_file" + (configuration.map { " in \($0)" } ?? "")))
        }
        return PassphraseSources(sources: sources, ways: { _ in "--key-passphrase-file FILE (or key_passphrase_file in "
            + "client.toml), the environment variable \(environmentVariable), or by typing it: run ferry on a terminal" })
    }

    /// The CA's key: --passphrase-file, then DIR/ca.key.passphrase, then the terminal.
    static func certificateAuthority(file: String?) -> PassphraseSources {
        var sources: [Source] = []
        if let file { sources.append(.file(file, origin: "--passphrase-file")) }
        sources.append(.besideKey)
        return PassphraseSources(sources: sources, ways: { key in "--passphrase-file FILE, the file "
            + "\(PrivateKeyFile.passphrasePath(besideKey: key)) (where ferry ca init puts a passphrase it generates), or by "
            + "typing it: run ferry ca on a terminal" })
    }

    /// A passphrase already known (the CA `ferry ca init` just wrote), else the CA's usual sources.
    static func known(_ passphrase: SecretBytes?) -> PassphraseSources {
        guard let passphrase else { return certificateAuthority(file: nil) }
        return PassphraseSources(sources: [.given(passphrase)], ways: { _ in "" })
    }
}

struct KeyFileError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        /// The key or passphrase file cannot be read, or is not what it should be.
        case unreadable
        /// The key is encrypted and no passphrase was given (none of the sources, or typing it was cancelled).
        case passphraseMissing
        /// The passphrase does not decrypt the key.
        case wrongPassphrase
    }

    let kind: Kind
    let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind }
}

enum PrivateKeyFile {
    /// A PEM key is a few KiB (an encrypted RSA-16384 key about 13 KiB).
    static let maximumSize = 64 * 1024
    /// A passphrase, its newline and a CR.
    static let maximumPassphraseFileSize = Passphrase.maximumLength + 2
    /// Tries at the terminal before a wrong passphrase is an error.
    static let promptAttempts = 3

    /// Where a key's generated passphrase is kept: KEY.passphrase.
    static func passphrasePath(besideKey keyPath: String) -> String { keyPath + ".passphrase" }

    /// Loads the key at `path`, decrypting it with the first passphrase `sources` give when it is encrypted.
    /// `warn` gets one line per file that group or others may access.
    static func load(_ path: String, passphrase sources: PassphraseSources,
                     warn: (String) -> Void = warnOnStandardError) throws(KeyFileError) -> SigningKey {
        let pem = try readSecret(path, limit: maximumSize, what: "private key", warn: warn)
        do throws(CryptoError) {
            return try SigningKey(pem: pem, passphrase: nil)
        } catch where error.kind == .passphraseRequired {
            // Encrypted: find its passphrase below.
        } catch {
            throw KeyFileError(.unreadable, "\(path) is not a PEM private key (\(error))")
        }
        for source in sources.sources {
            let origin: String
            let passphrase: SecretBytes
            switch source {
            case .given(let known):
                passphrase = known
                origin = "given"
            case .file(let file, let named):
                passphrase = try readPassphraseFile(file, warn: warn)
                origin = "from \(file), named by \(named)"
            case .environment(let name):
                guard let value = environmentBytes(name) else { continue }
                passphrase = value
                origin = "from $\(name)"
            case .besideKey:
                let file = passphrasePath(besideKey: path)
                guard FileManager.default.fileExists(atPath: file) else { continue }
                passphrase = try readPassphraseFile(file, warn: warn)
                origin = "from \(file)"
            }
            return try decrypt(pem, path: path, with: passphrase, origin: origin)
        }
        guard let terminal = Terminal.forPrompts else {
            throw KeyFileError(.passphraseMissing, "the private key \(path) is encrypted: give its passphrase with \(sources.ways(path))")
        }
        for attempt in 1...promptAttempts {
            let typed: SecretBytes
            do { typed = try terminal.readPassphrase(prompt: "Passphrase for \(path): ") } catch {
                throw KeyFileError(.passphraseMissing, "the private key \(path) is encrypted and no passphrase was typed: \(error)")
            }
            do throws(CryptoError) {
                return try SigningKey(pem: pem, passphrase: typed)
            } catch where error.kind == .wrongPassphrase && attempt < promptAttempts {
                terminal.say("Wrong passphrase, try again.")
            } catch where error.kind == .wrongPassphrase {
                break
            } catch {
                throw KeyFileError(.unreadable, "\(path) is not a PEM private key (\(error))")
            }
        }
        throw KeyFileError(.wrongPassphrase, "wrong passphrase for \(path) (\(promptAttempts) tries)")
    }

    /// The passphrase in the file at `path` (Passphrase.fromFile: one line, its newline not included).
    static func readPassphraseFile(_ path: String, warn: (String) -> Void = warnOnStandardError) throws(KeyFileError) -> SecretBytes {
        let contents = try readSecret(path, limit: maximumPassphraseFileSize, what: "passphrase file", warn: warn)
        do throws(Passphrase.FileProblem) {
            return try contents.withUnsafeBytes { (bytes) throws(Passphrase.FileProblem) in try Passphrase.fromFile(bytes) }
        } catch {
            throw KeyFileError(.unreadable, "the passphrase file \(path) \(error)")
        }
    }

    /// The warning for a file that group or others may access; nil when only its owner may.
    static func permissionWarning(_ ownership: FileOwnership, path: String, what: String) -> String? {
        guard let who = ownership.accessBeyondOwner else { return nil }
        return "warning: the \(what) \(path) has mode \(ownership.modeText): \(who) may access it; run `chmod 600 \(path)`"
    }

    static func warnOnStandardError(_ line: String) {
        FileHandle.standardError.write(Data("ferry: \(line)\n".utf8))
    }

    // MARK: - Helpers

    private static func decrypt(_ pem: SecretBytes, path: String, with passphrase: SecretBytes,
                                origin: String) throws(KeyFileError) -> SigningKey {
        do throws(CryptoError) {
            return try SigningKey(pem: pem, passphrase: passphrase)
        } catch where error.kind == .wrongPassphrase {
            throw KeyFileError(.wrongPassphrase, "wrong passphrase for \(path) (\(origin))")
        } catch {
            throw KeyFileError(.unreadable, "\(path) is not a PEM private key (\(error))")
        }
    }

    private static func readSecret(_ path: String, limit: Int, what: String,
                                   warn: (String) -> Void) throws(KeyFileError) -> SecretBytes {
        let (bytes, ownership): (SecretBytes, FileOwnership)
        do {
            (bytes, ownership) = try SecretFile.read(path, limit: limit) { (SecretBytes(copying: $0), $1) }
        } catch {
            throw KeyFileError(.unreadable, "cannot read the \(what) at \(path) (\(error))")
        }
        if let warning = permissionWarning(ownership, path: path, what: what) { warn(warning) }
        return bytes
    }

    /// The variable's value, copied straight from the environment block into SecretBytes; nil when unset or empty.
    private static func environmentBytes(_ name: String) -> SecretBytes? {
        guard let value = getenv(name) else { return nil }
        let length = strlen(value)
        guard length > 0 else { return nil }
        return SecretBytes(copying: UnsafeRawBufferPointer(start: value, count: length))
    }
}
