// When `ferry upload` tries again, and how long it waits first (issue #15, point 4). Pure: UploadEngine performs it.
//
// Retried — what a later attempt can get past: a connection that could not be made or broke (refused, reset, the server
// closing or saying Goodbye with work left, as a restarted or draining ferryd does), one of the client's timeouts, a
// resolver that did not answer, the server at its session limit or closing the session itself, and UploadError busy.
// Not retried — what would fail the same way again: a name that does not exist, a certificate or handshake refusal
// (any other alert, from the server or from our own checks), and every other UploadError (bad_path, exists,
// too_large, no_space, permission_denied, storage_failure). A digest_mismatch after a resume is the one UploadError
// the engine tries again, once and at once (the server dropped its prefix): that is a new start, not a backoff.
//
// Backoff: exponential with full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015): retry n waits
// a uniform random time in [0, min(maxDelay, baseDelay · 2^(n-1))]: ceilings 1, 2, 4, 8, 16, 30 s, so the default six
// retries wait at most 61 s in all (half that on average). The jitter keeps the clients a restarted server lost from
// coming back in step.
//
// Who counts: each session slot (UploadEngine keeps `--parallel` of them) has its own RetryBudget, the failures since
// its last progress: a file committed, or the server accepting a file at a larger offset than before (it kept what
// was sent). So a server that keeps coming back and making progress is never given up on, and one that does not is
// given up after `retries` tries.
struct RetryPolicy: Equatable, Sendable {
    /// Tries after the first; 0 disables retrying.
    var retries: Int

    static let defaultRetries = 6
    static let range = 0...100
    static let baseDelay = 1.0
    static let maxDelay = 30.0

    init(retries: Int = RetryPolicy.defaultRetries) { self.retries = retries }

    /// The first try and every retry.
    var attempts: Int { retries + 1 }

    /// The longest wait before retry `n` (1-based).
    static func ceiling(retry n: Int) -> Double {
        // 2^(n-1) overflows nothing below the cap: the exponent stops growing once the cap is reached.
        let exponent = min(max(n - 1, 0), 16)
        return min(maxDelay, baseDelay * Double(1 << exponent))
    }

    /// The wait before retry `n`: `unitRandom` returns a number in [0, 1) (injectable, for tests).
    static func delay(retry n: Int, unitRandom: () -> Double) -> Double {
        let unit = min(max(unitRandom(), 0), 1)
        return ceiling(retry: n) * unit
    }

    /// Whether another attempt can get past `failure` (see the list at the top).
    static func isRetryable(_ failure: SessionFailure) -> Bool {
        switch failure.kind {
        case .resolverUnavailable, .cannotConnect, .connectionLost, .timedOut, .busy:
            true
        case .alert(let code, let byServer):
            // The server at its session limit, or ending the session itself (idle timeout, shutdown): it will take a
            // new one. Every other alert is a refusal or a check that failed, and would fail again.
            byServer && (code == .tooManySessions || code == .closedByPeer)
        case .unresolvable, .local:
            false
        }
    }
}

/// One session slot's failures since its last progress, and what to do after the next one.
struct RetryBudget: Equatable, Sendable {
    enum Decision: Equatable, Sendable {
        /// Retry number `number` (1-based), after `delay` seconds.
        case retry(number: Int, delay: Double)
        /// Not retryable, or no retries left.
        case giveUp
    }

    let policy: RetryPolicy
    private(set) var failures = 0

    init(policy: RetryPolicy) { self.policy = policy }

    /// Retries left before the slot gives up.
    var retriesLeft: Int { max(policy.retries - failures, 0) }

    /// Records `failure`; says whether to retry, and after how long.
    mutating func failed(_ failure: SessionFailure, unitRandom: () -> Double) -> Decision {
        guard RetryPolicy.isRetryable(failure), retriesLeft > 0 else { return .giveUp }
        failures += 1
        return .retry(number: failures, delay: RetryPolicy.delay(retry: failures, unitRandom: unitRandom))
    }

    /// The slot got somewhere: the next failure starts the count again.
    mutating func progressed() { failures = 0 }
}
