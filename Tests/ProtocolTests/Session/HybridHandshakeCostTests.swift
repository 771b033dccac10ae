// The cost of x25519-mlkem768 against the classical groups, measured in memory (no sockets): whole handshakes per
// second, and each step of the key agreement alone. It prints figures and asserts nothing about time (docs/PERFORMANCE.md
// has the numbers and how they were taken):
//
//     swift test -c release --filter HybridHandshakeCost
//
// In a debug build each measurement runs 0.1 s instead of 2 s, only so that the code path stays exercised.
import XCTest
@testable import Protocol

final class HybridHandshakeCost: XCTestCase {
    #if DEBUG
    private let seconds = 0.1
    #else
    private let seconds = 2.0
    #endif

    /// Runs `body` repeatedly for `seconds`; returns operations per second.
    private func rate(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        var count = 0
        while clock.now - start < budget {
            try body()
            count += 1
        }
        let elapsed = clock.now - start
        let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(count) / elapsedSeconds
    }

    private func format(_ value: Double) -> String { String(format: "%.0f", value) }

    func testHandshakesPerSecond() throws {
        let server = try Fixtures.serverConfiguration(key: .ecdsaP256)
        print("HybridHandshakeCost: full in-memory handshakes (ECDSA P-256 certificates both ways, aes-256-gcm, sha256),"
              + " \(seconds) s each")
        for group in [KeyExchangeGroup.x25519, .x25519MLKEM768, .secp256r1] {
            var client = try Fixtures.clientConfiguration(key: .ecdsaP256)
            client.preferences.groups = [group]
            client.preferences.cipherSuites = [.aes256GCM]
            client.preferences.hashes = [.sha256]
            var clientBytes = 0, serverBytes = 0
            let perSecond = try rate {
                var pair = try SessionPair(client: client, server: server)
                clientBytes = 0
                serverBytes = 0
                pair.pumpBothWays(clientToServer: { clientBytes += $0.count; return $0 },
                                  serverToClient: { serverBytes += $0.count; return $0 })
                XCTAssertTrue(pair.handshakeCompleted)
            }
            print("HybridHandshakeCost: \(group.name): \(format(perSecond)) handshakes/s "
                  + "(\(format(1e6 / perSecond)) µs each; \(clientBytes) bytes client→server, \(serverBytes) server→client)")
        }
        // The default client (shares for x25519-mlkem768, x25519 and p256) against the default server.
        let defaults = try Fixtures.clientConfiguration(key: .ecdsaP256)
        let perSecond = try rate {
            var pair = try SessionPair(client: defaults, server: server)
            pair.pump()
            XCTAssertEqual(pair.client.parameters?.group, .x25519MLKEM768)
        }
        print("HybridHandshakeCost: defaults (client offers x25519-mlkem768, x25519, p256; all suites and hashes): "
              + "\(format(perSecond)) handshakes/s (\(format(1e6 / perSecond)) µs each)")
    }

    func testMLKEM768Alone() throws {
        let key = try MLKEM768DecapsulationKey.generate()
        let encapsulationKey = try MLKEM768EncapsulationKey(validating: key.encapsulationKey[...])
        let (ciphertext, _) = try encapsulationKey.encapsulate()
        let keygen = try rate { _ = try MLKEM768DecapsulationKey.generate() }
        let parse = try rate { _ = try MLKEM768EncapsulationKey(validating: key.encapsulationKey[...]) }
        let encaps = try rate { _ = try encapsulationKey.encapsulate() }
        let decaps = try rate { _ = try key.decapsulate(ciphertext[...]) }
        func micros(_ perSecond: Double) -> String { String(format: "%.1f µs", 1e6 / perSecond) }
        print("HybridHandshakeCost: ML-KEM-768 through swift-crypto, \(seconds) s each: keygen \(micros(keygen)), "
              + "encapsulation key parse + check \(micros(parse)), encaps \(micros(encaps)), decaps \(micros(decaps))")
    }

    func testKeyAgreementSteps() throws {
        print("HybridHandshakeCost: key agreement steps, \(seconds) s each (µs per operation)")
        for group in [KeyExchangeGroup.x25519, .x25519MLKEM768, .secp256r1] {
            let keygen = try rate { _ = try KeyExchangeInitiator(group: group) }
            let initiator = try KeyExchangeInitiator(group: group)
            let respond = try rate { _ = try KeyExchangeResponder.respond(group: group, initiatorShare: initiator.share) }
            // complete() consumes the initiator: measure keygen + respond + complete, then subtract.
            let whole = try rate {
                let initiator = try KeyExchangeInitiator(group: group)
                let (share, _) = try KeyExchangeResponder.respond(group: group, initiatorShare: initiator.share)
                _ = try initiator.complete(responderShare: share)
            }
            let completeMicros = 1e6 / whole - 1e6 / keygen - 1e6 / respond
            print("HybridHandshakeCost: \(group.name): initiator keygen \(String(format: "%.1f", 1e6 / keygen)) µs, "
                  + "respond \(String(format: "%.1f", 1e6 / respond)) µs, complete ≈ \(String(format: "%.1f", completeMicros)) µs, "
                  + "whole exchange \(String(format: "%.1f", 1e6 / whole)) µs (\(format(whole))/s)")
        }
    }
}
