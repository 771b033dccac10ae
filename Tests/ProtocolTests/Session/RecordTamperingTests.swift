// Tampered, replayed, reordered, truncated and oversized records are rejected, and the session closes on the first
// failure.
import XCTest
@testable import Protocol

final class RecordTamperingTests: XCTestCase {
    /// Three Data records as the client would send them.
    private func threeRecords(_ pair: inout SessionPair) -> [[UInt8]] {
        for index in 0..<3 { pair.client.sendData([UInt8](repeating: UInt8(index), count: 1000), now: pair.now) }
        let records = Fixtures.records(in: pair.client.takeOutput())
        XCTAssertEqual(records.count, 3)
        return records
    }

    func testFlippedBitInAnyPartOfARecordIsRejected() throws {
        for suite in CipherSuite.allCases {
            var reference = try SessionPair.uploading(suite: suite)
            let length = threeRecords(&reference)[0].count
            // Header type, length, first/last body bytes, and the tag.
            for position in [5, 6, length / 2, length - 1] {
                var pair = try SessionPair.uploading(suite: suite)
                var records = threeRecords(&pair)
                records[0][position] ^= 0x01
                pair.server.receive(records[0])
                pair.drainServer()
                XCTAssertEqual(pair.serverError?.alert, .badRecordMAC, "\(suite.name) byte \(position)")
                XCTAssertTrue(pair.server.isClosed)
                XCTAssertTrue(pair.received.isEmpty)
            }
        }
    }

    func testChangedLengthInTheHeaderIsRejected() throws {
        var pair = try SessionPair.uploading()
        var records = threeRecords(&pair)
        records[0][4] &-= 1  // claims one byte less: the record no longer authenticates
        pair.server.receive(records[0])
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .badRecordMAC)
    }

    func testReplayedRecordIsRejected() throws {
        for suite in CipherSuite.allCases {
            var pair = try SessionPair.uploading(suite: suite)
            let records = threeRecords(&pair)
            pair.server.receive(records[0])
            pair.drainServer()
            XCTAssertNil(pair.serverError)
            pair.server.receive(records[0])
            pair.drainServer()
            XCTAssertEqual(pair.serverError?.alert, .badRecordMAC, suite.name)
            XCTAssertEqual(pair.received.count, 1000)
        }
    }

    func testReorderedRecordsAreRejected() throws {
        for suite in CipherSuite.allCases {
            var pair = try SessionPair.uploading(suite: suite)
            let records = threeRecords(&pair)
            pair.server.receive(records[1])
            pair.drainServer()
            XCTAssertEqual(pair.serverError?.alert, .badRecordMAC, suite.name)
            XCTAssertTrue(pair.received.isEmpty)
        }
    }

    func testDroppedRecordIsDetectedAtTheNextOne() throws {
        var pair = try SessionPair.uploading()
        let records = threeRecords(&pair)
        pair.server.receive(records[0] + records[2])
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .badRecordMAC)
        XCTAssertEqual(pair.received.count, 1000)
    }

    func testTruncatedRecordWaitsAndConsumesNothing() throws {
        var pair = try SessionPair.uploading()
        let records = threeRecords(&pair)
        let record = records[0]
        pair.server.receive(Array(record.prefix(3)))  // not even a header
        pair.drainServer()
        pair.server.receive(Array(record[3..<record.count - 1]))  // all but the last byte
        pair.drainServer()
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.received.isEmpty)
        pair.server.receive([record[record.count - 1]])
        pair.drainServer()
        XCTAssertNil(pair.serverError)
        XCTAssertEqual(pair.received.count, 1000)
    }

    func testTruncatedStreamEndingMidRecordDeliversNothing() throws {
        var pair = try SessionPair.uploading()
        let records = threeRecords(&pair)
        pair.server.receive(Array(records[0].dropLast(17)))
        pair.drainServer()
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.received.isEmpty, "a partial record must not release any plaintext")
    }

    func testPlaintextRecordAfterKeysIsRejected() throws {
        var pair = try SessionPair.uploading()
        var records = RecordLayer()
        records.writePlaintext(.alert, body: [0, 10, 0, 0])
        pair.server.receive(records.takeOutbound())
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
    }

    func testSealedRecordBeforeKeysIsRejected() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.server.receive([RecordType.sealed.rawValue, 0, 0, 0, 20] + [UInt8](repeating: 0, count: 20))
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
    }

    func testUnknownRecordTypeIsRejected() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.server.receive([0x16, 0x03, 0x01, 0x00, 0x05])  // a TLS ClientHello's first bytes
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .decodeError)
    }

    /// The length is checked as soon as the header arrives, before any of the body: an unauthenticated peer cannot
    /// make the server wait for (and buffer) more than the small pre-authentication limit.
    func testOversizedRecordBeforeAuthenticationIsRejectedFromItsHeader() throws {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        let length = Limits.maxRecordBodyBeforeAuthentication + 1
        pair.server.receive([RecordType.plaintext.rawValue, 0, UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        pair.drainServer()
        XCTAssertEqual(pair.serverError?.alert, .recordOverflow)
        XCTAssertTrue(pair.server.isClosed)
    }

    func testOversizedRecordAfterAuthenticationIsRejected() throws {
        var pair = try SessionPair.uploading()
        // Larger than before authentication is fine …
        let fine = Limits.maxRecordBodyBeforeAuthentication * 4
        pair.server.receive([RecordType.sealed.rawValue, 0, UInt8(fine >> 16), UInt8(fine >> 8 & 0xFF), UInt8(fine & 0xFF)])
        pair.drainServer()
        XCTAssertNil(pair.serverError)
        // … but not past the limit after authentication.
        var second = try SessionPair.uploading()
        let length = Limits.maxRecordBodyAfterAuthentication + 1
        second.server.receive([RecordType.sealed.rawValue, 0, UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        second.drainServer()
        XCTAssertEqual(second.serverError?.alert, .recordOverflow)
    }

    func testUnknownMessageTypeIsAnErrorNotIgnored() throws {
        // After the handshake, sealed with the client's real keys: a type that no version defines.
        var pair = try SessionPair.uploading()
        pair.client.injectRawForTesting(typeByte: 0x7F, body: [1, 2, 3])
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
        XCTAssertTrue(pair.serverError?.detail.contains("unknown message type") ?? false)
        XCTAssertEqual(pair.clientError?.alert, .unexpectedMessage)  // the client got the alert

        // Before keys, in a plaintext record.
        var fresh = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        fresh.server.receive([RecordType.plaintext.rawValue, 0, 0, 0, 1, 0x7F])
        fresh.drainServer()
        XCTAssertEqual(fresh.serverError?.alert, .unexpectedMessage)
    }
}
