// What `ferry ls` asks and prints, answer by answer, without a server (ListConversation): the top listed at once,
// another path asked with Stat first, pages followed by their cursor, headings for several arguments, a refusal
// counted and the rest still asked, names relative to the listed directory and printable on a terminal, and nothing
// more asked once the output is gone (`ferry ls | head`). RemotePath's normalisation beside it.
import Protocol
import XCTest
@testable import FerryClient

final class ListConversationTests: XCTestCase {
    private func entry(_ path: String) -> StoredFileEntry {
        StoredFileEntry(path: path, size: 3, sha256: [UInt8](repeating: 1, count: 32), modified: nil,
                        uploaded: WireTime(seconds: 0, nanoseconds: 0), uploader: "alice")
    }

    func testPathsAreAskedInTurnAndPagesFollowTheirCursor() {
        var output = "", errors: [String] = []
        let conversation = ListConversation(paths: ["", "docs", "gone", "one.txt"], recursive: false, format: .names,
                                            write: { output += $0; return true }, error: { errors.append($0) })
        XCTAssertEqual(conversation.nextRequest, .list(ListRequest(directory: "", cursor: "", limit: 1000)))
        conversation.answered(.list(ListPage(entries: [.directory("docs"), .file(entry("one.txt"))], nextCursor: "one.txt")))
        XCTAssertEqual(conversation.nextRequest, .list(ListRequest(directory: "", cursor: "one.txt", limit: 1000)))
        conversation.answered(.list(ListPage(entries: [.file(entry("z\u{1B}[2J"))], nextCursor: "")))
        XCTAssertEqual(conversation.nextRequest, .stat(StatRequest(path: "docs")))
        conversation.answered(.stat(.directory(path: "docs", files: 1, bytes: 3)))
        XCTAssertEqual(conversation.nextRequest, .list(ListRequest(directory: "docs/", limit: 1000)))
        conversation.answered(.list(ListPage(entries: [.file(entry("docs/a"))], nextCursor: "")))
        XCTAssertEqual(conversation.nextRequest, .stat(StatRequest(path: "gone")))
        conversation.answered(.failed(UploadFailure(.notFound, "'gone' is not stored")))
        XCTAssertEqual(conversation.nextRequest, .stat(StatRequest(path: "one.txt")))
        conversation.answered(.stat(.file(entry("one.txt"))))
        XCTAssertNil(conversation.nextRequest)
        XCTAssertEqual(output, ".:\ndocs/\none.txt\nz?[2J\n\ndocs:\na\none.txt\n")
        XCTAssertEqual(errors, ["cannot access 'gone': 'gone' is not stored"])
        XCTAssertEqual(conversation.failures, 1)
    }

    func testNothingMoreIsAskedOnceTheOutputIsGone() {
        let conversation = ListConversation(paths: ["", "more"], recursive: true, format: .long, write: { _ in false },
                                            error: { _ in })
        conversation.answered(.list(ListPage(entries: [.file(entry("a"))], nextCursor: "a")))
        XCTAssertTrue(conversation.outputClosed)
        XCTAssertNil(conversation.nextRequest, "the next page and the next argument are not asked")
    }

    func testADirectoryTooLongToListIsAnErrorNotARequest() {
        let path = String(repeating: "p", count: Limits.maxPathLength)
        var errors: [String] = []
        let conversation = ListConversation(paths: [path], recursive: false, format: .names, write: { _ in true },
                                            error: { errors.append($0) })
        conversation.answered(.stat(.directory(path: path, files: 1, bytes: 1)))  // what a hostile server may say
        XCTAssertNil(conversation.nextRequest)
        XCTAssertEqual(conversation.failures, 1)
        XCTAssertTrue(errors.first?.contains("too long") == true, "\(errors)")
    }

    func testRemotePathsAreNormalisedAsTheProtocolCarriesThem() {
        XCTAssertEqual(RemotePath.normalized(""), "")
        XCTAssertEqual(RemotePath.normalized("."), "")
        XCTAssertEqual(RemotePath.normalized("/"), "")
        XCTAssertEqual(RemotePath.normalized("./docs/"), "docs")
        XCTAssertEqual(RemotePath.normalized("/docs//"), "docs")
        XCTAssertEqual(RemotePath.normalized("docs/."), "docs")
        XCTAssertEqual(RemotePath.normalized("a/../b"), "a/../b", "the server's rules refuse it, with its reason")
        XCTAssertEqual(RemotePath.normalized("cafe\u{301}"), "caf\u{E9}", "sent in NFC")
    }
}
