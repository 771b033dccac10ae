// A temporary storage root for each test, beside an `outside` directory that stands for the rest of the file system
// (what a symbolic link under the root would point to), both removed in tearDown; and what the tests look at on disk:
// a tree's entries and contents, read without following links.
import Foundation
import Index
import Platform
import Protocol
@testable import Store
import TestSupport
import XCTest

class StoreTestCase: XCTestCase {
    /// Holds `root` and `outside`; removed in tearDown.
    private(set) var base: URL!
    private(set) var rootPath = ""
    private(set) var outsidePath = ""
    private(set) var executor: SteppedExecutor!
    private(set) var buffers: IOBufferPool!

    static let staging = ".staging"

    override func setUpWithError() throws {
        base = try makeTemporaryDirectory("store").url
        rootPath = base.appendingPathComponent("root").path
        outsidePath = base.appendingPathComponent("outside").path
        try FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outsidePath, withIntermediateDirectories: true)
        executor = SteppedExecutor()
        buffers = Store.makeUploadBufferPool()
    }

    override func tearDownWithError() throws {
        executor = nil
        buffers = nil
    }

    /// The metadata index as ferryd keeps it (journal and rows), outside the root; the same files each call.
    func makeIndex() throws -> JournaledIndex {
        let journal = outsidePath + "/journal"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        return try JournaledIndex(rows: try SQLiteIndex(path: outsidePath + "/index.sqlite"), journalDirectory: journal)
    }

    func makeStore(useOpenat2: Bool = true, index: (any MetadataIndex)? = nil) throws -> Store {
        try Store(rootPath: rootPath, staging: Self.staging, useOpenat2: useOpenat2, index: index)
    }

    /// An upload of `content` to `relativePath` in `identity`'s area, on this test's executor and buffers (not started
    /// feeding: `drive` does that).
    /// `declaredSize` overrides the size Open declares (for a refusal at Open, where no byte is ever sent).
    func upload(_ store: Store, _ relativePath: String, _ content: [UInt8] = [], declaredSize: UInt64? = nil,
                identity: String = "alice",
                overwrite: Bool = false, durable: Bool = false, directIO: Bool = true,
                reserve: UInt64 = 0, checkpointBytes: UInt64 = UploadWriter.defaultCheckpointBytes,
                expectedDigest: [UInt8]? = nil, chunk: Int = 64 << 10, quota: StoreQuota? = nil) throws -> UploadRun {
        UploadRun(store: store, path: try store.rules.storedPath(identity: identity, relativePath: relativePath),
                         content: content, declaredSize: declaredSize, chunk: chunk, expectedDigest: expectedDigest,
                         settings: UploadWriter.Settings(overwrite: overwrite, durable: durable, directIO: directIO,
                                                         reserve: reserve, checkpointBytes: checkpointBytes),
                         executor: executor, buffers: buffers, quota: quota)
    }

    /// The record of `relativePath`'s partial upload by alice, if one is kept.
    func partialRecord(_ store: Store, _ relativePath: String) -> PartialRecord? {
        let part = store.rules.partName(identity: "alice", relativePath: relativePath)
        return PartialJobs.readRecord(PartialJobs.recordName(part), in: store.staging)
    }

    /// What every ended upload leaves: no .part, no directory held, every buffer back in the pool.
    func assertNothingHeld(_ store: Store, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(partFiles(), [], "no .part left", file: file, line: line)
        XCTAssertEqual(store.heldDirectories, 0, "no directory held", file: file, line: line)
        XCTAssertEqual(buffers.outstanding, 0, "every buffer back in the pool", file: file, line: line)
    }

    // MARK: The file system, as the tests see it

    func path(_ relative: String) -> String { rootPath + "/" + relative }

    func exists(_ relative: String) -> Bool { lstatKind(path(relative)) != nil }

    func contents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(relative)).map { [UInt8]($0) }
    }

    /// The .part files in the staging directory.
    func partFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(Self.staging))) ?? []).filter { $0.hasSuffix(".part") }
    }

    /// Every entry below `directory` (relative paths) with what it is: "dir", "file <size> <sha-256>" or
    /// "link -> <target>". Links are listed, never followed.
    func tree(_ directory: String) -> [String: String] {
        var entries: [String: String] = [:]
        func visit(_ relative: String) {
            let full = relative.isEmpty ? directory : directory + "/" + relative
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: full) else { return }
            for name in names {
                let child = relative.isEmpty ? name : relative + "/" + name
                let childPath = directory + "/" + child
                switch lstatKind(childPath) {
                case .directory?:
                    entries[child] = "dir"
                    visit(child)
                case .symbolicLink?:
                    entries[child] = "link -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: childPath)) ?? "?")
                case .regular?:
                    let bytes = [UInt8](FileManager.default.contents(atPath: childPath) ?? Data())
                    entries[child] = "file \(bytes.count) \(hex(DigestContext.hash(.sha256, bytes)))"
                default:
                    entries[child] = "other"
                }
            }
        }
        visit("")
        return entries
    }

    /// The root's tree without the lock file and the staging directory (`partFiles` looks there): the stored files
    /// and the directories uploads created.
    func uploadsTree() -> [String: String] {
        tree(rootPath).filter { $0.key != ".ferryd.lock" && $0.key != Self.staging && !$0.key.hasPrefix(Self.staging + "/") }
    }

    func makeDirectories(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
    }

    func writeFile(_ fullPath: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: fullPath))
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
    }

    func lstatKind(_ fullPath: String) -> EntryStatus.Kind? {
        let parent = (fullPath as NSString).deletingLastPathComponent
        let name = (fullPath as NSString).lastPathComponent
        guard let directory = try? DirectoryCalls.openDirectory(path: parent) else { return nil }
        defer { DirectoryCalls.close(directory) }
        return (try? DirectoryCalls.status(of: name, in: directory))??.kind
    }
}

/// Bytes that differ from offset to offset and from seed to seed.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { bytes, initialized in  // (fast enough for 48 MiB in a debug build)
        for index in 0..<count { bytes[index] = UInt8(truncatingIfNeeded: (index &+ seed) &* 31 ^ index >> 7 ^ seed) }
        initialized = count
    }
}
