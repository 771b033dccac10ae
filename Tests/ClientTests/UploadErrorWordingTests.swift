// What the user reads for each UploadError code: whose problem it is and what to do, around the server's own text.
import Protocol
import XCTest
@testable import FerryClient

final class UploadErrorWordingTests: XCTestCase {
    private func message(_ code: UploadErrorCode, _ text: String) -> String {
        UploadErrorWording.message(UploadFailure(code, text), path: "photos/a.jpg")
    }

    func testStorageFailuresAreTheServersProblem() {
        let storage = message(.storageFailure, "storage error while committing 'photos/a.jpg': EIO")
        XCTAssertTrue(storage.hasPrefix("the server could not store photos/a.jpg (storage error while committing"), storage)
        XCTAssertTrue(storage.contains("a problem on the server's side; tell its operator"), storage)
        let permission = message(.permissionDenied, "permission denied while storing 'photos/a.jpg'")
        XCTAssertTrue(permission.contains("the server could not store photos/a.jpg"), permission)
        XCTAssertTrue(permission.contains("tell its operator"), permission)
        XCTAssertFalse(permission.hasPrefix("server refused"), "not worded as the user's fault: \(permission)")
        // A refusal by [access] grants names the grant and whom to ask: no directory in the server's log to look for.
        let grant = message(.permissionDenied, "'bob' may not write to 'alice/photos/a.jpg': its own files only, unless the "
            + "server's [access] grants hold \"bob: write on alice/photos/a.jpg\" (or one wider); ask its operator")
        XCTAssertTrue(grant.hasPrefix("photos/a.jpg: 'bob' may not write to"), grant)
        XCTAssertFalse(grant.contains("log names the directory"), grant)
    }

    func testAnExistingNameSaysHowToReplaceOrSkip() {
        let exists = message(.exists, "'photos/a.jpg' already exists with other content")
        XCTAssertTrue(exists.contains("--overwrite replaces it"), exists)
        XCTAssertTrue(exists.contains("--ignore-existing leaves it and goes on"), exists)
    }

    /// ferryd's own text already says how to replace the file: the advice is not given twice.
    func testTheServersAdviceIsNotRepeated() {
        let exists = message(.exists, "'photos/a.jpg' already exists with other content: use --overwrite to replace it "
            + "(if the server allows it)")
        XCTAssertEqual(exists.components(separatedBy: "--overwrite").count, 2, exists)
        XCTAssertTrue(exists.hasSuffix("; --ignore-existing leaves it and goes on"), exists)
    }

    func testAnOverwriteTheServerForbidsSaysWhoCanAllowIt() {
        let refused = UploadErrorWording.message(UploadFailure(.exists, "this server does not allow overwriting files"),
                                                 path: "photos/a.jpg", overwriteAsked: true)
        XCTAssertFalse(refused.contains("--overwrite replaces it"), "the user already asked: \(refused)")
        XCTAssertTrue(refused.contains("allow_overwrite = true"), refused)
        XCTAssertTrue(refused.contains("--ignore-existing leaves it and goes on"), refused)
    }

    func testTheOtherCodesKeepTheServersText() {
        XCTAssertEqual(message(.noSpace, "it needs 2 GiB"), "the server has no room for photos/a.jpg: it needs 2 GiB")
        XCTAssertEqual(message(.badPath, "bad name"), "the server refuses the name photos/a.jpg: bad name")
    }
}
