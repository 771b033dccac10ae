// §14 in memory: Stat and List between two real connections once `store` was agreed — each answered once, the session
// idle again after; the feature's negotiation; the requests refused where §14.1 forbids them (not agreed, pipelined
// uploads unanswered, a second request before the answer); the server's bounds on a request; and every check the
// client makes of an answer (ListPage.problem, the StatResult's path), each ending the session with illegal_parameter.
import XCTest
@_spi(Fuzzing) @testable import Protocol

private func entry(_ path: String, size: UInt64 = 1, modified: WireTime? = WireTime(seconds: 1_700_000_000, nanoseconds: 5))
    -> StoredFileEntry {
    StoredFileEntry(path: path, size: size, sha256: [UInt8](repeating: 0xAB, count: 32), modified: modified,
                    uploaded: WireTime(seconds: 1_800_000_000, nanoseconds: 999_999_999), uploader: "alice")
}

final class StoreRequestTests: XCTestCase {
    private func ask(_ pair: inout SessionPair, _ request: StoreRequest, answer: StoreAnswer) -> ClientEvent? {
        XCTAssertTrue(pair.client.canSendStoreRequest)
        pair.client.sendStoreRequest(request, now: pair.now)
        XCTAssertFalse(pair.client.canSendStoreRequest, "one request at a time")
        pair.pump()
        XCTAssertEqual(pair.serverEvents.last, .storeRequested(request))
        XCTAssertEqual(pair.server.pendingStoreRequest, request)
        pair.server.answerStore(answer, now: pair.now)
        pair.pump()
        XCTAssertNil(pair.server.pendingStoreRequest)
        return pair.clientEvents.last
    }

    func testStatAndListAreAnsweredOnceEachAndTheSessionGoesOn() throws {
        var pair = try SessionPair.established()
        XCTAssertTrue(pair.client.storeAgreed)
        let stat = StatRequest(path: "docs/a.txt")
        XCTAssertEqual(ask(&pair, .stat(stat), answer: .stat(.file(entry("docs/a.txt")))),
                       .storeAnswered(.stat(.file(entry("docs/a.txt")))))
        let directory = StatResult.directory(path: "docs", files: 3, bytes: 1 << 40)
        XCTAssertEqual(ask(&pair, .stat(StatRequest(path: "docs")), answer: .stat(directory)), .storeAnswered(.stat(directory)))
        let list = ListRequest(directory: "docs/", limit: 2)
        let page = ListPage(entries: [.file(entry("docs/a.txt", modified: nil)), .directory("docs/sub")], nextCursor: "docs/sub/")
        XCTAssertEqual(ask(&pair, .list(list), answer: .list(page)), .storeAnswered(.list(page)))
        var next = list
        next.cursor = "docs/sub/"
        let last = ListPage(entries: [.file(entry("docs/z"))], nextCursor: "")
        XCTAssertEqual(ask(&pair, .list(next), answer: .list(last)), .storeAnswered(.list(last)))
        let refusal = UploadFailure(.notFound, "'nope' is not stored")
        XCTAssertEqual(ask(&pair, .stat(StatRequest(path: "nope")), answer: .failed(refusal)), .storeAnswered(.failed(refusal)))
        XCTAssertNil(pair.clientError)
        XCTAssertNil(pair.serverError)
        XCTAssertTrue(pair.client.canStartUpload, "uploads go on after store requests")
    }

    func testWithoutTheStoreFeatureNoRequestGoesAndOneInjectedEndsTheSession() throws {
        var pair = try SessionPair.established(server: [.fileTimes, .pipelining])
        XCTAssertFalse(pair.client.storeAgreed)
        XCTAssertFalse(pair.client.canSendStoreRequest)
        var encoder = WireEncoder()
        StatRequest(path: "a").encode(into: &encoder)
        XCTAssertTrue(pair.client.sealForFuzzing(typeByte: MessageType.stat.rawValue, body: encoder.bytes))
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
    }

    func testARequestWhilePipelinedUploadsAreUnansweredEndsTheSession() throws {
        var pair = try SessionPair.established()
        pair.sendPipelined("p.bin", [1, 2, 3])
        XCTAssertFalse(pair.client.canSendStoreRequest, "a pipelined upload is unanswered")
        var encoder = WireEncoder()
        StatRequest(path: "a").encode(into: &encoder)
        XCTAssertTrue(pair.client.sealForFuzzing(typeByte: MessageType.stat.rawValue, body: encoder.bytes))
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
    }

    func testASecondRequestBeforeTheAnswerEndsTheSession() throws {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(.stat(StatRequest(path: "a")), now: pair.now)
        var encoder = WireEncoder()
        StatRequest(path: "b").encode(into: &encoder)
        XCTAssertTrue(pair.client.sealForFuzzing(typeByte: MessageType.stat.rawValue, body: encoder.bytes))
        pair.pump()
        XCTAssertEqual(pair.serverError?.alert, .unexpectedMessage)
    }

    // MARK: The server's checks of a request (§14.2, §14.3)

    func testRequestsOutsideTheirBoundsAreRefusedWhenDecoded() {
        func list(_ directory: String, cursor: String = "", limit: UInt16 = 10, flags: UInt8 = 0) -> [UInt8] {
            var encoder = WireEncoder()
            encoder.text("")
            encoder.text(directory)
            encoder.u8(flags)
            encoder.text(cursor)
            encoder.u16(limit)
            return encoder.bytes
        }
        XCTAssertNoThrow(try ListRequest.decode(list("")[...]))
        XCTAssertNoThrow(try ListRequest.decode(list("a/b/", cursor: "a/b/c", limit: 1000, flags: 1)[...]))
        for (body, alert) in [(list("a"), AlertCode.illegalParameter), (list("/a/"), .illegalParameter),
                              (list("a/", cursor: "b/c"), .illegalParameter), (list("a/", cursor: "a/"), .illegalParameter),
                              (list("", limit: 0), .illegalParameter), (list("", limit: 1001), .illegalParameter),
                              (list("", flags: 2), .decodeError), (Array(list("")[..<5]), .decodeError),
                              (list("") + [0], .decodeError)] {
            XCTAssertThrowsError(try ListRequest.decode(body[...])) { XCTAssertEqual(($0 as? ProtocolError)?.alert, alert) }
        }
        // On bytes, never Swift's Characters: a cursor canonically equivalent to one below the directory, whose bytes
        // are not (its range would start below the directory's), and a "/" hidden in a Character by a combining mark.
        let composed = "\u{C9}ditions/", decomposed = "E\u{301}ditions/x"
        XCTAssertTrue(decomposed.hasPrefix(composed), "Swift's hasPrefix: canonical equivalence")
        XCTAssertNoThrow(try ListRequest.decode(list("a/", cursor: "a/\u{301}x")[...]), "a key whose bytes are below")
        for body in [list(composed, cursor: decomposed), list("/\u{301}a/"), list("a/\u{301}", cursor: "a/\u{301}x")] {
            XCTAssertThrowsError(try ListRequest.decode(body[...])) {
                XCTAssertEqual(($0 as? ProtocolError)?.alert, .illegalParameter)
            }
        }
        for path in ["/\u{301}etc", "/\u{301}"] {
            var hidden = WireEncoder()
            hidden.text("")
            hidden.text(path)
            XCTAssertThrowsError(try StatRequest.decode(hidden.bytes[...]), path) {
                XCTAssertEqual(($0 as? ProtocolError)?.alert, .illegalParameter)
            }
            XCTAssertNotNil(StoreRequest.get(GetRequest(path: path)).problem, path)
            XCTAssertNotNil(StoreRequest.delete(DeleteRequest(path: path)).problem, path)
        }
        var stat = WireEncoder()
        stat.text("")
        stat.text("a/")
        XCTAssertThrowsError(try StatRequest.decode(stat.bytes[...])) {
            XCTAssertEqual(($0 as? ProtocolError)?.alert, .illegalParameter)
        }
        var longNamespace = WireEncoder()
        longNamespace.text(String(repeating: "n", count: 256))
        longNamespace.text("a")
        XCTAssertThrowsError(try StatRequest.decode(longNamespace.bytes[...])) {
            XCTAssertEqual(($0 as? ProtocolError)?.alert, .decodeError)
        }
    }

    func testEveryMessageDecodesToWhatWasEncoded() throws {
        let results: [StatResult] = [.file(entry("a")), .file(entry("b", modified: nil)), .directory(path: "", files: 0, bytes: 0)]
        for result in results {
            var encoder = WireEncoder()
            result.encode(into: &encoder)
            XCTAssertEqual(try StatResult.decode(encoder.bytes[...]), result)
        }
        let page = ListPage(entries: [.file(entry("a")), .directory("b"), .file(entry("c", modified: nil))], nextCursor: "c")
        var encoder = WireEncoder()
        page.encode(into: &encoder)
        XCTAssertEqual(try ListPage.decode(encoder.bytes[...]), page)
        XCTAssertEqual(WireTime(nanosecondsSinceEpoch: -1), WireTime(seconds: -1, nanoseconds: 999_999_999))
        XCTAssertEqual(WireTime(nanosecondsSinceEpoch: 1_500_000_001), WireTime(seconds: 1, nanoseconds: 500_000_001))
    }

    // MARK: Pages (§14.3)

    func testAPageStopsAtItsLimitAndSaysWhetherMoreFollow() {
        let entries = (0..<5).map { ListEntry.file(entry("f\($0)")) }
        XCTAssertEqual(ListPage.fitting(entries, limit: 5, more: false), ListPage(entries: entries, nextCursor: ""))
        XCTAssertEqual(ListPage.fitting(entries, limit: 5, more: true), ListPage(entries: entries, nextCursor: "f4"))
        XCTAssertEqual(ListPage.fitting(entries, limit: 3, more: false), ListPage(entries: Array(entries[..<3]), nextCursor: "f2"))
        XCTAssertEqual(ListPage.fitting([], limit: 3, more: false), ListPage(entries: [], nextCursor: ""))
    }

    func testAPageStopsAtOneMessageHoweverLongTheNames() throws {
        let long = String(repeating: "n", count: 4000)
        let entries = (0..<40).map { ListEntry.file(entry("\(long)\(100 + $0)")) }
        let page = ListPage.fitting(entries, limit: 1000, more: false)
        XCTAssertGreaterThan(page.entries.count, 1)
        XCTAssertLessThan(page.entries.count, 40)
        XCTAssertEqual(page.nextCursor, page.entries.last?.key)
        var encoder = WireEncoder()
        page.encode(into: &encoder)
        XCTAssertLessThanOrEqual(1 + encoder.bytes.count, Limits.maxMessageLength, "a page is one message")
        // The largest entries there can be still fit, with their key as the cursor.
        let largest = ListEntry.file(StoredFileEntry(path: String(repeating: "p", count: 4096), size: .max,
                                                     sha256: [UInt8](repeating: 1, count: 32), modified: WireTime(seconds: 0, nanoseconds: 0),
                                                     uploaded: WireTime(seconds: 0, nanoseconds: 0),
                                                     uploader: String(repeating: "u", count: 255)))
        XCTAssertEqual(ListPage.fitting([largest], limit: 1, more: true).entries.count, 1)
    }

    /// Answers a List the client sent with `body` as a ListPage, bypassing the server's own checks.
    private func clientError(answering list: ListRequest, with page: ListPage) throws -> ProtocolError? {
        var pair = try SessionPair.established()
        pair.client.sendStoreRequest(.list(list), now: pair.now)
        pair.pump()
        var encoder = WireEncoder()
        page.encode(into: &encoder)
        XCTAssertTrue(pair.server.sealForFuzzing(typeByte: MessageType.listPage.rawValue, body: encoder.bytes))
        pair.pump()
        return pair.clientError
    }

    func testTheClientRefusesAPageThatDoesNotAnswerItsList() throws {
        let list = ListRequest(directory: "d/", cursor: "d/m", limit: 3)
        let bad: [(String, ListPage)] = [
            ("more than the limit", ListPage(entries: ["d/n", "d/o", "d/p", "d/q"].map { .file(entry($0)) }, nextCursor: "d/q")),
            ("an empty page that is not the last", ListPage(entries: [], nextCursor: "d/x")),
            ("a cursor that is not the last key", ListPage(entries: [.file(entry("d/n"))], nextCursor: "d/m")),
            ("outside the directory", ListPage(entries: [.file(entry("e/n"))], nextCursor: "")),
            ("the directory itself", ListPage(entries: [.directory("d")], nextCursor: "")),
            ("not after the cursor", ListPage(entries: [.file(entry("d/m"))], nextCursor: "")),
            ("out of order", ListPage(entries: [.file(entry("d/o")), .file(entry("d/n"))], nextCursor: "")),
            ("a repeated entry", ListPage(entries: [.file(entry("d/o")), .file(entry("d/o"))], nextCursor: "")),
            ("a file deeper down", ListPage(entries: [.file(entry("d/x/y"))], nextCursor: "")),
            ("a directory deeper down", ListPage(entries: [.directory("d/x/y")], nextCursor: "")),
            // Canonically equivalent to the last key, smaller in bytes: the same page asked again, forever.
            ("a cursor equivalent to the last key", ListPage(entries: [.file(entry("d/\u{E9}"))], nextCursor: "d/e\u{301}")),
        ]
        for (label, page) in bad {
            XCTAssertEqual(try clientError(answering: list, with: page)?.alert, .illegalParameter, label)
        }
        var recursive = list
        recursive.recursive = true
        XCTAssertEqual(try clientError(answering: recursive, with: ListPage(entries: [.directory("d/x")], nextCursor: ""))?.alert,
                       .illegalParameter, "a directory in a recursive listing")
        XCTAssertNil(try clientError(answering: recursive, with: ListPage(entries: [.file(entry("d/x/y"))], nextCursor: "")),
                     "a file deeper down is what a recursive listing is for")
        XCTAssertNil(try clientError(answering: list, with: ListPage(entries: [.file(entry("d/n")), .directory("d/o")],
                                                                     nextCursor: "d/o/")))
    }

    func testTheClientRefusesAStatResultAboutAnotherPath() throws {
        for (path, result) in [("a", StatResult.file(entry("b"))), ("a", .directory(path: "b", files: 1, bytes: 1)),
                               ("", .file(entry("a")))] {
            var pair = try SessionPair.established()
            pair.client.sendStoreRequest(.stat(StatRequest(path: path)), now: pair.now)
            pair.pump()
            var encoder = WireEncoder()
            result.encode(into: &encoder)
            XCTAssertTrue(pair.server.sealForFuzzing(typeByte: MessageType.statResult.rawValue, body: encoder.bytes))
            pair.pump()
            XCTAssertEqual(pair.clientError?.alert, .illegalParameter, "\(path): \(result)")
        }
    }

    func testAnInconsistentPageFromTheIndexGoesAsAStorageFailure() throws {
        var pair = try SessionPair.established()
        let list = ListRequest(directory: "", limit: 10)
        let answer = ask(&pair, .list(list), answer: .list(ListPage(entries: [.file(entry("b")), .file(entry("a"))], nextCursor: "")))
        guard case .storeAnswered(.failed(let failure))? = answer else { return XCTFail("\(String(describing: answer))") }
        XCTAssertEqual(failure.code, .storageFailure)
        XCTAssertNil(pair.clientError)
    }
}
