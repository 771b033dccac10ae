// Key rotation: by volume, by time, on request; hundreds of rotations in each direction with every byte delivered.
import XCTest
@testable import Protocol

final class RotationTests: XCTestCase {
    /// A long stream with rotation every few KiB: hundreds of rotations each way, bytes delivered exactly.
    func testLongStreamWithFrequentRotationInBothDirections() throws {
        for suite in [CipherSuite.aes256GCM, .chacha20Poly1305, .aes256CBCHMACSHA256] {
            var client = try Fixtures.clientConfiguration()
            client.preferences.cipherSuites = [suite]
            client.rotation = RotationPolicy(afterBytes: 8 * 1024)
            let server = try Fixtures.serverConfiguration()
            var pair = try SessionPair(client: client, server: server)
            pair.pump()
            XCTAssertEqual(pair.client.parameters?.rotation, RotationPolicy(afterBytes: 8 * 1024))

            let total = 3 * 1024 * 1024
            let data = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 11) }
            pair.acceptAndCommit(path: "big", size: total)
            pair.client.startUpload(UploadRequest(path: "big", size: UInt64(total)), now: pair.now)
            pair.pump()
            var offset = 0
            while offset < total {
                // Several chunks go out before the peer answers: data keeps flowing while a rotation is in flight.
                for _ in 0..<3 where offset < total && pair.client.canSendData {
                    pair.now.monotonicNanoseconds += 100_000_000  // slower than the rotation pacing (§7.5)
                    let end = min(offset + 4096, total)
                    data[offset..<end].withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
                    offset = end
                }
                // The server's direction carries little data: it rotates on the caller's request, once per batch.
                try pair.server.rotateNow()
                pair.pump()
            }
            pair.finishAndCheckDelivery(of: data, suite.name)
            let clientRotations = pair.client.rotations
            let serverRotations = pair.server.rotations
            XCTAssertGreaterThanOrEqual(clientRotations.sent, 300, suite.name)  // about one per 8 KiB
            XCTAssertGreaterThanOrEqual(serverRotations.sent, 250, suite.name)
            XCTAssertEqual(clientRotations.sent, serverRotations.received, suite.name)
            XCTAssertEqual(serverRotations.sent, clientRotations.received, suite.name)
            let rotated = pair.clientEvents.compactMap { if case .rotated(let event) = $0 { event } else { nil } }
            let sends = rotated.filter { $0.direction == .send }
            XCTAssertEqual(sends.map(\.epoch), Array(1...UInt32(sends.count)), "epochs count up by one")
            // Each key carried about its quota: never more than the threshold plus one record, and (starting early by
            // the measured round trip, at most half the threshold) at least half of it.
            XCTAssertTrue(sends.allSatisfy { $0.reason == .bytes })
            XCTAssertTrue(sends.allSatisfy { $0.bytesUnderOldKeys <= 8 * 1024 + 4097 + 64 }, "\(sends.map(\.bytesUnderOldKeys).max() ?? 0)")
            XCTAssertTrue(sends.dropLast().allSatisfy { $0.bytesUnderOldKeys >= 4 * 1024 })
            XCTAssertTrue(rotated.filter { $0.direction == .receive }.allSatisfy { $0.reason == .peer })
            XCTAssertTrue(pair.clientEvents.contains { if case .uploadCommitted = $0 { true } else { false } })
        }
    }

    /// The server's policy binds the client: a client with no policy of its own rotates at the server's threshold.
    func testServerPolicyBindsTheClient() throws {
        var server = try Fixtures.serverConfiguration()
        server.rotation = RotationPolicy(afterBytes: 16 * 1024)
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: server)
        pair.pump()
        XCTAssertEqual(pair.client.parameters?.rotation.afterBytes, 16 * 1024)
        pair.upload([UInt8](repeating: 7, count: 200 * 1024), chunk: 4096)
        XCTAssertGreaterThanOrEqual(pair.client.rotations.sent, 10)
        XCTAssertNil(pair.serverError)
    }

    /// A client that ignores the server's policy is asked to rotate (RotateRequest) and then does.
    func testLaggingPeerIsAskedToRotate() throws {
        var server = try Fixtures.serverConfiguration()
        server.rotation = RotationPolicy(afterBytes: 64 * 1024)
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: server)
        pair.pump()
        // Pretend the client did not hear the server's policy.
        guard case .established(var channel, let upload) = pair.client.core.state else { return XCTFail("not established") }
        channel.sendPolicy = .none
        pair.client.core.state = .established(channel, upload)
        pair.upload([UInt8](repeating: 1, count: 1024 * 1024), chunk: 16 * 1024)
        XCTAssertNil(pair.serverError)
        XCTAssertGreaterThanOrEqual(pair.client.rotations.sent, 5)
        XCTAssertTrue(pair.clientEvents.contains { if case .rotated(let e) = $0 { e.reason == .peerRequest } else { false } })
    }

    /// A reload lowers the server's threshold mid-upload: the client, bound by what it agreed in the handshake, is
    /// asked to rotate (RotateRequest) at the new threshold from the next record on.
    func testLoweringTheServerPolicyMidSessionRaisesTheRotationCount() throws {
        var server = try Fixtures.serverConfiguration()
        server.rotation = RotationPolicy(afterBytes: 64 << 20)
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: server)
        pair.pump()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "f", size: 4 << 20), now: pair.now)
        pair.pump()
        let chunk = [UInt8](repeating: 5, count: 16 * 1024)
        for _ in 0..<64 {  // 1 MiB under the old policy: no rotation
            pair.client.sendData(chunk, now: pair.now)
            pair.pump()
        }
        XCTAssertEqual(pair.client.rotations.sent, 0)
        pair.server.updateRotationPolicy(RotationPolicy(afterBytes: 256 * 1024))
        for _ in 0..<192 {  // 3 MiB under the new one, slower than the rotation pacing (§7.5)
            pair.now.monotonicNanoseconds += 100_000_000
            pair.client.sendData(chunk, now: pair.now)
            pair.pump()
        }
        XCTAssertNil(pair.serverError)
        XCTAssertGreaterThanOrEqual(pair.client.rotations.sent, 8, "about one rotation per 320 KiB")
        XCTAssertTrue(pair.clientEvents.contains { if case .rotated(let e) = $0 { e.reason == .peerRequest } else { false } })
    }

    func testTimeBasedRotationWaitsForTrafficUnderTheKey() throws {
        var client = try Fixtures.clientConfiguration()
        client.rotation = RotationPolicy(afterSeconds: 30)
        var pair = try SessionPair(client: client, server: Fixtures.serverConfiguration())
        pair.pump()
        XCTAssertNil(pair.client.nextDeadline, "nothing sent under the key yet: no timer")
        pair.client.startUpload(UploadRequest(path: "slow", size: 100), now: pair.now)
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.pump()
        let deadline = try XCTUnwrap(pair.client.nextDeadline)
        XCTAssertEqual(deadline, Fixtures.now(1).monotonicNanoseconds + 30_000_000_000)
        pair.now = Fixtures.now(20)
        try pair.client.handleTimer(now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.client.rotations.sent, 0)
        pair.now = Fixtures.now(31)
        try pair.client.handleTimer(now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.client.rotations.sent, 1)
        let event = pair.clientEvents.compactMap { if case .rotated(let e) = $0 { e } else { nil } }.first
        XCTAssertEqual(event?.reason, .time)
        XCTAssertEqual(event?.secondsUnderOldKeys ?? 0, 30, accuracy: 0.001)
    }

    /// Records sealed under an epoch cannot be opened after the receiver moved on: the old keys are gone.
    func testRecordOfAnOldEpochIsRejectedAfterRotation() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        pair.onServerEvent = { pair, event in if case .uploadRequested = event { pair.server.accept(now: pair.now) } }
        pair.client.startUpload(UploadRequest(path: "f", size: 1 << 20), now: pair.now)
        pair.pump()
        pair.client.sendData([UInt8](repeating: 3, count: 100), now: pair.now)
        let oldRecord = pair.client.takeOutput()
        pair.server.receive(oldRecord)
        pair.drainServer()
        try pair.client.rotateNow()
        pair.pump()
        XCTAssertEqual(pair.server.rotations.received, 1)
        pair.server.receive(oldRecord)
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .badRecordMAC)
    }

    func testHardLimitsAndConfigurationBounds() {
        // 2^34 AES blocks of usage ≈ 2^38 bytes in full records (docs/PROTOCOL.md §7.4).
        let aes = KeyUsageLimits.maxRotateAfterBytes(.aes256GCM)
        XCTAssertGreaterThan(aes, 250 * (1 << 30))
        XCTAssertLessThanOrEqual(aes, 1 << 38)
        XCTAssertEqual(KeyUsageLimits.units(.aes256GCM, plaintextLength: 16), 2)
        XCTAssertEqual(KeyUsageLimits.units(.chacha20Poly1305, plaintextLength: 65537), 1)
        XCTAssertGreaterThan(KeyUsageLimits.maxRotateAfterBytes(.chacha20Poly1305), aes)
        XCTAssertEqual(RotationPolicy(afterBytes: 10).stricter(RotationPolicy(afterBytes: 5, afterSeconds: 9)),
                       RotationPolicy(afterBytes: 5, afterSeconds: 9))
        XCTAssertEqual(RotationPolicy(afterBytes: 0, afterSeconds: 0), .none)
    }

    /// §7.5: a side paces the rotations its own policy starts (at most 16 a second; the data keeps flowing), and a
    /// peer that makes the other rotate more than 64 times in one second is closed.
    func testRotationsArePacedAndAFloodOfThemIsRefused() throws {
        var client = try Fixtures.clientConfiguration()
        client.rotation = RotationPolicy(afterBytes: 4 * 1024)
        var pair = try SessionPair(client: client, server: try Fixtures.serverConfiguration())
        pair.pump()
        // A whole second of 4 KiB chunks 10 ms apart: the policy asks for a rotation every chunk, pacing allows 16.
        pair.upload([UInt8](repeating: 3, count: 100 * 4096), chunk: 4096, chunkInterval: 10_000_000)
        XCTAssertNil(pair.serverError)
        XCTAssertLessThanOrEqual(pair.client.rotations.sent, 17)
        XCTAssertGreaterThanOrEqual(pair.client.rotations.sent, 14)

        // A server made to rotate by 65 requests within one second closes the session.
        var flood = try SessionPair(client: Fixtures.clientConfiguration(), server: try Fixtures.serverConfiguration())
        flood.pump()
        for _ in 0...Limits.maxPeerRotationsPerSecond where flood.serverError == nil {
            try flood.client.rotateNow()  // its RotateInit costs the server a key exchange
            flood.now.monotonicNanoseconds += 1_000_000
            flood.pump()
        }
        XCTAssertEqual(flood.serverError?.alert, .illegalParameter)
        XCTAssertTrue(flood.serverError?.detail.contains("rotations in one second") ?? false)
    }
}
