import Foundation
import XCTest

@testable import Daemon

final class StoragePathsTests: XCTestCase {
    let paths = StoragePaths(root: URL(fileURLWithPath: "/var/lib/ferry", isDirectory: true), staging: ".staging")

    // MARK: Relative paths

    /// Names that are stored, with the components they split into.
    func testGoodNames() throws {
        let long255 = String(repeating: "a", count: 255)
        let path4096 = Array(repeating: String(repeating: "b", count: 254), count: 16).joined(separator: "/") + "/" + String(repeating: "c", count: 16)
        XCTAssertEqual(path4096.utf8.count, 4096)
        let cases: [(String, [String])] = [
            ("a", ["a"]),
            ("report.pdf", ["report.pdf"]),
            ("dir/sub/file.txt", ["dir", "sub", "file.txt"]),
            ("résumé/été.txt", ["résumé", "été.txt"]),
            ("e\u{301}te\u{301}.txt", ["e\u{301}te\u{301}.txt"]),  // decomposed: stored as sent
            ("日本語/ファイル.txt", ["日本語", "ファイル.txt"]),
            ("emoji 🚢/⛴️.bin", ["emoji 🚢", "⛴️.bin"]),
            (".hidden", [".hidden"]),
            ("a/.staging", ["a", ".staging"]),  // reserved only at the top level
            (".staging2/x", [".staging2", "x"]),
            ("...", ["..."]),
            ("..a/a..", ["..a", "a.."]),
            ("with space/ and tabs? no: spaces", ["with space", " and tabs? no: spaces"]),
            ("100%/#hash?query;x=1", ["100%", "#hash?query;x=1"]),
            ("-rf", ["-rf"]),
            (long255, [long255]),
            (String(repeating: "é", count: 127) + "a", [String(repeating: "é", count: 127) + "a"]),  // 255 bytes
            (path4096, path4096.split(separator: "/").map(String.init)),
            ("\u{A0}nbsp\u{200B}zwsp", ["\u{A0}nbsp\u{200B}zwsp"]),  // not control characters
            ("a/\u{338}", ["a", "\u{338}"]),  // a combining mark after "/" is a (strange) name, not part of the separator
        ]
        for (name, components) in cases {
            let destination = try paths.destination(identity: "alice", relativePath: name)
            XCTAssertEqual(destination.components, ["alice"] + components, name)
            // The final path is root/identity/name, byte for byte (String == would hide a normalisation).
            XCTAssertEqual(Array(destination.final.path.utf8), Array("/var/lib/ferry/alice/\(name)".utf8), name)
            XCTAssertEqual(Array(destination.directory.path.utf8),
                           Array(("/var/lib/ferry/alice" + components.dropLast().map { "/" + $0 }.joined()).utf8), name)
            XCTAssertFalse(destination.final.hasDirectoryPath, name)
        }
    }

    /// Names that are refused, each with its own error.
    func testBadNames() {
        let long256 = String(repeating: "a", count: 256)
        let path4097 = Array(repeating: String(repeating: "b", count: 254), count: 16).joined(separator: "/") + "/" + String(repeating: "c", count: 17)
        XCTAssertEqual(path4097.utf8.count, 4097)
        let cases: [(String, StorageNameError)] = [
            ("", .empty),
            ("/", .absolute),
            ("/etc/passwd", .absolute),
            ("a/", .trailingSlash),
            ("a/b/", .trailingSlash),
            ("a//b", .emptyComponent(index: 2)),
            (".", .dotComponent(index: 1)),
            ("./a", .dotComponent(index: 1)),
            ("a/./b", .dotComponent(index: 2)),
            ("..", .dotDotComponent(index: 1)),
            ("../x", .dotDotComponent(index: 1)),
            ("a/../b", .dotDotComponent(index: 2)),
            ("a/b/..", .dotDotComponent(index: 3)),
            ("\u{0}", .controlCharacter(scalar: 0, byteOffset: 0)),
            ("a\u{0}b", .controlCharacter(scalar: 0, byteOffset: 1)),
            ("a\nb", .controlCharacter(scalar: 0x0A, byteOffset: 1)),
            ("a\rb", .controlCharacter(scalar: 0x0D, byteOffset: 1)),
            ("é\tb", .controlCharacter(scalar: 0x09, byteOffset: 2)),
            ("a\u{1B}[31mred", .controlCharacter(scalar: 0x1B, byteOffset: 1)),
            ("a\u{1F}", .controlCharacter(scalar: 0x1F, byteOffset: 1)),
            ("del\u{7F}", .controlCharacter(scalar: 0x7F, byteOffset: 3)),
            ("c1\u{9B}31m", .controlCharacter(scalar: 0x9B, byteOffset: 2)),
            ("c1\u{85}", .controlCharacter(scalar: 0x85, byteOffset: 2)),
            ("a\\b", .backslash(byteOffset: 1)),
            ("..\\x", .backslash(byteOffset: 2)),
            (long256, .componentTooLong(index: 1, bytes: 256)),
            ("dir/" + String(repeating: "é", count: 128), .componentTooLong(index: 2, bytes: 256)),
            (path4097, .pathTooLong(bytes: 4097)),
            (String(repeating: "x", count: 5000), .pathTooLong(bytes: 5000)),
            (".staging", .reservedName(".staging")),
            (".staging/x", .reservedName(".staging")),
            // A "/" followed by a combining mark is one Character but two things to the kernel: "/" and a mark.
            ("../\u{338}x", .dotDotComponent(index: 1)),
            ("/\u{338}etc/passwd", .absolute),
            ("x/\u{338}/..", .dotDotComponent(index: 3)),
        ]
        for (name, expected) in cases {
            XCTAssertThrowsError(try paths.destination(identity: "alice", relativePath: name), name.debugDescription) { error in
                XCTAssertEqual(error as? StorageNameError, expected, name.debugDescription)
            }
        }
    }

    /// Only the first component is compared with the staging name, and byte for byte.
    func testStagingNameIsReservedOnlyAtTheTopAndExactly() throws {
        let custom = StoragePaths(root: URL(fileURLWithPath: "/srv", isDirectory: true), staging: "partial")
        XCTAssertThrowsError(try custom.destination(identity: "bob", relativePath: "partial/x"))
        XCTAssertNoThrow(try custom.destination(identity: "bob", relativePath: "Partial/x"))
        XCTAssertNoThrow(try custom.destination(identity: "bob", relativePath: ".staging/x"))
        XCTAssertNoThrow(try custom.destination(identity: "bob", relativePath: "x/partial"))
    }

    func testMessagesAreSafeToSendToTheClient() {
        let errors: [StorageNameError] = [
            .empty, .pathTooLong(bytes: 5000), .controlCharacter(scalar: 0x1B, byteOffset: 3), .backslash(byteOffset: 1),
            .absolute, .trailingSlash, .emptyComponent(index: 2), .dotComponent(index: 1), .dotDotComponent(index: 2),
            .componentTooLong(index: 1, bytes: 300), .reservedName(".staging"), .separatorInName, .leadingDot,
            .invalidIdentity(.separatorInName),
        ]
        for error in errors {
            let message = error.description
            XCTAssertFalse(message.isEmpty)
            XCTAssertFalse(message.contains("/var/lib"), message)
            XCTAssertTrue(message.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }, message)
        }
        XCTAssertEqual(StorageNameError.controlCharacter(scalar: 0x1B, byteOffset: 3).description,
                       "the path contains a control character (U+001B) at byte 3")
        XCTAssertEqual(StorageNameError.dotDotComponent(index: 2).description, "component 2 of the path is '..'")
        XCTAssertEqual(StorageNameError.componentTooLong(index: 1, bytes: 300).description,
                       "component 1 of the path is 300 bytes long in UTF-8; the limit is 255")
        XCTAssertEqual(StorageNameError.invalidIdentity(.separatorInName).description,
                       "the certificate identity cannot be used as a directory name: it contains '/'")
    }

    // MARK: Identities

    func testGoodIdentities() throws {
        for identity in ["alice", "bob@example.com", "host-01.example.com", "Zoë", "CN with spaces", "a..b", "x.", String(repeating: "i", count: 255)] {
            let destination = try paths.destination(identity: identity, relativePath: "f")
            XCTAssertEqual(destination.components, [identity, "f"])
            XCTAssertEqual(Array(destination.final.path.utf8), Array("/var/lib/ferry/\(identity)/f".utf8))
        }
    }

    func testBadIdentitiesAreRefused() {
        let cases: [(String, StorageNameError)] = [
            ("", .invalidIdentity(.empty)),
            (".", .invalidIdentity(.dotComponent(index: 1))),
            ("..", .invalidIdentity(.dotDotComponent(index: 1))),
            ("../x", .invalidIdentity(.separatorInName)),
            ("a/b", .invalidIdentity(.separatorInName)),
            ("/", .invalidIdentity(.separatorInName)),
            ("a\\b", .invalidIdentity(.backslash(byteOffset: 1))),
            ("a\u{0}", .invalidIdentity(.controlCharacter(scalar: 0, byteOffset: 1))),
            ("evil\n", .invalidIdentity(.controlCharacter(scalar: 0x0A, byteOffset: 4))),
            (String(repeating: "i", count: 256), .invalidIdentity(.componentTooLong(index: 1, bytes: 256))),
            (".staging", .invalidIdentity(.leadingDot)),
            (".ssh", .invalidIdentity(.leadingDot)),
        ]
        for (identity, expected) in cases {
            XCTAssertThrowsError(try paths.destination(identity: identity, relativePath: "f"), identity.debugDescription) { error in
                XCTAssertEqual(error as? StorageNameError, expected, identity.debugDescription)
            }
        }
        // A staging name without a leading dot is still reserved as an identity.
        let custom = StoragePaths(root: URL(fileURLWithPath: "/srv", isDirectory: true), staging: "partial")
        XCTAssertThrowsError(try custom.destination(identity: "partial", relativePath: "f")) { error in
            XCTAssertEqual(error as? StorageNameError, .invalidIdentity(.reservedName("partial")))
        }
    }

    // MARK: Layout

    func testDestinationLayout() throws {
        let destination = try paths.destination(identity: "alice", relativePath: "photos/2024/summer/beach.jpg")
        XCTAssertEqual(destination.components, ["alice", "photos", "2024", "summer", "beach.jpg"])
        XCTAssertEqual(destination.directory.path, "/var/lib/ferry/alice/photos/2024/summer")
        XCTAssertEqual(destination.final.path, "/var/lib/ferry/alice/photos/2024/summer/beach.jpg")
        XCTAssertEqual(destination.final.deletingLastPathComponent().path, destination.directory.path)
        XCTAssertEqual(destination.directoriesToCreate.map(\.path), [
            "/var/lib/ferry/alice", "/var/lib/ferry/alice/photos", "/var/lib/ferry/alice/photos/2024",
            "/var/lib/ferry/alice/photos/2024/summer",
        ])
        let flat = try paths.destination(identity: "alice", relativePath: "x")
        XCTAssertEqual(flat.directory.path, "/var/lib/ferry/alice")
        XCTAssertEqual(flat.directoriesToCreate.map(\.path), ["/var/lib/ferry/alice"])
    }

    func testRootIsNormalised() throws {
        let messy = StoragePaths(root: URL(fileURLWithPath: "/srv//ferry/./", isDirectory: true), staging: ".staging")
        XCTAssertEqual(try messy.destination(identity: "a", relativePath: "b").final.path, "/srv/ferry/a/b")
        XCTAssertEqual(messy.stagingDirectory.path, "/srv/ferry/.staging")
    }

    // MARK: Part files

    func testPartFilesLiveInStagingWithUniqueSafeNames() {
        let part = paths.partFile(uploadID: 42, identity: "alice")
        XCTAssertEqual(part.deletingLastPathComponent().path, "/var/lib/ferry/.staging")
        XCTAssertTrue(part.lastPathComponent.hasPrefix("alice-"), part.lastPathComponent)
        XCTAssertTrue(part.lastPathComponent.hasSuffix("-42.part"), part.lastPathComponent)

        let identities = ["alice", "bob", "a/b", "a_b", "a?b", "../..", "", ".staging", "é", "e", String(repeating: "x", count: 300),
                          String(repeating: "x", count: 301), "a\u{0}b", "\u{338}"]
        var names = Set<String>()
        for identity in identities {
            for id: UInt64 in [0, 1, 42, .max] {
                let name = paths.partFile(uploadID: id, identity: identity).lastPathComponent
                names.insert(name)
                XCTAssertNil(StoragePaths.validateComponent(name), name)
                XCTAssertLessThanOrEqual(name.utf8.count, 75, name)
                XCTAssertTrue(name.utf8.allSatisfy { $0 < 0x80 }, "ASCII only: \(name)")
                XCTAssertFalse(name.hasPrefix("."), name)
                XCTAssertEqual(paths.partFile(uploadID: id, identity: identity).deletingLastPathComponent().path,
                               paths.stagingDirectory.path)
            }
        }
        XCTAssertEqual(names.count, identities.count * 4, "identities that sanitise alike still get distinct names")
        XCTAssertEqual(paths.partFile(uploadID: 7, identity: "alice"), paths.partFile(uploadID: 7, identity: "alice"))
    }

    func testComponentValidation() {
        XCTAssertNil(StoragePaths.validateComponent(".staging"))
        XCTAssertNil(StoragePaths.validateComponent("partial"))
        XCTAssertEqual(StoragePaths.validateComponent(""), .empty)
        XCTAssertEqual(StoragePaths.validateComponent("a/b"), .separatorInName)
        XCTAssertEqual(StoragePaths.validateComponent("."), .dotComponent(index: 1))
        XCTAssertEqual(StoragePaths.validateComponent(".."), .dotDotComponent(index: 1))
        XCTAssertEqual(StoragePaths.validateComponent("a\\b"), .backslash(byteOffset: 1))
        XCTAssertEqual(StoragePaths.validateComponent(String(repeating: "s", count: 256)), .componentTooLong(index: 1, bytes: 256))
    }
}
