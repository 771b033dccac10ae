// StallWatch, the client's timeouts as a pure machine: each phase expires at its own limit, bytes moving reset the
// progress timeout (not the connect or handshake ones), the wait for a commit gets the size-based extension, and
// hashing a resumed prefix counts as progress.
import XCTest

@testable import Client
@testable import FerryClient

final class StallWatchTests: XCTestCase {
    private let timeouts = ClientTimeouts(connect: 10, handshake: 20, progress: 60)
    private func at(_ seconds: UInt64) -> UInt64 { 1_000_000_000_000 + seconds * 1_000_000_000 }

    func testConnectAndHandshakeExpireAtTheirLimitsWhateverMoves() {
        var watch = StallWatch(phase: .connecting(since: at(0)), timeouts: timeouts)
        XCTAssertNil(watch.check(now: at(9), moved: 0, committingSize: nil, hashingLocally: false))
        XCTAssertEqual(watch.check(now: at(10), moved: 0, committingSize: nil, hashingLocally: false), .connect)
        watch.phase = .handshaking(since: at(10))
        XCTAssertNil(watch.check(now: at(29), moved: 500, committingSize: nil, hashingLocally: false))
        guard case .end(let message)? = watch.check(now: at(30), moved: 900, committingSize: nil, hashingLocally: false) else {
            return XCTFail("the handshake timeout did not expire")
        }
        XCTAssertTrue(message.contains("within 20 s (--handshake-timeout)"), message)
    }

    func testBytesMovingKeepAnEstablishedSessionAlive() {
        var watch = StallWatch(phase: .flowing(mark: 0, since: at(0)), timeouts: timeouts)
        for second in stride(from: UInt64(30), through: 300, by: 30) {
            XCTAssertNil(watch.check(now: at(second), moved: second, committingSize: nil, hashingLocally: false),
                         "gave up at \(second) s although bytes moved")
        }
        XCTAssertNil(watch.check(now: at(359), moved: 300, committingSize: nil, hashingLocally: false))
        guard case .end(let message)? = watch.check(now: at(360), moved: 300, committingSize: nil, hashingLocally: false)
        else { return XCTFail("60 s without a byte did not expire") }
        XCTAssertTrue(message.contains("no data moved for 60 s (--timeout)"), message)
    }

    func testTheCommitWaitGrowsWithTheFileAndAPrefixBeingHashedIsProgress() {
        let size: UInt64 = 10_000_000_000  // 10 GB: 200 s more for the server to make it durable
        XCTAssertEqual(timeouts.commitWait(size: size), 260)
        var watch = StallWatch(phase: .flowing(mark: 7, since: at(0)), timeouts: timeouts)
        XCTAssertNil(watch.check(now: at(259), moved: 7, committingSize: size, hashingLocally: false))
        XCTAssertNotNil(watch.check(now: at(260), moved: 7, committingSize: size, hashingLocally: false))

        watch.phase = .flowing(mark: 7, since: at(0))
        XCTAssertNil(watch.check(now: at(100), moved: 7, committingSize: nil, hashingLocally: true))
        XCTAssertNil(watch.check(now: at(159), moved: 7, committingSize: nil, hashingLocally: false), "hashing reset it")
        XCTAssertNotNil(watch.check(now: at(160), moved: 7, committingSize: nil, hashingLocally: false))
        watch.phase = nil
        XCTAssertNil(watch.check(now: at(10_000), moved: 7, committingSize: nil, hashingLocally: false), "ended")
    }
}
