// Finite-field groups are off in ferryd's default configuration (issue #16, point 4): a ClientHello that offers only
// ffdhe3072 — 38 times the server's CPU of an X25519 one, before any authentication — is refused with
// no_common_group, and the default groups still handshake. A daemon configured with the group takes it.
import Foundation
import Protocol
import TestSupport
import XCTest

final class GroupDefaultsTests: XCTestCase {
    func testAFiniteFieldOnlyHelloIsRefusedByDefaultAndTakenWhenConfigured() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let refused = try RawClient(port: daemon.port, client: env.alice, groups: [.ffdhe3072])
        XCTAssertThrowsError(try refused.handshake(), "an ffdhe3072-only hello completed a handshake")
        XCTAssertEqual(refused.alertFromServer?.alert, .noCommonGroup,
                       "\(String(describing: refused.alertFromServer))")
        let defaults = try RawClient(port: daemon.port, client: env.alice)
        XCTAssertEqual(try defaults.handshake().group, .x25519MLKEM768)
        daemon.stop()  // its storage lock: the next daemon uses the same root

        let enabled = try Daemon.start(environment: env, workers: 1, settings: [
            "protocol": ["groups = [\"x25519-mlkem768\", \"x25519\", \"p256\", \"ffdhe3072\"]"],
        ])
        let taken = try RawClient(port: enabled.port, client: env.alice, groups: [.ffdhe3072])
        XCTAssertEqual(try taken.handshake().group, .ffdhe3072)
    }
}
