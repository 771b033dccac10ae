import XCTest
@testable import Protocol

/// TrustStore.verify against the TestPKI certificates.
final class CertificateVerificationTests: XCTestCase {
    private let pki = TestPKI.shared
    private typealias Kind = CertificateVerificationError.Kind

    private var store: TrustStore { get throws { try TrustStore(pemBundle: pki.caPEM) } }

    // MARK: accepted

    func testEveryServerKeyTypeVerifiesForEveryName() throws {
        let store = try store
        for type in TestKeyType.allCases {
            for name in ["localhost", "LOCALHOST", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1", nil] {
                XCTAssertNoThrow(
                    try verify(pki.server(type), store: store, purpose: .serverAuth, name: name), "\(type) \(name ?? "-")")
            }
        }
    }

    func testEveryClientKeyTypeVerifies() throws {
        let store = try store
        for type in TestKeyType.allCases {
            XCTAssertNoThrow(try verify(pki.client(type), store: store, purpose: .clientAuth, name: nil), "\(type)")
        }
    }

    func testPlainOpenSSLLeavesWithoutEKUAreAcceptedForBothPurposes() throws {
        // RFC 5280 §4.2.1.12: no extendedKeyUsage extension means no restriction.
        let store = try store
        XCTAssertNoThrow(try verify(pki.plainServer, store: store, purpose: .serverAuth, name: "localhost"))
        XCTAssertNoThrow(try verify(pki.plainServer, store: store, purpose: .serverAuth, name: "::1"))
        XCTAssertNoThrow(try verify(pki.plainClient, store: store, purpose: .clientAuth, name: nil))
        XCTAssertNoThrow(try verify(pki.plainClient, store: store, purpose: .serverAuth, name: nil))
    }

    func testVerifyingAtTheRealCurrentTimeWorks() throws {
        // Generation happened before now, so every ordinary leaf is valid at the real clock too.
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertNoThrow(try verify(pki.server(.ed25519), store: store, purpose: .serverAuth, name: "localhost", at: now))
        XCTAssertNoThrow(try verify(pki.client(.rsa2048), store: store, purpose: .clientAuth, name: nil, at: now))
    }

    func testABundleOfSeveralCAsTrustsEach() throws {
        let both = try TrustStore(pemBundle: pki.caPEM + pki.otherCAPEM)
        XCTAssertNoThrow(try verify(pki.otherCAClient, store: both, purpose: .clientAuth, name: nil))
        XCTAssertNoThrow(try verify(pki.client(.ed25519), store: both, purpose: .clientAuth, name: nil))
    }

    func testASelfSignedLeafConfiguredAsAnAnchorIsTrusted() throws {
        let pinned = try TrustStore(pemBundle: pki.selfSignedServer.chainPEM)
        XCTAssertNoThrow(try verify(pki.selfSignedServer, store: pinned, purpose: .serverAuth, name: "localhost"))
    }

    // MARK: issuer

    func testClientFromAnotherCAIsUntrusted() throws {
        try assertRejected(pki.otherCAClient, purpose: .clientAuth, name: nil, .untrustedIssuer)
        let otherStore = try TrustStore(pemBundle: pki.otherCAPEM)
        try assertRejected(pki.client(.ecdsaP256), store: otherStore, purpose: .clientAuth, name: nil, .untrustedIssuer)
    }

    func testSelfSignedLeavesAreRejected() throws {
        try assertRejected(pki.selfSignedClient, purpose: .clientAuth, name: nil, .selfSigned)
        try assertRejected(pki.selfSignedServer, purpose: .serverAuth, name: "localhost", .selfSigned)
    }

    func testAnUntrustedRootSentInTheChainIsSelfSigned() throws {
        // The peer sends leaf + its own (unconfigured) root: SELF_SIGNED_CERT_IN_CHAIN.
        let chain = try Certificate.chain(fromPEM: pki.otherCAClient.chainPEM + pki.otherCAPEM)
        XCTAssertThrowsError(try store.verify(chain: chain, purpose: .clientAuth, expectedName: nil,
                                              unixTime: pki.validUnixTime)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.kind, .selfSigned, "\(error)")
        }
    }

    func testIntermediateChainVerifiesOnlyWithTheIntermediate() throws {
        let store = try store
        XCTAssertNoThrow(try verify(pki.intermediateServer, store: store, purpose: .serverAuth, name: "localhost"))
        let leafOnly = try Array(Certificate.chain(fromPEM: pki.intermediateServer.chainPEM).prefix(1))
        XCTAssertThrowsError(try store.verify(chain: leafOnly, purpose: .serverAuth, expectedName: "localhost",
                                              unixTime: pki.validUnixTime)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.kind, .untrustedIssuer, "\(error)")
        }
    }

    func testAPinnedIntermediateIsAnAnchor() throws {
        // X509_V_FLAG_PARTIAL_CHAIN: every certificate of the bundle is an anchor, self-signed or not.
        let pinned = try TrustStore(pemBundle: pki.intermediateCAPEM)
        XCTAssertNoThrow(try verify(pki.intermediateServer, store: pinned, purpose: .serverAuth, name: "localhost"))
        try assertRejected(pki.server(.ecdsaP256), store: pinned, purpose: .serverAuth, name: "localhost",
                           .untrustedIssuer)
    }

    func testATamperedSignatureIsABadSignature() throws {
        var der = certificateDER(fromPEM: pki.server(.ecdsaP256).chainPEM)
        guard let last = der.indices.last else { return XCTFail("no DER") }
        der[last] ^= 0x01  // the last byte of the CA's RSA signature
        let tampered = try Certificate(der: der)
        XCTAssertThrowsError(try store.verify(chain: [tampered], purpose: .serverAuth, expectedName: "localhost",
                                              unixTime: pki.validUnixTime)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.kind, .badSignature, "\(error)")
        }
    }

    // MARK: time

    func testExpiredAndNotYetValid() throws {
        for (identity, purpose, name) in [(pki.server(.rsa2048), CertificatePurpose.serverAuth, "localhost"),
                                          (pki.client(.ed25519), .clientAuth, nil),
                                          (pki.intermediateServer, .serverAuth, "127.0.0.1")] {
            try assertRejected(identity, purpose: purpose, name: name, at: pki.expiredUnixTime, .expired)
            try assertRejected(identity, purpose: purpose, name: name, at: pki.notYetValidUnixTime, .notYetValid)
        }
    }

    func testACertificateExpiredInRealTimeIsExpiredNow() throws {
        let now = Int64(Date().timeIntervalSince1970)
        try assertRejected(pki.expiredClient, purpose: .clientAuth, name: nil, at: now, .expired)
    }

    // MARK: purpose

    func testWrongExtendedKeyUsageEachWay() throws {
        try assertRejected(pki.serverWithClientEKU, purpose: .serverAuth, name: "localhost", .wrongPurpose)
        try assertRejected(pki.clientWithServerEKU, purpose: .clientAuth, name: nil, .wrongPurpose)
        try assertRejected(pki.server(.ed25519), purpose: .clientAuth, name: nil, .wrongPurpose)
        try assertRejected(pki.client(.ed25519), purpose: .serverAuth, name: nil, .wrongPurpose)
    }

    // MARK: names

    func testWrongDNSNameIsANameMismatch() throws {
        try assertRejected(pki.serverForOtherName, purpose: .serverAuth, name: "localhost", .nameMismatch)
        try assertRejected(pki.server(.ecdsaP384), purpose: .serverAuth, name: "other.example", .nameMismatch)
        try assertRejected(pki.server(.ecdsaP384), purpose: .serverAuth, name: "ferry-server", .nameMismatch)
        XCTAssertNoThrow(try verify(pki.serverForOtherName, store: store, purpose: .serverAuth, name: "other.example"))
    }

    func testWrongIPAddressIsANameMismatch() throws {
        for name in ["127.0.0.2", "10.0.0.1", "::2", "::ffff:127.0.0.1"] {
            try assertRejected(pki.server(.ed25519), purpose: .serverAuth, name: name, .nameMismatch)
        }
        // An IP literal is never matched against DNS names, nor a DNS name against IP SANs.
        try assertRejected(pki.serverForOtherName, purpose: .serverAuth, name: "127.0.0.1", .nameMismatch)
        try assertRejected(pki.ipv6OnlyServer, purpose: .serverAuth, name: "localhost", .nameMismatch)
        XCTAssertNoThrow(try verify(pki.ipv6OnlyServer, store: store, purpose: .serverAuth, name: "2001:db8::1"))
        XCTAssertNoThrow(try verify(pki.sanOnlyServer, store: store, purpose: .serverAuth, name: "192.0.2.7"))
    }

    func testTheCommonNameIsNeverUsedForNameChecks() throws {
        try assertRejected(pki.cnOnlyServer, purpose: .serverAuth, name: "localhost", .nameMismatch)
    }

    func testWildcardsCoverOneWholeLabelOnly() throws {
        XCTAssertNoThrow(try verify(pki.wildcardServer, store: store, purpose: .serverAuth, name: "a.ferry.test"))
        for name in ["ferry.test", "a.b.ferry.test", "foo.partial.test", "f.partial.test"] {
            try assertRejected(pki.wildcardServer, purpose: .serverAuth, name: name, .nameMismatch)
        }
    }

    func testUnusableExpectedNamesAreMismatches() throws {
        for name in ["", "local\u{0}host", "[::1]"] {
            try assertRejected(pki.server(.ecdsaP256), purpose: .serverAuth, name: name, .nameMismatch)
        }
    }

    // MARK: keys and shape

    func testRSA1024LeafIsAWeakKey() throws {
        try assertRejected(pki.rsa1024Client, purpose: .clientAuth, name: nil, .weakKey)
    }

    func testKeyTypesFerryDoesNotVerifyAreWeakKeys() throws {
        try assertRejected(pki.ed448Client, purpose: .clientAuth, name: nil, .weakKey)
        try assertRejected(pki.p521Client, purpose: .clientAuth, name: nil, .weakKey)
    }

    func testKeyDescriptionsNameTypeAndSize() throws {
        let cases: [(TestIdentity, String)] = [
            (pki.rsa1024Client, "RSA 1024 bits"), (pki.server(.rsa2048), "RSA 2048 bits"),
            (pki.ed448Client, "ED448"), (pki.server(.ed25519), "ED25519"),
            (pki.p521Client, "EC secp521r1"), (pki.server(.ecdsaP256), "EC prime256v1"),
        ]
        for (identity, text) in cases {
            let leaf = try XCTUnwrap(Certificate.chain(fromPEM: identity.chainPEM).first)
            XCTAssertEqual(TrustStore.keyDescription(leaf.x509), text)
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testEmptyChainIsNoCertificate() throws {
        XCTAssertThrowsError(try store.verify(chain: [], purpose: .clientAuth, expectedName: nil,
                                              unixTime: pki.validUnixTime)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.kind, .noCertificate)
        }
    }

    func testOverlongChainIsRejectedBeforeOpenSSL() throws {
        let chain = try Certificate.chain(fromPEM: pki.intermediateServer.chainPEM)
        guard let intermediate = chain.last else { return XCTFail("no intermediate") }
        let padded = chain + Array(repeating: intermediate, count: TrustStore.maximumChainLength - 1)
        XCTAssertEqual(padded.count, TrustStore.maximumChainLength + 1)
        XCTAssertThrowsError(try store.verify(chain: padded, purpose: .serverAuth, expectedName: "localhost",
                                              unixTime: pki.validUnixTime)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.kind, .chainTooLong)
        }
        // At the limit, a repeated intermediate is harmless.
        XCTAssertNoThrow(try store.verify(chain: Array(padded.dropLast()), purpose: .serverAuth,
                                          expectedName: "localhost", unixTime: pki.validUnixTime))
    }

    func testTrustStoreRejectsBadBundles() {
        for bundle in [[], Array("garbage".utf8), pki.client(.ed25519).keyPEM, certificateDER(fromPEM: pki.caPEM)] {
            XCTAssertThrowsError(try TrustStore(pemBundle: bundle)) { error in
                XCTAssertEqual((error as? CryptoError)?.kind, .malformedInput)
            }
        }
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testErrorQueueIsEmptyAfterRejections() throws {
        try assertRejected(pki.otherCAClient, purpose: .clientAuth, name: nil, .untrustedIssuer)
        try assertRejected(pki.server(.ed25519), purpose: .serverAuth, name: "nope.example", .nameMismatch)
        try assertRejected(pki.rsa1024Client, purpose: .clientAuth, name: nil, .weakKey)
        XCTAssertTrue(openSSLErrorQueueIsEmpty())
    }

    func testOneStoreVerifiesFromManyThreadsAtOnce() throws {
        let store = try store
        let chains = try TestKeyType.allCases.map { try Certificate.chain(fromPEM: pki.server($0).chainPEM) }
        let rejected = try Certificate.chain(fromPEM: pki.otherCAClient.chainPEM)
        let time = pki.validUnixTime
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do {
                try store.verify(chain: chains[i % chains.count], purpose: .serverAuth, expectedName: "localhost",
                                 unixTime: time)
            } catch { failures.add("accepted chain \(i): \(error)") }
            do {
                try store.verify(chain: rejected, purpose: .clientAuth, expectedName: nil, unixTime: time)
                failures.add("rejected chain \(i) verified")
            } catch let error as CertificateVerificationError where error.kind == .untrustedIssuer {
            } catch { failures.add("rejected chain \(i): \(error)") }
        }
        XCTAssertEqual(failures.all, [])
    }

    func testVerifyResultCodesMapToDistinctKinds() {
        let table: [(Int32, Kind)] = [
            (10, .expired), (9, .notYetValid), (2, .untrustedIssuer), (20, .untrustedIssuer), (21, .untrustedIssuer),
            (18, .selfSigned), (19, .selfSigned), (26, .wrongPurpose), (32, .wrongPurpose), (39, .wrongPurpose),
            (62, .nameMismatch), (64, .nameMismatch), (7, .badSignature), (4, .badSignature), (22, .chainTooLong),
            (66, .weakKey), (67, .weakKey), (13, .malformed), (14, .malformed), (79, .other), (68, .weakKey),  // 68: CA_MD_TOO_WEAK (SHA-1)
        ]
        for (code, kind) in table {
            let error = CertificateVerificationError.fromVerifyResult(code, depth: 0)
            XCTAssertEqual(error.kind, kind, "X509_V_ERR \(code)")
            XCTAssertTrue(error.detail.contains("X509_V_ERR \(code)"), error.detail)
        }
        XCTAssertTrue(CertificateVerificationError.fromVerifyResult(10, depth: 0).detail.contains("expired"))
    }

    // MARK: helpers

    private func verify(_ identity: TestIdentity, store: TrustStore, purpose: CertificatePurpose, name: String?,
                        at time: Int64? = nil) throws {
        let chain = try Certificate.chain(fromPEM: identity.chainPEM)
        try store.verify(chain: chain, purpose: purpose, expectedName: name, unixTime: time ?? pki.validUnixTime)
    }

    private func assertRejected(_ identity: TestIdentity, store: TrustStore? = nil, purpose: CertificatePurpose,
                                name: String?, at time: Int64? = nil, _ kind: Kind,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let store = try store ?? self.store
        XCTAssertThrowsError(try verify(identity, store: store, purpose: purpose, name: name, at: time),
                             file: file, line: line) { error in
            guard let error = error as? CertificateVerificationError else {
                return XCTFail("not a verification error: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        }
    }
}

private final class Failures: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}
