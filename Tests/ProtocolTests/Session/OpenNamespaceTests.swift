// An Open that names the namespace to store into (PROTOCOL.md §8.1 flag 0x10, §14.1): encoded only when it names one,
// decoded exactly, and refused when `store` was not agreed or the namespace is empty or too long.
import XCTest

@_spi(Fuzzing) @testable import Protocol

final class OpenNamespaceTests: XCTestCase {
    private func body(_ request: UploadRequest) -> [UInt8] {
        var encoder = WireEncoder()
        request.encode(into: &encoder)
        return encoder.bytes
    }

    func testANamespaceRoundTripsAndIsAbsentWhenNoneIsNamed() throws {
        let mine = UploadRequest(path: "a.bin", size: 5)
        XCTAssertEqual(body(mine).count, 2 + 5 + 8 + 1, "no namespace, no flag, no field")
        for request in [mine, UploadRequest(path: "a.bin", size: 5, namespace: "shared"),
                        UploadRequest(path: "b", size: 1, expectedDigest: [UInt8](repeating: 7, count: 32), pipelined: true,
                                      probe: true, namespace: String(repeating: "n", count: 255))] {
            XCTAssertEqual(try UploadRequest.decode(body(request)[...]), request)
        }
        XCTAssertEqual(body(UploadRequest(path: "a.bin", size: 5, namespace: "shared"))[15], 0x10)
    }

    func testAnEmptyOrOverlongNamespaceIsADecodeError() {
        var empty = body(UploadRequest(path: "a", size: 1))
        empty[11] |= 0x10
        empty += [0, 0]
        var long = body(UploadRequest(path: "a", size: 1))
        long[11] |= 0x10
        long += [1, 0] + [UInt8](repeating: 0x6E, count: 256)
        var missing = body(UploadRequest(path: "a", size: 1))
        missing[11] |= 0x10
        for bad in [empty, long, missing] {
            XCTAssertThrowsError(try UploadRequest.decode(bad[...])) { XCTAssertEqual(($0 as? ProtocolError)?.alert, .decodeError) }
        }
    }

    func testTheServerHearsTheNamespaceOnlyWhenStoreWasAgreed() throws {
        var pair = try SessionPair.established()
        let request = UploadRequest(path: "p.bin", size: 3, namespace: "shared")
        pair.client.startUpload(request, now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .uploadRequested(request))

        var old = try SessionPair.established(server: [.fileTimes, .pipelining])
        XCTAssertTrue(old.client.sealForFuzzing(typeByte: MessageType.open.rawValue, body: body(request)))
        old.pump()
        XCTAssertEqual(old.serverError?.alert, .decodeError)
        XCTAssertTrue(old.serverEvents.isEmpty)
    }
}
