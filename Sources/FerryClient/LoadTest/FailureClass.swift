// Which bucket a failure goes in. The split answers "whose fault, and how bad":
//
//   connect    the TCP connect failed (refused, unreachable, no descriptors)
//   handshake  anything that ends a session before the handshake completed: alerts either way (certificates,
//              no common algorithm, too_many_sessions), a close or reset during it, a malformed message
//   integrity  the data was damaged or not what we sent: the receipt's digest is not ours, the daemon's
//              digest_mismatch, bad_record_mac or decrypt_error after the handshake; a get whose bytes do not hash
//              to its header's SHA-256, or whose file is not the one stored
//   timeout    an operation (connect, handshake, one upload, get or list) outlived --timeout, or work left at
//              --max-seconds
//   server     after the handshake: an UploadError other than digest_mismatch, an OperationError, any other alert,
//              an unexpected close, a server without the store's requests when the mix needs them
import Protocol

enum FailureClass: String, CaseIterable, Sendable {
    case connect, handshake, integrity, timeout, server

    /// A protocol error that ended the session (ours or the peer's alert).
    static func of(_ error: ProtocolError, established: Bool) -> FailureClass {
        guard established else { return .handshake }
        switch error.alert {
        case .badRecordMAC, .decryptError: return .integrity
        default: return .server
        }
    }

    /// The connection closed or broke (EOF, ECONNRESET) without an alert.
    static func ofClose(established: Bool) -> FailureClass { established ? .server : .handshake }

    /// An UploadError or OperationError: the session goes on, the operation failed.
    static func of(_ failure: UploadFailure) -> FailureClass {
        failure.code == .digestMismatch ? .integrity : .server
    }
}

/// One failure, counted once in its class; the message may become one of the report's examples.
struct LoadFailure: Equatable, Sendable {
    let kind: FailureClass
    let message: String
    /// The operation in progress when it happened, counted against it in a mixed run's report; nil for what fails a
    /// session outside any operation (connect, handshake, work never started).
    let operation: LoadOperation?

    init(_ kind: FailureClass, _ message: String, operation: LoadOperation? = nil) {
        self.kind = kind
        self.message = message
        self.operation = operation
    }
}
