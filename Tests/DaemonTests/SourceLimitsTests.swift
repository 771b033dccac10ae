import Foundation
import Logging
import XCTest

@testable import Daemon

/// SourceLimits: the token bucket, the concurrent limits, IPv6 /64 grouping, giving slots back, forgetting idle sources.
final class SourceLimitsTests: XCTestCase {
    private let settings = SourceLimits.Settings(maxHandshaking: 3, maxSessions: 5, ratePerSecond: 10, burst: 4)
    private let alice: [UInt8] = [192, 0, 2, 1]
    private let bob: [UInt8] = [192, 0, 2, 2]
    private let second: UInt64 = 1_000_000_000

    func testTheBurstThenTheRate() {
        let limits = SourceLimits()
        let wide = SourceLimits.Settings(maxHandshaking: 100, maxSessions: 100, ratePerSecond: 10, burst: 4)
        for _ in 0..<4 { XCTAssertNil(limits.admit(alice, now: second, settings: wide)) }
        XCTAssertEqual(limits.admit(alice, now: second, settings: wide), .sourceRate, "the burst is spent")
        XCTAssertNil(limits.admit(bob, now: second, settings: wide), "another source has its own bucket")
        XCTAssertEqual(limits.admit(alice, now: second + 50_000_000, settings: wide), .sourceRate, "half a token in 50 ms")
        XCTAssertNil(limits.admit(alice, now: second + 100_000_000, settings: wide), "one token per 100 ms at 10/s")
        XCTAssertEqual(limits.admit(alice, now: second + 100_000_000, settings: wide), .sourceRate)
        for _ in 0..<4 { XCTAssertNil(limits.admit(alice, now: 100 * second, settings: wide), "refilled to the burst, no more") }
        XCTAssertEqual(limits.admit(alice, now: 100 * second, settings: wide), .sourceRate)
    }

    func testConcurrentHandshakesAndSessions() {
        let limits = SourceLimits()
        var now = second
        func admit() -> SourceLimits.Refusal? {
            now += second  // never short of tokens here
            return limits.admit(alice, now: now, settings: settings)
        }
        for _ in 0..<3 { XCTAssertNil(admit()) }
        XCTAssertEqual(admit(), .sourceHandshakes)
        for _ in 0..<3 { limits.authenticated(alice) }
        XCTAssertNil(admit())
        XCTAssertNil(admit())
        XCTAssertEqual(admit(), .sourceSessions, "3 sessions + 2 handshaking = 5")
        limits.ended(alice, authenticated: true)
        XCTAssertNil(admit(), "a slot given back")
        limits.ended(alice, authenticated: false)
        limits.ended(alice, authenticated: false)
        limits.ended(alice, authenticated: false)
        limits.ended(alice, authenticated: false)  // more ends than admits: never below zero
        XCTAssertNil(admit())
    }

    func testIPv6AddressesCountByTheirSlash64() {
        let limits = SourceLimits()
        let wide = SourceLimits.Settings(maxHandshaking: 100, maxSessions: 100, ratePerSecond: 1, burst: 2)
        var address = [UInt8](repeating: 0, count: 16)
        address[0] = 0x20
        address[1] = 0x01
        for host in 0..<2 {
            address[15] = UInt8(host)
            XCTAssertNil(limits.admit(address, now: second, settings: wide))
        }
        address[15] = 99
        XCTAssertEqual(limits.admit(address, now: second, settings: wide), .sourceRate, "another host of the same /64")
        address[7] = 1
        XCTAssertNil(limits.admit(address, now: second, settings: wide), "another /64")
        XCTAssertEqual(SourceLimits.key([10, 0, 0, 1]), [10, 0, 0, 1])
    }

    func testIdleSourcesAreForgottenUnderManyAddresses() {
        let limits = SourceLimits()
        for index in 0..<(SourceLimits.sweepThreshold + 10) {
            let address: [UInt8] = [10, UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
            XCTAssertNil(limits.admit(address, now: second, settings: settings))
            limits.ended(address, authenticated: false)
        }
        XCTAssertGreaterThan(limits.trackedSources, SourceLimits.sweepThreshold)
        _ = limits.admit(alice, now: 100 * second, settings: settings)  // every bucket has refilled: all idle
        XCTAssertEqual(limits.trackedSources, 1)
    }

    func testRateLimitedLogSaysHowManyItLeftOut() {
        final class Lines: @unchecked Sendable { var items: [(String, Logger.Metadata)] = [] }
        let lines = Lines()
        let logger = Logger(label: "test") { _ in CapturingHandler { lines.items.append(($0, $1)) } }
        let log = RateLimitedLog(periodSeconds: 10)
        for offset: UInt64 in [0, 1, 2, 3] { log.log(logger, .warning, kind: "a", "refused", metadata: [:], now: offset * second) }
        log.log(logger, .warning, kind: "b", "other", metadata: [:], now: 4 * second)
        log.log(logger, .warning, kind: "a", "refused", metadata: ["peer": "x"], now: 11 * second)
        XCTAssertEqual(lines.items.map(\.0), ["refused", "other", "refused"])
        XCTAssertEqual(lines.items.last?.1["suppressed"], "3")
        XCTAssertEqual(lines.items.last?.1["peer"], "x")
    }
}
