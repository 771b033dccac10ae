// §14.8–§14.10 in memory: Delete, Rename and Verify between two real connections once `store` was agreed — each
// answered once, both sides idle and able to upload after; a recursive Delete answered in batches; the messages' exact
// decoding (flags, lengths, paths, the namespace's bound); the requests refused where §14.1 forbids them; and every
// check the client makes of an answer, each ending the session.
import XCTest
@_spi(Fuzzing) @testable import Protocol

private func entry(_ path: String) -> StoredFileEntry {
    StoredFileEntry(path: path, size: 3000, sha256: [UInt8](repeating: 0xAB, count: 32),
                    modified: WireTime(seconds: 1_700_000_000, nanoseconds: 5),
                    uploaded: WireTime(seconds: 1_800_000_000, nanoseconds: 999_999_999), uploader: "alice")
}

private let recorded = [UInt8](repeating: 0x11, count: 32)
private let reread = [UInt8](repeating: 0x22, count: 32)

private func encoded(_ encode: (inout WireEncoder) -> Void) -> [UInt8] {
    var encoder = WireEncoder()
    encode(&encoder)
    return encoder.bytes
}

/// The alert a decoder's refusal of `body` carries, nil when it decodes.
private func alert<T>(_ decode: (ArraySlice<UInt8>) throws -> T, _ body: [UInt8]) -> AlertCode? {
    do {
        _ = try decode(body[...])
        return nil
    } catch {
        return (error as? ProtocolError)?.alert
    }
}

final class StoreChangeRequestTests: XCTestCase {
    // MARK: The messages (§14.8–§14.10)

    func testEveryNewMessageDecodesToWhatWasEncoded() throws {
        for delete in [DeleteRequest(path: "a"), DeleteRequest(namespace: "team", path: "docs/old", recursive: true)] {
            XCTAssertEqual(try DeleteRequest.decode(encoded(delete.encode)[...]), delete)
        }
        for outcome in [DeleteOutcome(files: 1, bytes: 0), DeleteOutcome(files: .max, bytes: .max, more: true)] {
            XCTAssertEqual(try DeleteOutcome.decode(encoded(outcome.encode)[...]), outcome)
        }
        for rename in [RenameRequest(from: "a", to: "b/c"), RenameRequest(namespace: "team", from: "x/y", to: "z", overwrite: true)] {
            XCTAssertEqual(try RenameRequest.decode(encoded(rename.encode)[...]), rename)
        }
        let verify = VerifyRequest(namespace: "team", path: "docs/a.txt")
        XCTAssertEqual(try VerifyRequest.decode(encoded(verify.encode)[...]), verify)
        let result = VerifyResult(size: 1 << 40, recorded: recorded, read: reread)
        XCTAssertEqual(try VerifyResult.decode(encoded(result.encode)[...]), result)

        // The layouts of §14.8–§14.10: u16-prefixed names, big-endian counts, one flags byte.
        XCTAssertEqual(encoded(DeleteRequest(namespace: "ns", path: "a/b", recursive: true).encode),
                       [0, 2, 0x6E, 0x73, 0, 3, 0x61, 0x2F, 0x62, 0x01])
        XCTAssertEqual(encoded(DeleteOutcome(files: 2, bytes: 0x0102, more: true).encode),
                       [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 2, 0x01])
        XCTAssertEqual(encoded(RenameRequest(from: "a", to: "b", overwrite: true).encode), [0, 0, 0, 1, 0x61, 0, 1, 0x62, 0x01])
        XCTAssertEqual(encoded(VerifyRequest(path: "a").encode), [0, 0, 0, 1, 0x61])
        XCTAssertEqual(encoded(result.encode), [0, 0, 1, 0, 0, 0, 0, 0] + recorded + reread)

        // The fuzz targets decode each with its own decoder.
        let bodies: [(FuzzedMessage, [UInt8])] = [
            (.delete, encoded(DeleteRequest(path: "a", recursive: true).encode)),
            (.deleted, encoded(DeleteOutcome(files: 3, bytes: 9, more: true).encode)),
            (.rename, encoded(RenameRequest(from: "a", to: "b").encode)),
            (.verify, encoded(verify.encode)), (.verified, encoded(result.encode)),
        ]
        for (message, body) in bodies {
            XCTAssertEqual(try WireFuzzing.decodeAndEncode(message, body[...]), body, "\(message)")
            XCTAssertTrue(FuzzedMessage.upload.contains(message), "\(message) is one of UploadMessages' decoders")
        }
    }

    func testUnknownFlagsAreDecodeErrors() {
        for flags: UInt8 in [0x02, 0x80, 0xFF] {
            var delete = encoded(DeleteRequest(path: "a").encode)
            delete[delete.count - 1] = flags
            XCTAssertEqual(alert(DeleteRequest.decode, delete), .decodeError, "Delete 0x\(String(flags, radix: 16))")
            var deleted = encoded(DeleteOutcome(files: 1, bytes: 1).encode)
            deleted[deleted.count - 1] = flags
            XCTAssertEqual(alert(DeleteOutcome.decode, deleted), .decodeError, "Deleted 0x\(String(flags, radix: 16))")
            var rename = encoded(RenameRequest(from: "a", to: "b").encode)
            rename[rename.count - 1] = flags
            XCTAssertEqual(alert(RenameRequest.decode, rename), .decodeError, "Rename 0x\(String(flags, radix: 16))")
        }
    }

    func testTruncatedOrTrailingBytesAreDecodeErrors() {
        let cases: [(String, [UInt8], ([UInt8]) -> AlertCode?)] = [
            ("Delete", encoded(DeleteRequest(namespace: "n", path: "a/b", recursive: true).encode), { alert(DeleteRequest.decode, $0) }),
            ("Deleted", encoded(DeleteOutcome(files: 4, bytes: 5, more: true).encode), { alert(DeleteOutcome.decode, $0) }),
            ("Rename", encoded(RenameRequest(namespace: "n", from: "a", to: "b").encode), { alert(RenameRequest.decode, $0) }),
            ("Verify", encoded(VerifyRequest(namespace: "n", path: "a/b").encode), { alert(VerifyRequest.decode, $0) }),
            ("Verified", encoded(VerifyResult(size: 7, recorded: recorded, read: reread).encode), { alert(VerifyResult.decode, $0) }),
        ]
        for (name, body, decode) in cases {
            XCTAssertNil(decode(body), "\(name) whole")
            for length in 0..<body.count {
                XCTAssertEqual(decode(Array(body[..<length])), .decodeError, "\(name) cut to \(length) of \(body.count) bytes")
            }
            XCTAssertEqual(decode(body + [0]), .decodeError, "\(name) with a trailing byte")
        }
    }

    func testPathsThatNameNoFileOrDirectoryAreIllegal() {
        for bad in ["", "/", "/a", "a/", "/a/b/"] {
            XCTAssertEqual(alert(DeleteRequest.decode, encoded(DeleteRequest(path: bad, recursive: true).encode)),
                           .illegalParameter, "Delete \"\(bad)\"")
            XCTAssertEqual(alert(RenameRequest.decode, encoded(RenameRequest(from: bad, to: "b").encode)),
                           .illegalParameter, "Rename from \"\(bad)\"")
            XCTAssertEqual(alert(RenameRequest.decode, encoded(RenameRequest(from: "a", to: bad).encode)),
                           .illegalParameter, "Rename to \"\(bad)\"")
            XCTAssertEqual(alert(VerifyRequest.decode, encoded(VerifyRequest(path: bad).encode)), .illegalParameter, "Verify \"\(bad)\"")
        }
    }

    func testANamespaceOrPathOverItsBoundIsADecodeError() {
        let longest = String(repeating: "n", count: Limits.maxNamespaceLength)
        let over = longest + "n"
        XCTAssertNil(alert(DeleteRequest.decode, encoded(DeleteRequest(namespace: longest, path: "a").encode)))
        XCTAssertNil(alert(RenameRequest.decode, encoded(RenameRequest(namespace: longest, from: "a", to: "b").encode)))
        XCTAssertNil(alert(VerifyRequest.decode, encoded(VerifyRequest(namespace: longest, path: "a").encode)))
        XCTAssertEqual(alert(DeleteRequest.decode, encoded(DeleteRequest(namespace: over, path: "a").encode)), .decodeError)
        XCTAssertEqual(alert(RenameRequest.decode, encoded(RenameRequest(namespace: over, from: "a", to: "b").encode)), .decodeError)
        XCTAssertEqual(alert(VerifyRequest.decode, encoded(VerifyRequest(namespace: over, path: "a").encode)), .decodeError)
        let longPath = String(repeating: "p", count: Limits.maxPathLength + 1)
        XCTAssertEqual(alert(DeleteRequest.decode, encoded(DeleteRequest(path: longPath).encode)), .decodeError)
        XCTAssertEqual(alert(RenameRequest.decode, encoded(RenameRequest(from: "a", to: longPath).encode)), .decodeError)
        XCTAssertEqual(alert(VerifyRequest.decode, encoded(VerifyRequest(path: longPath).encode)), .decodeError)
    }

    func testAProblemIsFoundInEveryRequestThatBreaksTheRules() {
        let longest = String(repeating: "n", count: Limits.maxNamespaceLength)
        let longestPath = String(repeating: "p", count: Limits.maxPathLength)
        let good: [StoreRequest] = [
            .delete(DeleteRequest(path: "a")), .delete(DeleteRequest(namespace: longest, path: longestPath, recursive: true)),
            .rename(RenameRequest(from: "a/b", to: "c/d")), .rename(RenameRequest(namespace: longest, from: longestPath, to: "b")),
            .verify(VerifyRequest(path: "a")), .verify(VerifyRequest(namespace: longest, path: longestPath)),
        ]
        for request in good { XCTAssertNil(request.problem, "\(request)") }
        let bad: [(StoreRequest, String)] = [
            (.delete(DeleteRequest(namespace: longest + "n", path: "a")), "namespace"),
            (.delete(DeleteRequest(path: longestPath + "p")), "longer than \(Limits.maxPathLength)"),
            (.delete(DeleteRequest(path: "", recursive: true)), "\"\""),
            (.delete(DeleteRequest(path: "/a")), "\"/a\""),
            (.delete(DeleteRequest(path: "a/")), "\"a/\""),
            (.rename(RenameRequest(namespace: longest + "n", from: "a", to: "b")), "namespace"),
            (.rename(RenameRequest(from: "", to: "b")), "\"\""),
            (.rename(RenameRequest(from: "a", to: "b/")), "\"b/\""),
            (.rename(RenameRequest(from: "a", to: longestPath + "p")), "longer than \(Limits.maxPathLength)"),
            (.verify(VerifyRequest(namespace: longest + "n", path: "a")), "namespace"),
            (.verify(VerifyRequest(path: "/a")), "\"/a\""),
            (.verify(VerifyRequest(path: "")), "\"\""),
        ]
        for (request, said) in bad {
            let problem = request.problem
            XCTAssertNotNil(problem, "\(request)")
            XCTAssertTrue(problem?.contains(said) ?? false, "\(request): \(problem ?? "nil") does not say \(said)")
        }
    }

    // MARK: Exchanges between two connections

    /// Sends `request`, checks what the server got, answers it; returns the client's last event.
    private func ask(_ pair: inout SessionPair, _ request: StoreRequest, answer: StoreAnswer,
                     file: StaticString = #filePath, line: UInt = #line) -> ClientEvent? {
        XCTAssertTrue(pair.client.canSendStoreRequest, file: file, line: line)
        pair.client.sendStoreRequest(request, now: pair.now)
        XCTAssertFalse(pair.client.canSendStoreRequest, "one request at a time", file: file, line: line)
        XCTAssertFalse(pair.client.canStartUpload, "no upload while a request is unanswered", file: file, line: line)
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .storeRequested(request), file: file, line: line)
        XCTAssertEqual(pair.server.pendingStoreRequest, request, file: file, line: line)
        pair.server.answerStore(answer, now: pair.now)
        pair.pump()
        XCTAssertNil(pair.server.pendingStoreRequest, file: file, line: line)
        XCTAssertTrue(pair.client.canSendStoreRequest, "idle again", file: file, line: line)
        return pair.clientEvents.last
    }

    /// Both sides take an upload after the requests: the server is idle and the client too.
    private func assertUploadsGoOn(_ pair: inout SessionPair, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(pair.client.canStartUpload, file: file, line: line)
        let data: [UInt8] = [9, 8, 7, 6, 5]
        pair.upload(data, path: "after.bin")
        XCTAssertEqual(pair.clientEvents.last,
                       .uploadCommitted(UploadReceipt(storedName: "after.bin", size: 5, digest: DigestContext.hash(.sha256, data))),
                       file: file, line: line)
        XCTAssertEqual(pair.received, data, file: file, line: line)
        XCTAssertNil(pair.clientError, file: file, line: line)
        XCTAssertNil(pair.serverError, file: file, line: line)
    }

    func testDeleteRenameAndVerifyAreAnsweredOnceEachAndUploadsGoOn() throws {
        var pair = try SessionPair.established()
        let delete = DeleteRequest(path: "docs/old.txt")
        XCTAssertEqual(ask(&pair, .delete(delete), answer: .deleted(DeleteOutcome(files: 1, bytes: 3000))),
                       .storeAnswered(.deleted(DeleteOutcome(files: 1, bytes: 3000))))
        let rename = RenameRequest(namespace: "alice", from: "docs/a.txt", to: "archive/a.txt", overwrite: true)
        XCTAssertEqual(ask(&pair, .rename(rename), answer: .stat(.file(entry("archive/a.txt")))),
                       .storeAnswered(.stat(.file(entry("archive/a.txt")))))
        let verify = VerifyRequest(path: "archive/a.txt")
        let result = VerifyResult(size: 3000, recorded: recorded, read: reread)
        XCTAssertEqual(ask(&pair, .verify(verify), answer: .verified(result)), .storeAnswered(.verified(result)))
        let refusals: [(StoreRequest, UploadFailure)] = [
            (.delete(DeleteRequest(path: "docs", recursive: false)), UploadFailure(.badPath, "'docs' is a directory")),
            (.rename(RenameRequest(from: "a", to: "b")), UploadFailure(.exists, "'b' is stored")),
            (.verify(VerifyRequest(path: "gone")), UploadFailure(.notFound, "'gone' is not stored")),
        ]
        for (request, failure) in refusals {
            XCTAssertEqual(ask(&pair, request, answer: .failed(failure)), .storeAnswered(.failed(failure)), request.messageName)
        }
        XCTAssertEqual(pair.clientEvents.count, 6, "one answer a request: \(pair.clientEvents)")
        XCTAssertEqual(pair.serverEvents.count, 6, "one event a request: \(pair.serverEvents)")
        assertUploadsGoOn(&pair)
    }

    func testARecursiveDeleteThatSaysMoreIsAskedAgainUntilDone() throws {
        var pair = try SessionPair.established()
        let delete = DeleteRequest(path: "tree", recursive: true)
        let batches = [DeleteOutcome(files: 1000, bytes: 1 << 30, more: true), DeleteOutcome(files: 1, bytes: 0, more: true),
                       DeleteOutcome(files: 17, bytes: 4096)]
        for outcome in batches {
            XCTAssertEqual(ask(&pair, .delete(delete), answer: .deleted(outcome)), .storeAnswered(.deleted(outcome)))
        }
        XCTAssertEqual(pair.serverEvents, batches.map { _ in ServerEvent.storeRequested(.delete(delete)) }, "the same Delete each time")
        XCTAssertEqual(pair.clientEvents, batches.map { ClientEvent.storeAnswered(.deleted($0)) })
        assertUploadsGoOn(&pair)
    }

    // MARK: The client's checks of an answer

    /// The client sends `request` and gets `type` with `body`, sealed by the server past its own checks.
    private func answer(_ request: StoreRequest, with type: MessageType, _ body: [UInt8]) throws -> SessionPair {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(request, now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.server.pendingStoreRequest, request)
        XCTAssertTrue(pair.server.sealForFuzzing(typeByte: type.rawValue, body: body))
        pair.pump()
        return pair
    }

    private func assertClientRefuses(_ request: StoreRequest, _ type: MessageType, _ body: [UInt8], with code: AlertCode,
                                     _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let pair = try answer(request, with: type, body)
        XCTAssertEqual(pair.clientError?.alert, code, label, file: file, line: line)
        XCTAssertTrue(pair.client.isClosed, label, file: file, line: line)
        XCTAssertTrue(pair.clientEvents.isEmpty, "\(label): no answer reached the caller: \(pair.clientEvents)", file: file, line: line)
        XCTAssertEqual(pair.serverError?.alert, code, "\(label): the server hears why", file: file, line: line)
    }

    func testTheClientRefusesADeletedThatDoesNotFitItsDelete() throws {
        let file = DeleteRequest(path: "a")
        let tree = DeleteRequest(path: "t", recursive: true)
        let bad: [(DeleteRequest, DeleteOutcome, String)] = [
            (file, DeleteOutcome(files: 2, bytes: 10), "two files for a non-recursive Delete"),
            (file, DeleteOutcome(files: 0, bytes: 0), "no file for a non-recursive Delete"),
            (file, DeleteOutcome(files: 1, bytes: 10, more: true), "more for a non-recursive Delete"),
            (tree, DeleteOutcome(files: 0, bytes: 0, more: true), "more after a batch that removed nothing"),
        ]
        for (request, outcome, label) in bad {
            try assertClientRefuses(.delete(request), .deleted, encoded(outcome.encode), with: .illegalParameter, label)
        }
        // What fits is taken: the same check passes a good answer.
        let fine = try answer(.delete(tree), with: .deleted, encoded(DeleteOutcome(files: 1, bytes: 10, more: true).encode))
        XCTAssertNil(fine.clientError)
        XCTAssertEqual(fine.clientEvents, [.storeAnswered(.deleted(DeleteOutcome(files: 1, bytes: 10, more: true)))])
        var flags = encoded(DeleteOutcome(files: 1, bytes: 10).encode)
        flags[flags.count - 1] = 0x02
        try assertClientRefuses(.delete(file), .deleted, flags, with: .decodeError, "unknown Deleted flags")
    }

    func testTheClientRefusesARenameAnsweredWithAnythingButItsNewFile() throws {
        let rename = RenameRequest(from: "a/old", to: "b/new")
        let bad: [(StatResult, String)] = [
            (.file(entry("a/old")), "the file under its old name"), (.file(entry("b/other")), "another file"),
            (.directory(path: "b/new", files: 1, bytes: 3000), "a directory at the new path"),
        ]
        for (result, label) in bad {
            try assertClientRefuses(.rename(rename), .statResult, encoded(result.encode), with: .illegalParameter, label)
        }
        let fine = try answer(.rename(rename), with: .statResult, encoded(StatResult.file(entry("b/new")).encode))
        XCTAssertEqual(fine.clientEvents, [.storeAnswered(.stat(.file(entry("b/new"))))])
    }

    func testTheClientRefusesAnAnswerOfAnotherRequest() throws {
        // §14.6: in awaitingStore every store answer but the request's own is unexpected_message (a Deleted is no
        // answer to a Verify at all, not a wrong one).
        let verified = encoded(VerifyResult(size: 1, recorded: recorded, read: recorded).encode)
        let deleted = encoded(DeleteOutcome(files: 1, bytes: 1).encode)
        let stat = encoded(StatResult.file(entry("a")).encode)
        let wrong: [(StoreRequest, MessageType, [UInt8])] = [
            (.verify(VerifyRequest(path: "a")), .deleted, deleted), (.verify(VerifyRequest(path: "a")), .statResult, stat),
            (.delete(DeleteRequest(path: "a")), .verified, verified), (.delete(DeleteRequest(path: "a")), .statResult, stat),
            (.rename(RenameRequest(from: "b", to: "a")), .deleted, deleted),
            (.rename(RenameRequest(from: "b", to: "a")), .verified, verified),
            (.stat(StatRequest(path: "a")), .deleted, deleted), (.stat(StatRequest(path: "a")), .verified, verified),
        ]
        for (request, type, body) in wrong {
            try assertClientRefuses(request, type, body, with: .unexpectedMessage, "\(type) for \(request.messageName)")
        }
        try assertClientRefuses(.verify(VerifyRequest(path: "a")), .verified, Array(verified.dropLast()), with: .decodeError,
                                "a Verified one byte short")
        try assertClientRefuses(.verify(VerifyRequest(path: "a")), .operationError,
                                encoded(UploadFailure(.aborted, "x").encode), with: .illegalParameter, "aborted answers uploads only")
    }

    // MARK: Requests where §14.1 forbids them

    private static let requests: [(MessageType, [UInt8])] = [
        (.delete, encoded(DeleteRequest(path: "x", recursive: true).encode)),
        (.rename, encoded(RenameRequest(from: "x", to: "y").encode)),
        (.verify, encoded(VerifyRequest(path: "x").encode)),
    ]

    func testASecondRequestBeforeTheAnswerEndsTheSession() throws {
        let first: [StoreRequest] = [.delete(DeleteRequest(path: "a")), .rename(RenameRequest(from: "a", to: "b")),
                                     .verify(VerifyRequest(path: "a"))]
        for request in first {
            for (type, body) in Self.requests {
                var pair = try SessionPair.established()
                pair.client.sendStoreRequest(request, now: pair.now)
                XCTAssertTrue(pair.client.sealForFuzzing(typeByte: type.rawValue, body: body))
                pair.pump()
                XCTAssertEqual(pair.serverEvents, [.storeRequested(request)], "\(type) after \(request.messageName)")
                XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage, "\(type) after \(request.messageName)")
                XCTAssertTrue(pair.server.isClosed)
            }
        }
    }

    func testARequestWhileAPipelinedUploadIsUnansweredEndsTheSession() throws {
        for (type, body) in Self.requests {
            var pair = try SessionPair.established()
            pair.sendPipelined("p.bin", [1, 2, 3])
            XCTAssertFalse(pair.client.canSendStoreRequest, "a pipelined upload is unanswered")
            XCTAssertTrue(pair.client.sealForFuzzing(typeByte: type.rawValue, body: body))
            pair.pump()
            XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage, "\(type)")
            XCTAssertFalse(pair.serverEvents.contains { if case .storeRequested = $0 { true } else { false } }, "\(type)")
        }
    }

    func testWithoutTheStoreFeatureARequestEndsTheSession() throws {
        for (type, body) in Self.requests {
            var pair = try SessionPair.established(server: [.fileTimes, .pipelining])
            XCTAssertFalse(pair.client.canSendStoreRequest)
            XCTAssertTrue(pair.client.sealForFuzzing(typeByte: type.rawValue, body: body))
            pair.pump()
            XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage, "\(type)")
        }
    }

    func testTheServerRefusesABadRequestWithTheAlertOfItsDecoding() throws {
        let bad: [(MessageType, [UInt8], AlertCode)] = [
            (.delete, encoded(DeleteRequest(path: "a/").encode), .illegalParameter),
            (.rename, encoded(RenameRequest(from: "/a", to: "b").encode), .illegalParameter),
            (.verify, encoded(VerifyRequest(path: "").encode), .illegalParameter),
            (.delete, Array(encoded(DeleteRequest(path: "a").encode).dropLast()) + [0x04], .decodeError),
            (.verify, encoded(VerifyRequest(path: "a").encode) + [0], .decodeError),
        ]
        for (type, body, code) in bad {
            var pair = try SessionPair.established()
            XCTAssertTrue(pair.client.sealForFuzzing(typeByte: type.rawValue, body: body))
            pair.pump()
            XCTAssertEqual(pair.serverError?.alert, code, "\(type) \(body)")
            XCTAssertTrue(pair.serverEvents.isEmpty, "\(type): nothing reached the daemon")
        }
    }
}
