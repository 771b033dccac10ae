// Garbage and mutated input never crashes either side: it ends in an alert or waits for more bytes (deterministic
// pseudo-random cases, so a failure reproduces).
import XCTest
@testable import Protocol

final class MalformedInputTests: XCTestCase {
    private typealias Generator = SplitMix

    func testRandomBytesBeforeTheHandshake() throws {
        var generator = Generator(state: 1)
        let configuration = try Fixtures.serverConfiguration()
        for round in 0..<500 {
            var server = ServerConnection(configuration: configuration)
            let count = Int.random(in: 0..<300, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 0, bytes.count > 5 { bytes[0] = 0x01; bytes[1] = 0; bytes[2] = 0 }  // plausible headers
            server.receive(bytes)
            do { while try server.nextEvent(now: Fixtures.now()) != nil {} } catch {}
            XCTAssertFalse(server.isEstablished)
        }
    }

    /// Mutates one byte of each record of a real ClientHello or client flight: the server must fail cleanly.
    func testMutatedHandshakeRecords() throws {
        var generator = Generator(state: 2)
        let clientConfiguration = try Fixtures.clientConfiguration()
        let serverConfiguration = try Fixtures.serverConfiguration()
        var failures = 0
        for _ in 0..<200 {
            var client = try ClientConnection(configuration: clientConfiguration)
            var server = ServerConnection(configuration: serverConfiguration)
            var hello = client.takeOutput()
            let position = Int.random(in: 0..<hello.count, using: &generator)
            hello[position] ^= UInt8.random(in: 1...255, using: &generator)
            server.receive(hello)
            do {
                while try server.nextEvent(now: Fixtures.now()) != nil {}
                client.receive(server.takeOutput())
                while try client.nextEvent(now: Fixtures.now()) != nil {}
            } catch {
                failures += 1
            }
            XCTAssertFalse(server.isEstablished && client.isEstablished, "a mutated hello must not give a session")
        }
        XCTAssertGreaterThan(failures, 150)
    }
}
