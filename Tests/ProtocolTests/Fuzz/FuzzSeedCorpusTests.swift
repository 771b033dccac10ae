// The seed corpus (Fuzz/corpus/<target>/, docs/FUZZING.md) is made here, from real sessions in memory: this test
// records them, splits them into seeds for every target, and replays each seed through its harness, so a change that
// breaks a harness format or a seed's story fails here. To rewrite the committed corpus:
//     FERRY_FUZZ_CORPUS=$PWD/Fuzz/corpus swift test --filter FuzzSeedCorpusTests

import XCTest
@testable @_spi(Fuzzing) import Protocol
@testable import FuzzSupport

final class FuzzSeedCorpusTests: XCTestCase {
    func testSeedCorpusFromRealSessions() throws {
        var corpus = SeedCorpus()
        for story in RecordedStory.all {
            let session = try story.record()
            // Only the two refused handshakes end in an error (the server's own, or the client's alert).
            let refused = story.clientSuites != nil || story.serverName != FuzzPKI.serverName
            XCTAssertTrue(refused || session.serverError.map { $0.origin == .peer } ?? true, "\(story.name): the server failed")
            corpus.add(session, story)
        }
        var genuine: [SeedScripts.Genuine] = []
        for (suite, group, hash) in [(CipherSuite.aes256GCM, KeyExchangeGroup.x25519, HashFunction.sha256),
                                     (.chacha20Poly1305, .x25519MLKEM768, .sha384), (.aes128GCM, .secp256r1, .sha512),
                                     (.aes256CBCHMACSHA256, .x25519, .sha256)] {
            genuine += SeedScripts.genuine(suite: suite, group: group, hash: hash)
        }
        for script in genuine {
            corpus.add(script.bytes, to: "ServerConnection")
            corpus.add(script.bytes, to: "ClientConnection")
        }
        for identity in [FuzzPKI.server, FuzzPKI.client] {
            let client = identity.chain.first?.identity == "fuzz-client"
            let body = try WireFuzzing.certificateVerifyBody(identity, scheme: identity.key.schemes[0], client: client,
                                                             transcriptHash: FuzzPKI.transcriptHash(.sha256))
            corpus.add(MessageFuzzer.seed(.certificateVerify, body: body, family: .handshake), to: "HandshakeMessages")
        }

        // Every target has seeds, the whole stays small, and every seed runs through its harness.
        let targets = ["RecordLayer", "HandshakeMessages", "SessionMessages", "UploadMessages", "KeyShares",
                       "ServerConnection", "ClientConnection"]
        for target in targets { XCTAssertFalse(corpus.seeds[target, default: []].isEmpty, "no seeds for \(target)") }
        let selectors = Set(corpus.seeds["UploadMessages", default: []].compactMap(\.first))
        for (index, message) in FuzzedMessage.upload.enumerated() {
            XCTAssertTrue(selectors.contains(UInt8(index)), "no UploadMessages seed for \(message)")
        }
        XCTAssertLessThan(corpus.totalBytes, 400_000)
        for script in genuine {
            for target in [SessionFuzzer.Target.server, .client] {
                let outcome = SessionFuzzer.run(script.bytes, target: target)
                XCTAssertTrue(script.expected(outcome), "\(script.name): \(outcome)")
            }
        }
        for (target, seeds) in corpus.seeds {
            for seed in seeds { Self.replay(seed, target: target) }
        }

        if let directory = ProcessInfo.processInfo.environment["FERRY_FUZZ_CORPUS"] {
            try corpus.write(to: URL(fileURLWithPath: directory, isDirectory: true))
            print("FuzzSeedCorpusTests: wrote \(corpus.seeds.values.map(\.count).reduce(0, +)) seeds, "
                + "\(corpus.totalBytes) bytes, to \(directory)")
        }
    }

    /// Runs one input through the harness of `target`, as the fuzzer does.
    static func replay(_ input: [UInt8], target: String) {
        switch target {
        case "RecordLayer": RecordLayerFuzzer.run(input)
        case "HandshakeMessages": MessageFuzzer.run(input, family: .handshake)
        case "SessionMessages": MessageFuzzer.run(input, family: .session)
        case "UploadMessages": MessageFuzzer.run(input, family: .upload)
        case "KeyShares": KeyShareFuzzer.run(input)
        case "ServerConnection": SessionFuzzer.run(input, target: .server)
        case "ClientConnection": SessionFuzzer.run(input, target: .client)
        default: XCTFail("no harness for \(target)")
        }
    }
}
