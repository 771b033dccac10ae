// A mixed load test's get counts as done only when the bytes match the GetHeader's SHA-256 and the header is the file
// the run stored: each way a get can be wrong is caught.
import Protocol
import XCTest
@testable import FerryClient

final class GetCheckTests: XCTestCase {
    private let payload = Payload(size: 100_000)

    private var content: [UInt8] {
        var bytes: [UInt8] = []
        var offset: UInt64 = 0
        while offset < payload.size {
            let range = payload.chunk(at: offset, limit: 65_536)
            bytes += payload.block[range]
            offset += UInt64(range.count)
        }
        return bytes
    }

    private func header(size: UInt64? = nil, sha256: [UInt8]? = nil, offset: UInt64 = 0) -> GetHeader {
        GetHeader(size: size ?? payload.size, sha256: sha256 ?? payload.digest, modified: WireTime(seconds: 0, nanoseconds: 0),
                  executable: false, offset: offset)
    }

    private func check(_ header: GetHeader, _ bytes: [UInt8]) -> String? {
        var check = GetCheck(header: header)
        for start in stride(from: 0, to: bytes.count, by: 30_000) {
            check.append(bytes[start..<min(start + 30_000, bytes.count)])
        }
        return check.problem(against: payload)
    }

    func testTheStoredFileIsAccepted() {
        XCTAssertNil(check(header(), content))
        let empty = Payload(size: 0)
        var none = GetCheck(header: GetHeader(size: 0, sha256: empty.digest, modified: WireTime(seconds: 0, nanoseconds: 0),
                                              executable: false, offset: 0))
        none.append([])
        XCTAssertNil(none.problem(against: empty))
    }

    func testBytesThatDoNotHashToTheHeaderAreAnIntegrityProblem() {
        var damaged = content
        damaged[77_777] ^= 0x01
        XCTAssertEqual(check(header(), damaged), "the bytes received do not hash to the SHA-256 in the GetHeader")
    }

    func testAnotherFileHonestlySentIsNotTheOneStored() {
        let other = Array(content.prefix(5_000))
        let problem = check(header(size: 5_000, sha256: DigestContext.hash(.sha256, other)), other)
        XCTAssertEqual(problem, "the server sent a 5000-byte file that is not the one stored (its SHA-256 differs)")
        var changed = content
        changed[0] ^= 0xFF
        XCTAssertNotNil(check(header(sha256: DigestContext.hash(.sha256, changed)), changed), "same size, other bytes")
    }

    func testAShortOrOffsetFileIsNotAccepted() {
        XCTAssertEqual(check(header(), Array(content.prefix(99_999))),
                       "99999 bytes received of a 100000-byte file from offset 0")
        XCTAssertNotNil(check(header(offset: 10), Array(content.dropFirst(10))))
    }
}
