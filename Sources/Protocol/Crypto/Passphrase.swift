// Passphrases of encrypted private keys: what a passphrase file holds, and strong ones made for the operator.
//
// A passphrase file (ferryd's `private_key_passphrase_file`, a systemd credential, `ferry --key-passphrase-file`,
// `ferry ca … --passphrase-file`, the `KEY.passphrase` files `ferry ca` writes) holds the passphrase on one line. One
// trailing newline (LF or CRLF) is not part of it: `echo secret > file` and editors add one. The rules are those of
// `openssl … -passin file:FILE`, so the same file opens the key with both tools: OpenSSL takes the first line, so a
// second line (which OpenSSL would silently ignore) is refused rather than guessed at; so is a NUL byte (OpenSSL's
// C strings would end there) and an empty passphrase.
//
// A generated passphrase is 32 bytes from OpenSSL's CSPRNG (256 bits, as the AES-256 key it protects), written as
// base64url without padding (RFC 4648 §5): 43 characters that survive any shell, editor or copy and paste.
//
// Both stay in SecretBytes (zeroed when dropped) from the file's bytes on: never a Swift String.

public enum Passphrase {
    /// The longest passphrase accepted: OpenSSL's password callback buffer (PEM_BUFSIZE) holds 1024 bytes.
    public static let maximumLength = 1024
    /// Random bytes in a generated passphrase.
    public static let generatedEntropyBytes = 32

    /// Why a passphrase file's contents are not a passphrase (the caller names the file).
    public enum FileProblem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case severalLines
        case nulByte
        case tooLong

        public var description: String {
            switch self {
            case .empty: "is empty: it must hold the passphrase"
            case .severalLines: "holds more than one line: a passphrase file holds the passphrase alone, on one line "
                + "(openssl -passin file: would take only the first)"
            case .nulByte: "holds a NUL byte, which no passphrase can contain"
            case .tooLong: "holds more than \(Passphrase.maximumLength) bytes, more than OpenSSL takes as a passphrase"
            }
        }
    }

    /// The passphrase in a file's `contents`: everything but one trailing LF or CRLF.
    public static func fromFile(_ contents: UnsafeRawBufferPointer) throws(FileProblem) -> SecretBytes {
        var end = contents.count
        if end > 0, contents[end - 1] == UInt8(ascii: "\n") {
            end -= 1
            if end > 0, contents[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        }
        let line = UnsafeRawBufferPointer(rebasing: contents[..<end])
        guard !line.isEmpty else { throw .empty }
        guard !line.contains(UInt8(ascii: "\n")) else { throw .severalLines }
        guard !line.contains(0) else { throw .nulByte }
        guard line.count <= maximumLength else { throw .tooLong }
        return SecretBytes(copying: line)
    }

    /// A new passphrase: `generatedEntropyBytes` random bytes as base64url, no padding (43 characters).
    public static func generate() -> SecretBytes {
        let random = SecretBytes(zeroedCount: generatedEntropyBytes)
        random.withUnsafeMutableBytes { fillRandom($0) }
        return random.withUnsafeBytes { base64URL($0) }
    }

    /// `passphrase` followed by a newline: the contents of a passphrase file (`fromFile` gives the passphrase back).
    public static func fileContents(_ passphrase: SecretBytes) -> SecretBytes {
        let contents = SecretBytes(zeroedCount: passphrase.count + 1)
        contents.withUnsafeMutableBytes { out in
            passphrase.withUnsafeBytes { out.copyMemory(from: $0) }
            out[passphrase.count] = UInt8(ascii: "\n")
        }
        return contents
    }

    /// Base64url without padding, written straight into a SecretBytes.
    private static func base64URL(_ bytes: UnsafeRawBufferPointer) -> SecretBytes {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let length = (bytes.count * 8 + 5) / 6
        let text = SecretBytes(zeroedCount: length)
        text.withUnsafeMutableBytes { out in
            var bits: UInt32 = 0
            var held = 0
            var next = 0
            for byte in bytes {
                bits = (bits << 8) | UInt32(byte)
                held += 8
                while held >= 6 {
                    held -= 6
                    out[next] = alphabet[Int((bits >> UInt32(held)) & 0x3F)]
                    next += 1
                }
            }
            if held > 0 {
                out[next] = alphabet[Int((bits << UInt32(6 - held)) & 0x3F)]
                next += 1
            }
            bits = 0
        }
        return text
    }
}
