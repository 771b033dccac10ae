// §8.9 in memory: upload_features is agreed only when both sides offer it, file times travel in Close only then, a
// server never hears times it did not agree to (the client drops them), and a peer that breaks the rules is closed.
import XCTest
@testable import Protocol

final class FileTimesTests: XCTestCase {
    private let times = FileTimes(modificationSeconds: 1_234_567_890, modificationNanoseconds: 123_456_789, executable: true)

    /// An established pair with these offers, then one upload of 100 bytes whose Close carries `times`.
    private func upload(client clientFeatures: UploadFeatures, server serverFeatures: UploadFeatures) throws
        -> (pair: SessionPair, finished: (digest: [UInt8], times: FileTimes?)?) {
        var pair = try SessionPair.established(client: clientFeatures, server: serverFeatures)
        let data = [UInt8](repeating: 7, count: 100)
        var finished: (digest: [UInt8], times: FileTimes?)?
        pair.onServerEvent = { pair, event in
            switch event {
            case .uploadRequested: pair.server.accept(now: pair.now)
            case .uploadFinished(let digest, let times):
                finished = (digest, times)
                pair.server.commit(UploadReceipt(storedName: "f", size: 100, digest: digest), now: pair.now)
            default: break
            }
        }
        pair.client.startUpload(UploadRequest(path: "f", size: 100), now: pair.now)
        pair.pump()
        data.withUnsafeBytes { pair.client.sendData($0, now: pair.now) }
        pair.client.finishUpload(digest: DigestContext.hash(.sha256, data), times: times, now: pair.now)
        pair.pump()
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        return (pair, finished)
    }

    func testAgreedWhenBothOfferAndTheTimesArrive() throws {
        let (pair, finished) = try upload(client: .known, server: .known)
        XCTAssertEqual(pair.client.parameters?.uploadFeatures, .known)
        XCTAssertEqual(pair.server.parameters?.uploadFeatures, .known)
        XCTAssertEqual(finished?.times, times)
    }

    func testNotAgreedWhenEitherSideDoesNotOfferAndCloseStaysV1() throws {
        for (client, server) in [(UploadFeatures(), UploadFeatures.known), (.known, []), ([], [])] {
            let (pair, finished) = try upload(client: client, server: server)
            XCTAssertEqual(pair.client.parameters?.uploadFeatures, [], "client \(client), server \(server)")
            XCTAssertEqual(pair.server.parameters?.uploadFeatures, [])
            XCTAssertNotNil(finished, "the upload finished")
            XCTAssertNil(finished?.times, "the client dropped the times the server did not agree to")
        }
    }

    func testUnknownBitsAreIgnoredAndTheExtensionIsExactlyFourBytes() throws {
        var encoder = WireEncoder()
        encoder.u32(0xFFFF_FFFF)
        XCTAssertEqual(try UploadFeatures.from([ExtensionEntry(type: 0x0001, data: encoder.bytes)]), .known)
        XCTAssertEqual(try UploadFeatures.from([ExtensionEntry(type: 0x0002, data: [1])]), [], "another extension")
        XCTAssertThrowsError(try UploadFeatures.from([ExtensionEntry(type: 0x0001, data: [0, 0, 1])])) { error in
            XCTAssertEqual((error as? ProtocolError)?.alert, .decodeError)
        }
    }

    func testFileTimesDecoding() throws {
        var encoder = WireEncoder()
        CloseMessage(digest: [UInt8](repeating: 1, count: 32), times: times).encode(into: &encoder)
        XCTAssertEqual(encoder.bytes.count, 32 + FileTimes.encodedLength)
        XCTAssertEqual(try CloseMessage.decode(encoder.bytes[...]).times, times)
        var negative = WireEncoder()
        let before1970 = FileTimes(modificationSeconds: -86_400, modificationNanoseconds: 0, executable: false)
        CloseMessage(digest: [UInt8](repeating: 1, count: 32), times: before1970).encode(into: &negative)
        XCTAssertEqual(try CloseMessage.decode(negative.bytes[...]).times, before1970)
        var tooManyNanoseconds = encoder.bytes
        tooManyNanoseconds.replaceSubrange(40..<44, with: [0x3B, 0x9A, 0xCA, 0x00])  // 1,000,000,000
        XCTAssertThrowsError(try CloseMessage.decode(tooManyNanoseconds[...])) { error in
            XCTAssertEqual((error as? ProtocolError)?.alert, .illegalParameter)
        }
        var unknownFlag = encoder.bytes
        unknownFlag[unknownFlag.count - 1] = 0x02
        XCTAssertThrowsError(try CloseMessage.decode(unknownFlag[...])) { error in
            XCTAssertEqual((error as? ProtocolError)?.alert, .decodeError)
        }
        XCTAssertThrowsError(try CloseMessage.decode(encoder.bytes.dropLast()), "a truncated FileTimes")
    }

    /// A client that sends FileTimes the server did not agree to (forged here, as a buggy peer would) is refused.
    func testTimesNotAgreedAreADecodeError() throws {
        var client = try Fixtures.clientConfiguration()
        client.uploadFeatures = []
        var pair = try SessionPair(client: client, server: try Fixtures.serverConfiguration())
        pair.pump()
        pair.onServerEvent = { pair, event in
            if case .uploadRequested = event { pair.server.accept(now: pair.now) }
        }
        pair.client.startUpload(UploadRequest(path: "f", size: 0), now: pair.now)
        pair.pump()
        var body = WireEncoder()
        CloseMessage(digest: DigestContext.hash(.sha256, []), times: times).encode(into: &body)
        pair.client.injectForTesting(.close, body: body.bytes)
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .decodeError)
    }
}
