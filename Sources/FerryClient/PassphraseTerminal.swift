// Typing a passphrase: the controlling terminal, with nothing echoed, and only when a person is there.
//
// ferry prompts only when its standard input is a terminal. A script, a cron job or a CI run (stdin a pipe or
// /dev/null) never waits for an answer that cannot come: it fails at once with the ways to give the passphrase. The
// prompt itself goes to /dev/tty (not stdout, which may be a pipe to `jq`), and the answer is read from there.
//
// Reading is byte by byte with the line discipline's echo, canonical mode and signal characters off (as OpenSSH's
// readpassphrase does with echo): backspace, Ctrl-U (erase all), Enter, and Ctrl-C or Ctrl-D (cancel) are handled here.
// With ISIG off, Ctrl-C arrives as a byte rather than a signal, so it cannot end ferry while echo is off and leave
// the terminal mute; the saved settings are restored before the function returns, whatever happens. The typed bytes
// stay in one buffer that is zeroed when it is freed; the passphrase leaves as SecretBytes.
//
// Tests replace the terminal with `PassphraseTerminal.$replacement` (a task-local, so no global state): `.absent` for
// code run in process by a test runner that may have a terminal, `.scripted` for answers given in advance. The real
// one is exercised under a pseudo-terminal (`script`).
import Foundation
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where passphrases are typed.
protocol PassphraseTerminal: Sendable {
    /// Shows `prompt` and reads one line without echo.
    func readPassphrase(prompt: String) throws(PromptError) -> SecretBytes
    /// Tells the person at the terminal something ("the passphrases differ").
    func say(_ line: String)
}

struct PromptError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What tests put in place of the controlling terminal.
enum TerminalReplacement: Sendable {
    /// As if standard input were not a terminal.
    case absent
    /// A terminal that answers from a list.
    case scripted(any PassphraseTerminal)
}

enum Terminal {
    @TaskLocal static var replacement: TerminalReplacement?

    /// The terminal to prompt on: the controlling terminal when standard input is one; nil in scripts.
    static var forPrompts: (any PassphraseTerminal)? {
        switch replacement {
        case .absent: return nil
        case .scripted(let terminal): return terminal
        case nil: return isatty(STDIN_FILENO) == 1 ? ControllingTerminal() : nil
        }
    }
}

/// /dev/tty.
struct ControllingTerminal: PassphraseTerminal {
    func readPassphrase(prompt: String) throws(PromptError) -> SecretBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw PromptError("cannot open the terminal (/dev/tty): \(String(cString: strerror(errno)))") }
        defer { _ = close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else {
            throw PromptError("cannot read the terminal's settings: \(String(cString: strerror(errno)))")
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        withUnsafeMutableBytes(of: &quiet.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // Echo goes off before the prompt is shown: nothing typed after the prompt appears can be echoed.
        guard tcsetattr(fd, TCSANOW, &quiet) == 0 else {
            throw PromptError("cannot turn the terminal's echo off: \(String(cString: strerror(errno)))")
        }
        defer {
            _ = tcsetattr(fd, TCSANOW, &saved)
            show(fd, "\n")  // the Enter that was not echoed
        }
        show(fd, prompt)
        return try readLine(fd)
    }

    func say(_ line: String) {
        let fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return }
        show(fd, line + "\n")
        _ = close(fd)
    }

    /// One line of bytes up to Enter, with backspace and Ctrl-U applied; Ctrl-C, or Ctrl-D or end of input on an
    /// empty line, cancels.
    private func readLine(_ fd: Int32) throws(PromptError) -> SecretBytes {
        let capacity = Passphrase.maximumLength
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer {
            if let base = buffer.baseAddress { _ = memset(base, 0, capacity) }
            buffer.deallocate()
        }
        var count = 0
        var overflow = false
        var byte: UInt8 = 0
        while true {
            let got = read(fd, &byte, 1)
            if got < 0, errno == EINTR { continue }
            if got <= 0 { throw PromptError("the terminal closed before a passphrase was typed") }
            switch byte {
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                guard !overflow else { throw PromptError("that passphrase is longer than \(capacity) bytes") }
                return SecretBytes(copying: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            case 0x03:  // Ctrl-C
                throw PromptError("cancelled at the passphrase prompt")
            case 0x04:  // Ctrl-D: end of input on an empty line, ignored otherwise (as a shell does)
                if count == 0 { throw PromptError("cancelled at the passphrase prompt") }
            case 0x7F, 0x08:  // backspace: one character, i.e. a UTF-8 lead byte and its continuation bytes
                while count > 0 {
                    count -= 1
                    if buffer[count] & 0xC0 != 0x80 { break }
                }
                buffer[count] = 0
            case 0x15:  // Ctrl-U
                if let base = buffer.baseAddress { _ = memset(base, 0, count) }
                count = 0
                overflow = false
            default:
                if count < capacity {
                    buffer[count] = byte
                    count += 1
                } else {
                    overflow = true
                }
            }
        }
    }

    /// Writes `text` to the terminal (prompts and newlines: nothing secret), best effort.
    private func show(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                buffer.baseAddress.map { write(fd, $0 + offset, buffer.count - offset) } ?? 0
            }
            if written < 0, errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
