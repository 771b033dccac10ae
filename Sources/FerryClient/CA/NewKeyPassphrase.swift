// The passphrase of a key `ferry ca` is about to write (`init`, `issue --encrypt`): from a file when one is named,
// typed twice on the terminal when there is one, generated when there is none.
//
// Generated rather than refused without a terminal, so that scripts (scripts/demo, CI, the tests) that ran
// `ferry ca init` before keys were encrypted keep working unchanged and still get an encrypted key; the command says
// where the passphrase went. A passphrase a person supplies must be at least 8 bytes (NIST SP 800-63B §5.1.1.2's
// floor for a memorized secret): shorter ones fall to a search whatever the iteration count. Only new keys are held
// to that; an existing key opens with whatever passphrase it has.
import Foundation
import Protocol

enum NewKeyPassphrase {
    static let minimumLength = 8
    /// Rounds of "type it, type it again" before giving up.
    static let promptAttempts = 3

    /// How to encrypt the new key at `keyPath`: with the passphrase in `file` (named by `option`), else one typed twice
    /// on the terminal, else a generated one.
    static func choose(file: String?, option: String, keyPath: String) throws(CAError) -> KeyEncryption {
        if let file {
            let passphrase: SecretBytes
            do { passphrase = try PrivateKeyFile.readPassphraseFile(file) } catch {
                throw CAError(.passphrase, "\(option): \(error)")
            }
            guard passphrase.count >= minimumLength else {
                throw CAError(.passphrase, "\(option): the passphrase in \(file) has \(passphrase.count) bytes; a new key "
                    + "needs at least \(minimumLength)")
            }
            return .passphrase(passphrase)
        }
        guard let terminal = Terminal.forPrompts else { return .generatedPassphrase }
        for _ in 1...promptAttempts {
            let first = try read(terminal, "Passphrase for the new key \(keyPath): ")
            guard first.count >= minimumLength else {
                terminal.say(first.count == 0
                    ? "An empty passphrase would not encrypt anything: type one (or see --help for an unencrypted key)."
                    : "That is \(first.count) bytes; a passphrase needs at least \(minimumLength).")
                continue
            }
            let second = try read(terminal, "The same passphrase again: ")
            guard same(first, second) else {
                terminal.say("The two passphrases differ; once more.")
                continue
            }
            return .passphrase(first)
        }
        throw CAError(.passphrase, "no passphrase for \(keyPath) after \(promptAttempts) tries: give one with \(option), or "
            + "run without a terminal to have one generated")
    }

    private static func read(_ terminal: any PassphraseTerminal, _ prompt: String) throws(CAError) -> SecretBytes {
        do { return try terminal.readPassphrase(prompt: prompt) } catch { throw CAError(.passphrase, error.description) }
    }

    /// Byte equality of two typed passphrases (both are the typist's own: no timing to hide from anyone).
    private static func same(_ a: SecretBytes, _ b: SecretBytes) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}
