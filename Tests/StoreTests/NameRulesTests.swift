// NameRules (which names the store takes), moved from DaemonTests/StoragePathsTests (the old `StoragePaths`). The old
// type built URLs below a root; NameRules returns `StoredPath {identity, directories, name}` and part names, and the
// root belongs to Store. Where an old assertion compared a full URL path, the new one compares the components (or
// `relativePath`) byte for byte, and says so; the two that were about the root or the staging directory's place are
// checked on a real Store (testPartFilesLiveInStaging here, StoreOpenTests.testARootWithATrailingSlash…).
import Foundation
import Protocol
import XCTest

@testable import Store

final class NameRulesTests: StoreTestCase {
    let rules = NameRules(staging: ".staging")

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
            ("日本語/ファイル.txt", ["日本語", "ファイル.txt"]),
            ("emoji 🚢/⛴️.bin", ["emoji 🚢", "⛴️.bin"]),
            (".hidden", [".hidden"]),
            ("a/.staging", ["a", ".staging"]),  // reserved only at the top level
            (".staging2/x", [".staging2", "x"]),
            ("...", ["..."]),
            ("..a/a..", ["..a", "a.."]),
            ("with space/and tabs? no: spaces", ["with space", "and tabs? no: spaces"]),
            ("100%/#hash?query;x=1", ["100%", "#hash?query;x=1"]),
            ("-rf", ["-rf"]),
            (long255, [long255]),
            (String(repeating: "é", count: 127) + "a", [String(repeating: "é", count: 127) + "a"]),  // 255 bytes
            (path4096, path4096.split(separator: "/").map(String.init)),
            ("a/\u{338}", ["a", "\u{338}"]),  // a combining mark after "/" is a (strange) name, not part of the separator
        ]
        for (name, components) in cases {
            let stored = try rules.storedPath(identity: "alice", relativePath: name)
            // Was `destination.components == ["alice"] + components`.
            XCTAssertEqual([stored.identity] + stored.directories + [stored.name], ["alice"] + components, name)
            // Was the final URL's path, byte for byte: now the relative path below the identity's directory, byte for
            // byte (String == would hide a normalisation), and the identity.
            XCTAssertEqual(Array(stored.relativePath.utf8), Array(name.utf8), name)
            XCTAssertEqual(Array(stored.identity.utf8), Array("alice".utf8), name)
            // Was the directory URL's path, byte for byte: the directories the walk reaches, identity first.
            XCTAssertEqual(stored.directoryComponents.map { Array($0.utf8) },
                           (["alice"] + components.dropLast()).map { Array($0.utf8) }, name)
            // Was `!final.hasDirectoryPath`: the final name is one file name (a valid single component).
            XCTAssertNil(NameRules.validateComponent(stored.name), name)
            XCTAssertEqual(Array(stored.name.utf8), Array(components[components.count - 1].utf8), name)
        }
    }

    /// Names that are refused, each with its own error.
    func testBadNames() {
        let long256 = String(repeating: "a", count: 256)
        let path4097 = Array(repeating: String(repeating: "b", count: 254), count: 16).joined(separator: "/") + "/" + String(repeating: "c", count: 17)
        XCTAssertEqual(path4097.utf8.count, 4097)
        let cases: [(String, StorageNameError)] = [
            ("e\u{301}te\u{301}.txt", .unicode(.notNormalized, index: 1)),  // decomposed: the client sends NFC
            ("dir/ leading space", .unicode(.edgeSpace, index: 2)),
            ("\u{A0}nbsp", .unicode(.unusualSpace(0xA0), index: 1)),
            ("a/zw\u{200B}sp", .unicode(.invisible(0x200B), index: 2)),
            ("invoice\u{202E}fdp.exe", .unicode(.invisible(0x202E), index: 1)),
            ("a\u{FF0F}b", .unicode(.lookalikeSeparator(0xFF0F), index: 1)),
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
            XCTAssertThrowsError(try rules.storedPath(identity: "alice", relativePath: name), name.debugDescription) { error in
                XCTAssertEqual(error as? StorageNameError, expected, name.debugDescription)
            }
        }
    }

    /// Only the first component is compared with the staging name, and byte for byte.
    func testStagingNameIsReservedOnlyAtTheTopAndExactly() throws {
        let custom = NameRules(staging: "partial")
        XCTAssertThrowsError(try custom.storedPath(identity: "bob", relativePath: "partial/x"))
        XCTAssertNoThrow(try custom.storedPath(identity: "bob", relativePath: "Partial/x"))
        XCTAssertNoThrow(try custom.storedPath(identity: "bob", relativePath: ".staging/x"))
        XCTAssertNoThrow(try custom.storedPath(identity: "bob", relativePath: "x/partial"))
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
            let stored = try rules.storedPath(identity: identity, relativePath: "f")
            // Was `components == [identity, "f"]`.
            XCTAssertEqual([stored.identity] + stored.directories + [stored.name], [identity, "f"])
            // Was the final URL's path "<root>/<identity>/f" byte for byte: the identity's directory name and the
            // file name, byte for byte.
            XCTAssertEqual(Array(stored.identity.utf8), Array(identity.utf8))
            XCTAssertEqual(stored.directoryComponents.map { Array($0.utf8) }, [Array(identity.utf8)])
            XCTAssertEqual(Array(stored.relativePath.utf8), Array("f".utf8))
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
            ("alice ", .invalidIdentity(.unicode(.edgeSpace, index: 1))),
            ("ali\u{200B}ce", .invalidIdentity(.unicode(.invisible(0x200B), index: 1))),
            ("Zoe\u{308}", .invalidIdentity(.unicode(.notNormalized, index: 1))),
        ]
        for (identity, expected) in cases {
            XCTAssertThrowsError(try rules.storedPath(identity: identity, relativePath: "f"), identity.debugDescription) { error in
                XCTAssertEqual(error as? StorageNameError, expected, identity.debugDescription)
            }
        }
        // A staging name without a leading dot is still reserved as an identity.
        let custom = NameRules(staging: "partial")
        XCTAssertThrowsError(try custom.storedPath(identity: "partial", relativePath: "f")) { error in
            XCTAssertEqual(error as? StorageNameError, .invalidIdentity(.reservedName("partial")))
        }
    }

    // MARK: Layout

    func testStoredPathLayout() throws {
        let stored = try rules.storedPath(identity: "alice", relativePath: "photos/2024/summer/beach.jpg")
        XCTAssertEqual(stored, StoredPath(identity: "alice", directories: ["photos", "2024", "summer"], name: "beach.jpg"))
        // Was `directory.path == "<root>/alice/photos/2024/summer"`: the directories the walk reaches.
        XCTAssertEqual(stored.directoryComponents, ["alice", "photos", "2024", "summer"])
        // Was `final.path == "<root>/alice/photos/2024/summer/beach.jpg"`: the path below the identity's directory.
        XCTAssertEqual(stored.relativePath, "photos/2024/summer/beach.jpg")
        // Was `final.deletingLastPathComponent() == directory`: the file's directory is the walk's last one.
        XCTAssertEqual(([stored.identity] + stored.directories + [stored.name]).dropLast(), stored.directoryComponents[...])
        // Was `directoriesToCreate` (mkdir -p, outermost first): each directory of the walk, one component at a time.
        let chain = stored.directoryComponents.indices.map { stored.directoryComponents[...$0].joined(separator: "/") }
        XCTAssertEqual(chain, ["alice", "alice/photos", "alice/photos/2024", "alice/photos/2024/summer"])
        let flat = try rules.storedPath(identity: "alice", relativePath: "x")
        XCTAssertEqual(flat.directories, [])
        XCTAssertEqual(flat.directoryComponents, ["alice"])
        XCTAssertEqual(flat.relativePath, "x")
    }

    // MARK: Part files

    func testPartNamesAreUniqueAndSafe() {
        let part = rules.partName(identity: "alice", relativePath: "a/b.bin")
        XCTAssertTrue(part.hasPrefix("alice-"), part)
        XCTAssertTrue(part.hasSuffix(".part"), part)

        let identities = ["alice", "bob", "a/b", "a_b", "a?b", "../..", "", ".staging", "é", "e", String(repeating: "x", count: 300),
                          String(repeating: "x", count: 301), "a\u{0}b", "\u{338}"]
        var names = Set<String>()
        for identity in identities {
            for path in ["a", "a/b", "b/a", String(repeating: "p/", count: 2000) + "q"] {
                let name = rules.partName(identity: identity, relativePath: path)
                names.insert(name)
                XCTAssertNil(NameRules.validateComponent(name), name)
                XCTAssertLessThanOrEqual(name.utf8.count, 70, name)
                XCTAssertTrue(name.utf8.allSatisfy { $0 < 0x80 }, "ASCII only: \(name)")
                XCTAssertFalse(name.hasPrefix("."), name)
                // Was "its URL is in the staging directory": a part name is one name (no "/"), so the store can only
                // create it in the staging directory's descriptor (testPartFilesLiveInStaging checks it does).
                XCTAssertFalse(name.contains("/"), name)
            }
        }
        XCTAssertEqual(names.count, identities.count * 4, "identities that sanitise alike still get distinct names")
        // One name per identity and path, whatever the connection or process: how a new Open finds the partial.
        XCTAssertEqual(rules.partName(identity: "alice", relativePath: "x"), rules.partName(identity: "alice", relativePath: "x"))
        // The identity and the path are kept apart ("a" + "b/c" is not "a/b" + "c").
        XCTAssertNotEqual(rules.partName(identity: "a", relativePath: "b/c"), rules.partName(identity: "a/b", relativePath: "c"))
    }

    /// Was `partFile(...).deletingLastPathComponent().path == "<root>/.staging"`: a live upload's partial data is the
    /// file `partName` directly in `<root>/<staging>`, and nowhere else.
    func testPartFilesLiveInStaging() throws {
        let store = try makeStore()
        let run = try upload(store, "dir/f.bin", pattern(1000))
        run.stopAt = 1000
        drive([run], on: executor)
        XCTAssertEqual(partFiles(), [run.partName])
        XCTAssertEqual(uploadsTree(), ["alice": "dir", "alice/dir": "dir"], "no partial data beside the final name")
        run.writer.abandon()
        executor.runAll()
        XCTAssertEqual(partFiles(), [])
    }

    func testComponentValidation() {
        XCTAssertNil(NameRules.validateComponent(".staging"))
        XCTAssertNil(NameRules.validateComponent("partial"))
        XCTAssertEqual(NameRules.validateComponent(""), .empty)
        XCTAssertEqual(NameRules.validateComponent("a/b"), .separatorInName)
        XCTAssertEqual(NameRules.validateComponent("."), .dotComponent(index: 1))
        XCTAssertEqual(NameRules.validateComponent(".."), .dotDotComponent(index: 1))
        XCTAssertEqual(NameRules.validateComponent("a\\b"), .backslash(byteOffset: 1))
        XCTAssertEqual(NameRules.validateComponent(String(repeating: "s", count: 256)), .componentTooLong(index: 1, bytes: 256))
    }
}
