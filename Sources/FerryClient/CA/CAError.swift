// Errors of the CA tooling. One struct with a kind (for callers and tests) and a message written for the operator
// (STYLE 12: an extensible error struct built by @inline(never) constructors). The message names the file, argument
// or crypto operation that failed, and never contains key material.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct CAError: Error, Equatable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        /// A bad name, SAN, key type or validity period: the operator's input, fixable on the command line.
        case invalidArgument
        /// ca.key / ca.crt / NAME.key / NAME.crt already exists and overwriting was not asked for.
        case alreadyExists
        /// The CA directory has no usable CA: a file is missing, unreadable, malformed, expired or not a CA.
        case invalidCA
        /// The CA's key is encrypted and no passphrase opened it (none given, a wrong one, typing cancelled), or the
        /// passphrase for a new key could not be had.
        case passphrase
        /// A file system call failed (directory creation, open, write, rename).
        case io
        /// Key generation, signing or PEM encoding failed (Protocol's crypto layer) for a reason that is not the
        /// operator's input.
        case library
    }

    let kind: Kind
    let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }

    /// Errors compare by kind, so that tests need not spell out messages.
    static func == (lhs: CAError, rhs: CAError) -> Bool { lhs.kind == rhs.kind }

    @inline(never)
    static func invalidArgument(_ message: String) -> CAError { CAError(.invalidArgument, message) }

    @inline(never)
    static func invalidCA(_ message: String) -> CAError { CAError(.invalidCA, message) }

    @inline(never)
    static func io(_ operation: String, _ path: String, errno code: Int32) -> CAError {
        CAError(.io, "\(operation) \(path): \(String(cString: strerror(code)))")
    }
}
