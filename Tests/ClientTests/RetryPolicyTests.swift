// RetryPolicy and RetryBudget, the retry decisions of `ferry upload` as pure types (issue #15, point 4): which failures
// are retried, the backoff's ceilings and full jitter (with the random source injected), and the count of retries that
// progress resets.
import Protocol
import XCTest

@testable import Client
@testable import FerryClient

final class RetryPolicyTests: XCTestCase {
    private func failure(_ kind: SessionFailure.Kind) -> SessionFailure { SessionFailure(kind, "why") }

    func testWhatIsRetried() {
        let retried: [SessionFailure.Kind] = [
            .resolverUnavailable, .cannotConnect, .connectionLost, .timedOut, .busy,
            .alert(.tooManySessions, byServer: true), .alert(.closedByPeer, byServer: true),
        ]
        for kind in retried { XCTAssertTrue(RetryPolicy.isRetryable(failure(kind)), "\(kind) is not retried") }

        var final: [SessionFailure.Kind] = [.unresolvable, .local]
        // Every other alert is a refusal (a certificate, a handshake) or a failed check, from either side; and the
        // retryable ones only when the server sent them (ours say our own check failed).
        for code in AlertCode.allCases {
            if code != .tooManySessions && code != .closedByPeer { final.append(.alert(code, byServer: true)) }
            final.append(.alert(code, byServer: false))
        }
        for kind in final { XCTAssertFalse(RetryPolicy.isRetryable(failure(kind)), "\(kind) is retried") }
    }

    func testCeilingsDoubleFromOneSecondUpToThirty() {
        XCTAssertEqual((1...8).map { RetryPolicy.ceiling(retry: $0) }, [1, 2, 4, 8, 16, 30, 30, 30])
        XCTAssertEqual(RetryPolicy.ceiling(retry: 1_000_000), 30, "a large retry number neither overflows nor exceeds the cap")
        // The default retries wait about a minute at most in all.
        let total = (1...RetryPolicy.defaultRetries).map { RetryPolicy.ceiling(retry: $0) }.reduce(0, +)
        XCTAssertEqual(total, 61)
    }

    func testFullJitterSpansZeroToTheCeiling() {
        XCTAssertEqual(RetryPolicy.delay(retry: 3, unitRandom: { 0 }), 0)
        XCTAssertEqual(RetryPolicy.delay(retry: 3, unitRandom: { 0.5 }), 2)
        XCTAssertEqual(RetryPolicy.delay(retry: 3, unitRandom: { 0.999 }), 3.996, accuracy: 1e-9)
        XCTAssertEqual(RetryPolicy.delay(retry: 9, unitRandom: { 0.25 }), 7.5)
        // A source outside [0, 1) cannot push the delay outside [0, ceiling].
        XCTAssertEqual(RetryPolicy.delay(retry: 2, unitRandom: { -3 }), 0)
        XCTAssertEqual(RetryPolicy.delay(retry: 2, unitRandom: { 7 }), 2)
        // With the real source every delay stays within its bounds.
        for retry in 1...10 {
            let delay = RetryPolicy.delay(retry: retry, unitRandom: { Double.random(in: 0..<1) })
            XCTAssertTrue((0...RetryPolicy.ceiling(retry: retry)).contains(delay), "retry \(retry): \(delay)")
        }
    }

    func testTheBudgetCountsRetriesUntilProgressResetsIt() {
        var budget = RetryBudget(policy: RetryPolicy(retries: 3))
        let lost = failure(.connectionLost)
        XCTAssertEqual(budget.retriesLeft, 3)
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .retry(number: 1, delay: 0.5))
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .retry(number: 2, delay: 1))
        XCTAssertEqual(budget.retriesLeft, 1)
        budget.progressed()
        XCTAssertEqual(budget.retriesLeft, 3, "progress starts the count again")
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .retry(number: 1, delay: 0.5))
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .retry(number: 2, delay: 1))
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .retry(number: 3, delay: 2))
        XCTAssertEqual(budget.failed(lost, unitRandom: { 0.5 }), .giveUp, "no retries left")
        XCTAssertEqual(budget.failures, 3, "giving up does not count")
    }

    func testAFailureThatIsNotRetryableGivesUpAtOnceAndSpendsNothing() {
        var budget = RetryBudget(policy: RetryPolicy(retries: 6))
        XCTAssertEqual(budget.failed(failure(.alert(.unknownCA, byServer: true)), unitRandom: { 0 }), .giveUp)
        XCTAssertEqual(budget.failed(failure(.unresolvable), unitRandom: { 0 }), .giveUp)
        XCTAssertEqual(budget.retriesLeft, 6)
    }

    func testZeroRetriesNeverRetries() {
        var budget = RetryBudget(policy: RetryPolicy(retries: 0))
        XCTAssertEqual(RetryPolicy(retries: 0).attempts, 1)
        XCTAssertEqual(budget.failed(failure(.cannotConnect), unitRandom: { 0 }), .giveUp)
        XCTAssertEqual(budget.failed(failure(.busy), unitRandom: { 0 }), .giveUp)
    }

    func testDefaultsAndTheirRange() {
        XCTAssertEqual(RetryPolicy().retries, 6)
        XCTAssertEqual(RetryPolicy().attempts, 7)
        XCTAssertTrue(RetryPolicy.range.contains(0))
        XCTAssertTrue(RetryPolicy.range.contains(RetryPolicy.defaultRetries))
    }
}
