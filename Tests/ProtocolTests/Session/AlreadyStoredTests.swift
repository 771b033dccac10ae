// §8.7: an Open that carries the digest of a file the server already stores (same name and size) is answered with
// Committed at once, no Data; the client takes that answer only for the file it announced.
import XCTest
@testable import Protocol

final class AlreadyStoredTests: XCTestCase {
    private let digest = DigestContext.hash(.sha256, [1, 2, 3])

    private func opened(_ request: UploadRequest) throws -> SessionPair {
        var pair = try SessionPair(client: Fixtures.clientConfiguration(), server: Fixtures.serverConfiguration())
        pair.pump()
        pair.client.startUpload(request, now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .uploadRequested(request))
        return pair
    }

    func testAnOpenWithTheStoredDigestIsCommittedAtOnceAndTheSessionGoesOn() throws {
        var pair = try opened(UploadRequest(path: "a.bin", size: 3, expectedDigest: digest))
        let receipt = UploadReceipt(storedName: "a.bin", size: 3, digest: digest)
        pair.server.alreadyStored(receipt, now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.clientEvents.last, .uploadAlreadyStored(receipt))
        XCTAssertTrue(pair.client.canStartUpload)
        XCTAssertEqual(pair.received, [], "no Data")
        pair.upload([4, 5], path: "next")
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
    }

    /// Committed in answer to an Open without a digest is not a protocol the client follows: the session ends.
    func testCommittedForAnOpenWithoutADigestIsUnexpected() throws {
        var pair = try opened(UploadRequest(path: "a.bin", size: 3))
        var encoder = WireEncoder()
        UploadReceipt(storedName: "a.bin", size: 3, digest: digest).encode(into: &encoder)
        pair.server.injectForTesting(.committed, body: encoder.bytes)
        pair.pump()
        XCTAssertEqual(pair.clientError?.alert, .unexpectedMessage)
    }

    /// A receipt for another file (another digest or size) than the one announced ends the session.
    func testCommittedForAnotherFileIsIllegal() throws {
        for receipt in [UploadReceipt(storedName: "a.bin", size: 3, digest: DigestContext.hash(.sha256, [9])),
                        UploadReceipt(storedName: "a.bin", size: 4, digest: digest)] {
            var pair = try opened(UploadRequest(path: "a.bin", size: 3, expectedDigest: digest))
            var encoder = WireEncoder()
            receipt.encode(into: &encoder)
            pair.server.injectForTesting(.committed, body: encoder.bytes)
            pair.pump()
            XCTAssertEqual(pair.clientError?.alert, .illegalParameter, "\(receipt)")
        }
    }
}
