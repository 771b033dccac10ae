import XCTest
@testable import Client
@testable import FerryClient

final class SubjectAltNameTests: XCTestCase {
    func testGoodLists() throws {
        let cases: [(String, [String])] = [
            ("DNS:localhost,IP:127.0.0.1,IP:::1", ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]),
            ("dns:Files.Example.com , ip:2001:DB8:0:0:0:0:0:1", ["DNS:Files.Example.com", "IP:2001:db8::1"]),
            ("DNS:*.ferry.test", ["DNS:*.ferry.test"]),
            ("IP:::ffff:192.0.2.1", ["IP:::ffff:192.0.2.1"]),
            ("IP:0.0.0.0,IP:255.255.255.255", ["IP:0.0.0.0", "IP:255.255.255.255"]),
            ("DNS:xn--bcher-kva.example,DNS:a-b.c0", ["DNS:xn--bcher-kva.example", "DNS:a-b.c0"]),
            ("DNS:" + String(repeating: "a", count: 63) + ".example", ["DNS:" + String(repeating: "a", count: 63) + ".example"]),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try SubjectAltName.parseList(input).map(\.description), expected, input)
        }
        XCTAssertEqual(try SubjectAltName.parse("IP:::1"), .ip(try XCTUnwrap(IPAddress("::1"))))
        XCTAssertEqual(try XCTUnwrap(IPAddress("::1")).bytes, [UInt8](repeating: 0, count: 15) + [1])
        XCTAssertEqual(try XCTUnwrap(IPAddress("192.0.2.7")).bytes, [192, 0, 2, 7])
    }

    func testBadStringsRejectedWithClearErrors() {
        let cases: [(String, String)] = [
            ("", "empty"),
            ("   ", "empty"),
            ("localhost", "no type"),
            ("DNS:", "empty"),
            ("IP:", "not an IPv4 or IPv6"),
            ("IP:300.1.1.1", "not an IPv4 or IPv6"),
            ("IP:1.2.3", "not an IPv4 or IPv6"),
            ("IP:01.2.3.4", "not an IPv4 or IPv6"),
            ("IP:[::1]", "without brackets"),
            ("IP:fe80::1%eth0", "zone"),
            ("IP:localhost", "not an IPv4 or IPv6"),
            ("email:a@b.example", "not supported"),
            ("URI:https://x.example", "not supported"),
            ("dirName:sect", "not supported"),
            ("DNS:foo bar", "letters, digits and hyphens"),
            ("DNS:a_b.example", "letters, digits and hyphens"),
            ("DNS:-foo.example", "hyphen"),
            ("DNS:foo-.example", "hyphen"),
            ("DNS:a..b", "empty label"),
            ("DNS:.a", "empty label"),
            ("DNS:foo.", "trailing dot"),
            ("DNS:127.0.0.1", "write IP:127.0.0.1"),
            ("DNS:::1", "write IP:::1"),
            ("DNS:*.com", "left-most"),
            ("DNS:*", "left-most"),
            ("DNS:f*.example.com", "letters, digits and hyphens"),
            ("DNS:a.*.example.com", "left-most"),
            ("DNS:bücher.example", "xn--"),
            ("DNS:localhost,", "empty"),
            (",DNS:a", "empty"),
            ("DNS:a,,DNS:b", "empty"),
            ("DNS:a.example,DNS:A.example", "twice"),
            ("IP:::1,IP:0:0:0:0:0:0:0:1", "twice"),
            ("DNS:" + String(repeating: "a", count: 64) + ".example", "longer than 63"),
            ("DNS:" + Array(repeating: String(repeating: "a", count: 50), count: 5).joined(separator: "."), "longer than 253"),
            ("DNS:a\nb", "letters, digits and hyphens"),
            (Array(repeating: "DNS:x.example", count: SubjectAltName.maximumCount + 1).joined(separator: ","), "at most"),
        ]
        for (input, fragment) in cases {
            do {
                let parsed = try SubjectAltName.parseList(input)
                XCTFail("\(input.debugDescription) parsed as \(parsed)")
            } catch {
                XCTAssertEqual(error.kind, .invalidArgument)
                XCTAssertTrue(error.message.contains(fragment), "\(input.debugDescription): \(error.message)")
                XCTAssertFalse(error.message.contains("\n"), "messages are one line: \(error.message.debugDescription)")
            }
        }
    }
}
