// Inputs the session fuzzers stopped on, replayed through the same harness (FuzzSupport's SessionFuzzer), as
// docs/FUZZING.md "Found" records them. Each is kept in Fuzz/regressions/TARGET/.
import Foundation
import FuzzSupport
import Protocol
import TestSupport
import XCTest

final class SessionFuzzRegressionTests: XCTestCase {
    private func input(_ target: String, _ name: String) throws -> [UInt8] {
        let url = RepositoryPaths.root.appendingPathComponent("Fuzz/regressions/\(target)/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    /// `ServerConnection`, 2026-12-07: a script of genuine commands asked the server to rotate (`rotateNow`, which
    /// nothing paces) more than 64 times in one simulated second, and the client closed the session as the rotation
    /// limit says it must (#16). The harness took that for a genuine session failing: it now counts the rotations it
    /// asks of each side, and past the rate that a paced application stays under it takes the script for the flood it
    /// is. The flood is still refused, and nothing traps.
    func testARotationFloodByTheCallerIsRefusedAndIsNoGenuineSession() throws {
        let outcome = SessionFuzzer.run(try input("ServerConnection", "rotation-flood"), target: .server)
        XCTAssertEqual(outcome.clientError?.description.contains("more than 64 rotations in one second"), true, "\(outcome)")
        XCTAssertGreaterThan(outcome.rotations, 64)
    }
}
