// AddressResolver (uv_getaddrinfo on the pool): names from /etc/hosts and literals resolve without a DNS query, the
// completion runs once on the loop thread and never inside `resolve`, and a name refused at once fails from the loop.
// No lookup here leaves the machine: "localhost" is in /etc/hosts, literals need no lookup, and "" is refused by libuv.
import EventLoop
import XCTest

final class AddressResolverTests: XCTestCase {
    private func resolve(_ host: String, port: UInt16 = 7443) throws -> Result<[ResolvedAddress], UVError> {
        let loop = try EventLoop()
        var outcome: Result<[ResolvedAddress], UVError>?
        var returned = false
        AddressResolver.resolve(loop: loop, host: host, port: port) { result in
            XCTAssertTrue(returned, "the completion ran inside resolve")
            XCTAssertNil(outcome, "the completion ran twice")
            outcome = result
        }
        returned = true
        loop.run()
        XCTAssertTrue(loop.close(), "a handle was left open")
        return try XCTUnwrap(outcome)
    }

    func testLiteralsResolveToThemselves() throws {
        XCTAssertEqual(try resolve("127.0.0.1").get().map(\.description), ["127.0.0.1:7443"])
        let v6 = try resolve("::1", port: 9).get()
        XCTAssertEqual(v6.map(\.description), ["[::1]:9"])
        XCTAssertEqual(v6.map(\.isIPv6), [true])
    }

    func testLocalhostResolvesToALoopbackAddressOnce() throws {
        let addresses = try resolve("localhost").get()
        XCTAssertFalse(addresses.isEmpty)
        XCTAssertTrue(addresses.allSatisfy { ["127.0.0.1:7443", "[::1]:7443"].contains($0.description) }, "\(addresses)")
        XCTAssertEqual(Set(addresses.map(\.description)).count, addresses.count, "duplicates kept")
    }

    /// libuv refuses an empty name before any lookup (EINVAL): the failure still comes from the loop, later.
    func testANameRefusedAtOnceFailsFromTheLoop() throws {
        guard case .failure(let error) = try resolve("") else { return XCTFail("\"\" resolved") }
        XCTAssertEqual(error.name, "EINVAL", "\(error)")
        XCTAssertEqual(error.function, "uv_getaddrinfo")
    }
}
