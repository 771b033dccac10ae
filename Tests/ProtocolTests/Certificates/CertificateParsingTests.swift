import XCTest
@testable import Protocol

/// Certificate.chain(fromPEM:), init(der:), der and identity. None of these need SigningKey or PublicKey.
final class CertificateParsingTests: XCTestCase {
    private let pki = TestPKI.shared

    // MARK: PEM

    func testChainFromPEMReturnsEveryCertificateInOrder() throws {
        let chain = try Certificate.chain(fromPEM: pki.intermediateServer.chainPEM)
        XCTAssertEqual(chain.count, 2)
        XCTAssertEqual(chain.first?.identity, "ferry-server")
        XCTAssertEqual(chain.last?.identity, "Ferry Test Intermediate CA")
        let intermediate = try Certificate.chain(fromPEM: pki.intermediateCAPEM)
        XCTAssertEqual(chain.last?.der, intermediate.first?.der)
    }

    func testSingleCertificatePEM() throws {
        let chain = try Certificate.chain(fromPEM: pki.client(.ed25519).chainPEM)
        XCTAssertEqual(chain.count, 1)
        XCTAssertEqual(chain.first?.identity, "alice")
    }

    func testExplanatoryTextAroundBlocksIsSkipped() throws {
        // RFC 7468 §5.2: text outside the encapsulation boundaries is ignored (`openssl x509 -text` writes some).
        let pem = Array("Subject: CN=ferry-server\n".utf8) + pki.server(.ecdsaP256).chainPEM
            + Array("trailing words\n".utf8) + pki.caPEM + Array("\n\n".utf8)
        let chain = try Certificate.chain(fromPEM: pem)
        XCTAssertEqual(chain.map(\.identity), ["ferry-server", "Ferry Test CA"])
    }

    func testCRLFLineEndingsAreAccepted() throws {
        let crlf = String(decoding: pki.caPEM, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n")
        XCTAssertEqual(try Certificate.chain(fromPEM: Array(crlf.utf8)).count, 1)
    }

    func testMalformedPEMIsRejected() {
        let good = pki.server(.rsa2048).chainPEM
        let text = String(decoding: good, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let truncatedBlock = Array(lines.prefix(lines.count / 2).joined(separator: "\n").utf8)
        lines[2] = String(repeating: "!", count: lines[2].count)  // not base64
        let badBase64 = Array(lines.joined(separator: "\n").utf8)
        let notDER = Array("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n".utf8)
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("text without a block", Array("hello, not a certificate\n".utf8)),
            ("binary garbage", (0..<600).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }),
            ("DER instead of PEM", certificateDER(fromPEM: good)),
            ("truncated block", truncatedBlock),
            ("good block then truncated block", good + truncatedBlock),
            ("bad base64", badBase64),
            ("base64 that is not a certificate", notDER),
            ("BEGIN without END", Array("-----BEGIN CERTIFICATE-----\nMIIB\n".utf8)),
        ]
        for (name, pem) in cases {
            XCTAssertThrowsError(try Certificate.chain(fromPEM: pem), name) { error in
                XCTAssertEqual((error as? CryptoError)?.kind, .malformedInput, name)
            }
            XCTAssertTrue(openSSLErrorQueueIsEmpty(), "error queue left dirty by \(name)")
        }
    }

    func testPrivateKeyBlockIsRejectedWithoutEchoingIt() {
        let key = pki.client(.ecdsaP256).keyPEM
        let keyLines = String(decoding: key, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        for pem in [key, pki.client(.ecdsaP256).chainPEM + key, key + pki.caPEM] {
            XCTAssertThrowsError(try Certificate.chain(fromPEM: pem)) { error in
                guard let error = error as? CryptoError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.kind, .malformedInput)
                XCTAssertTrue(error.detail.contains("PRIVATE KEY"), error.detail)
                for line in keyLines { XCTAssertFalse(error.detail.contains(line), "key material in the error") }
            }
        }
    }

    // MARK: DER

    func testDERRoundTrip() throws {
        for identity in [pki.server(.ed25519), pki.server(.rsa2048), pki.client(.ecdsaP384), pki.plainClient] {
            let certificate = try XCTUnwrap(Certificate.chain(fromPEM: identity.chainPEM).first)
            let again = try Certificate(der: certificate.der)
            XCTAssertEqual(again.der, certificate.der)
            XCTAssertEqual(again.identity, certificate.identity)
            XCTAssertEqual(certificate.der, certificateDER(fromPEM: identity.chainPEM))  // what `openssl x509 -outform DER` gives
        }
    }

    func testMalformedDERIsRejected() {
        let der = certificateDER(fromPEM: pki.server(.ecdsaP256).chainPEM)
        var flippedTag = der
        flippedTag[0] = 0x31  // SET instead of SEQUENCE
        var badLength = der
        badLength[2] = 0xFF  // outer length longer than the input
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("one byte", [0x30]),
            ("truncated by one", Array(der.dropLast())),
            ("truncated in half", Array(der.prefix(der.count / 2))),
            ("trailing zero byte", der + [0]),
            ("two certificates", der + der),
            ("garbage", (0..<400).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }),
            ("wrong outer tag", flippedTag),
            ("wrong outer length", badLength),
            ("PEM instead of DER", pki.server(.ecdsaP256).chainPEM),
            ("oversized", [UInt8](repeating: 0x30, count: Certificate.maximumDERLength + 1)),
        ]
        for (name, bytes) in cases {
            XCTAssertThrowsError(try Certificate(der: bytes), name) { error in
                XCTAssertEqual((error as? CryptoError)?.kind, .malformedInput, name)
            }
            XCTAssertTrue(openSSLErrorQueueIsEmpty(), "error queue left dirty by \(name)")
        }
    }

    func testEveryTruncationIsRejectedWithoutCrashing() {
        let der = certificateDER(fromPEM: pki.intermediateCAPEM)
        for length in 0..<der.count {
            XCTAssertThrowsError(try Certificate(der: Array(der.prefix(length))), "length \(length)")
        }
    }

    func testSingleByteCorruptionsNeverCrash() {
        // Either parses (a byte inside a signature or a string) or throws; never traps. Flipping the sign bit of
        // every byte in turn covers tags, lengths and values.
        let der = certificateDER(fromPEM: pki.server(.ed25519).chainPEM)
        var parsed = 0
        for index in der.indices {
            var corrupted = der
            corrupted[index] ^= 0x80
            if (try? Certificate(der: corrupted)) != nil { parsed += 1 }
        }
        XCTAssertLessThan(parsed, der.count)
    }

    // MARK: identity

    func testIdentityIsTheCommonName() throws {
        XCTAssertEqual(try identity(of: pki.client(.rsa2048)), "alice")
        XCTAssertEqual(try identity(of: pki.server(.ed25519)), "ferry-server")
        XCTAssertEqual(try identity(of: pki.selfSignedClient), "alice")
        XCTAssertEqual(try identity(of: pki.serverForOtherName), "localhost")  // CN wins over the SAN
        XCTAssertEqual(try identity(of: pki.twoCNClient), "alice")  // the last (most specific) CN
    }

    /// The one common-name reader (Certificate.commonName(of:)), for the identity and for `ferry ca`: with two CNs
    /// (made by `openssl req -subj /CN=first/CN=alice`), the last one.
    func testCommonNameOfASubjectWithTwoCNsIsTheLast() throws {
        let leaf = try XCTUnwrap(Certificate.chain(fromPEM: pki.twoCNClient.chainPEM).first)
        XCTAssertEqual(leaf.commonName, "alice")
        XCTAssertEqual(leaf.identity, leaf.commonName)
        let noCN = try XCTUnwrap(Certificate.chain(fromPEM: pki.sanOnlyServer.chainPEM).first)
        XCTAssertNil(noCN.commonName)
        XCTAssertEqual(noCN.identity, "san-only.example")
    }

    func testIdentityFallsBackToTheSubjectAltName() throws {
        XCTAssertEqual(try identity(of: pki.sanOnlyServer), "san-only.example")  // DNS name before the IP
        XCTAssertEqual(try identity(of: pki.ipv6OnlyServer), "2001:db8::1")
    }

    func testIPAddressTextIsCanonical() {
        let cases: [([UInt8], String?)] = [
            ([127, 0, 0, 1], "127.0.0.1"),
            ([0, 0, 0, 0], "0.0.0.0"),
            ([255, 255, 255, 255], "255.255.255.255"),
            (ipv6(0, 0, 0, 0, 0, 0, 0, 1), "::1"),
            (ipv6(0, 0, 0, 0, 0, 0, 0, 0), "::"),
            (ipv6(0x2001, 0xDB8, 0, 0, 0, 0, 0, 1), "2001:db8::1"),
            (ipv6(0x2001, 0xDB8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1"),  // RFC 5952 §4.2.2: one zero group stays
            (ipv6(0x2001, 0xDB8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1"),  // §4.2.3: first of equal runs
            (ipv6(0x2001, 0, 0, 1, 0, 0, 0, 1), "2001:0:0:1::1"),  // §4.2.3: longest run
            (ipv6(0xFE80, 0, 0, 0, 0xABCD, 0xEF, 0x1, 0x2), "fe80::abcd:ef:1:2"),  // §4.3 lowercase, §4.1 no zeros
            (ipv6(1, 0, 0, 0, 0, 0, 0, 0), "1::"),
            (ipv6(0, 0, 0, 0, 0, 0xFFFF, 0xC000, 0x0280), "::ffff:192.0.2.128"),  // §5 IPv4-mapped
            ([1, 2, 3], nil),
            ([UInt8](repeating: 0, count: 8), nil),  // a v4 address + mask (name constraints), not a SAN address
        ]
        for (bytes, text) in cases { XCTAssertEqual(Certificate.ipAddressText(bytes), text, "\(bytes)") }
    }

    func testIdentityTextRejectsControlCharacters() {
        for bad in ["", "alice\u{0}evil", "alice\nroot", "tab\there", "del\u{7F}"] {
            XCTAssertNil(Array(bad.utf8).withUnsafeBufferPointer { Certificate.identityText($0) }, bad.debugDescription)
        }
        XCTAssertNil([0xC3, 0x28].withUnsafeBufferPointer { Certificate.identityText($0) })  // invalid UTF-8
        XCTAssertEqual(Array("Zoë".utf8).withUnsafeBufferPointer { Certificate.identityText($0) }, "Zoë")
    }

    // MARK: helpers

    private func identity(of identity: TestIdentity) throws -> String? {
        try XCTUnwrap(Certificate.chain(fromPEM: identity.chainPEM).first).identity
    }

    private func ipv6(_ groups: UInt16...) -> [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
}

/// The DER of the first block of a PEM file, decoded independently of the code under test.
func certificateDER(fromPEM pem: [UInt8]) -> [UInt8] {
    let text = String(decoding: pem, as: UTF8.self)
    guard let begin = text.range(of: "-----BEGIN CERTIFICATE-----"),
          let end = text.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<text.endIndex),
          let data = Data(base64Encoded: String(text[begin.upperBound..<end.lowerBound]),
                          options: .ignoreUnknownCharacters)
    else { return [] }
    return [UInt8](data)
}
