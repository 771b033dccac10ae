// Why a session of `ferry upload` ended before its work was done: what the user reads (`message`), and the kind of
// failure the retry policy decides on (RetryPolicy.isRetryable), so the decision never depends on the wording.
import Protocol

struct SessionFailure: Equatable, Sendable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        /// The server's name does not resolve, and asking again will not change that: no such name (EAI_NONAME,
        /// EAI_NODATA) or a resolver failing for good (EAI_FAIL and the rest).
        case unresolvable
        /// The resolver did not answer in time (EAI_AGAIN): it may next time.
        case resolverUnavailable
        /// No address accepted the connection (refused, unreachable, the connect timeout).
        case cannotConnect
        /// The connection broke: reset, closed by the server, or the server's Goodbye while work was left.
        case connectionLost
        /// The handshake or progress timeout (ClientTimeouts) expired.
        case timedOut
        /// The session ended on an alert: sent by the server (`byServer`) or by us (a check of ours failed).
        case alert(AlertCode, byServer: Bool)
        /// The server answered Open with UploadError(busy): another session holds the file, or it is draining.
        case busy
        /// Something in this client went wrong (a bug, or a resource it could not get).
        case local
    }

    let kind: Kind
    let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var description: String { message }

    /// The failure a session ends with on a protocol error: the server's alert, or the one we sent.
    static func from(_ error: ProtocolError, advice: CertificateAdvice? = nil) -> SessionFailure {
        let kind = Kind.alert(error.alert, byServer: error.origin == .peer)
        if let advice, let text = advice.explain(error) { return SessionFailure(kind, text) }
        var text = error.origin == .peer ? "the server refused the session: \(error.alert.name)" : "\(error.alert.name)"
        // A detail that only repeats the alert's name (an alert without a reason of its own) is not said twice.
        if !error.detail.isEmpty, error.detail != error.alert.name { text += " (\(error.detail))" }
        return SessionFailure(kind, text)
    }
}
