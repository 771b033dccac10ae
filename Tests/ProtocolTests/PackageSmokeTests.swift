import XCTest
@testable import Protocol

/// Keeps an XCTest case in the suite so `swift test` always prints XCTest's closing line.
final class PackageSmokeTests: XCTestCase {
    func testAlgorithmNamesRoundTrip() {
        for suite in CipherSuite.allCases { XCTAssertEqual(CipherSuite(name: suite.name), suite) }
        for group in KeyExchangeGroup.allCases { XCTAssertEqual(KeyExchangeGroup(name: group.name), group) }
        for hash in HashFunction.allCases { XCTAssertEqual(HashFunction(name: hash.name), hash) }
        for scheme in SignatureScheme.allCases { XCTAssertEqual(SignatureScheme(name: scheme.name), scheme) }
        XCTAssertNil(CipherSuite(name: "rc4"))
    }
}
