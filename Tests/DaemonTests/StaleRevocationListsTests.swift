// A CRL that passes its nextUpdate while ferryd runs is said once, when it does; one already stale at a load was said
// by the load and is not said again; a reload starts over with what it loaded.
import XCTest

@testable import Daemon

final class StaleRevocationListsTests: XCTestCase {
    private func list(_ issuer: String, number: UInt64?, nextUpdate: Int64?) -> RevocationListSchedule {
        RevocationListSchedule(file: "/etc/ferry/clients.crl", issuer: issuer, number: number, nextUpdate: nextUpdate)
    }

    func testEachListIsSaidOnceWhenItBecomesStale() {
        let early = list("CN=A", number: 1, nextUpdate: 1_000)
        let late = list("CN=B", number: 7, nextUpdate: 2_000)
        let undated = list("CN=C", number: nil, nextUpdate: nil)
        var watch = StaleRevocationLists()
        watch.loaded([early, late, undated], now: 500)
        XCTAssertEqual(watch.newlyStale([early, late, undated], now: 1_000), [], "stale only after nextUpdate")
        XCTAssertEqual(watch.newlyStale([early, late, undated], now: 1_001), [early])
        XCTAssertEqual(watch.newlyStale([early, late, undated], now: 1_500), [], "said once")
        XCTAssertEqual(watch.newlyStale([early, late, undated], now: 9_999), [late], "a list without nextUpdate never is")
    }

    func testAListStaleAtLoadWasSaidByTheLoad() {
        let stale = list("CN=A", number: 1, nextUpdate: 1_000)
        var watch = StaleRevocationLists()
        watch.loaded([stale], now: 1_500)
        XCTAssertEqual(watch.newlyStale([stale], now: 1_600), [])
        // A reload that brings a newer list of the same CA: that one is watched; the old one's mark does not cover it.
        let renewed = list("CN=A", number: 2, nextUpdate: 3_000)
        watch.loaded([renewed], now: 1_700)
        XCTAssertEqual(watch.newlyStale([renewed], now: 3_001), [renewed])
    }
}
