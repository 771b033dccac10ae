// A storage root whose file system keeps no user extended attributes (ramfs: the digest records, StoredDigest, cannot
// be kept): a shared store refuses to open, saying what is missing and what to do; an unshared one opens and says
// why (ferryd warns at start). The root's usual file system keeps them. Mounting ramfs needs root: skipped otherwise.
import Foundation
import Platform
import TestSupport
import XCTest

@testable import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class DigestRecordProbeTests: StoreTestCase {
    func testAFileSystemWithoutAttributesIsRefusedSharedAndNamedUnshared() throws {
        XCTAssertNil(try makeStore().keepsDigestRecords, "the test's own root keeps attributes")

        let mountPoint = try makeTemporaryDirectory("ramfs").url.path
        guard mount("ramfs", mountPoint, "ramfs", 0, nil) == 0 else {
            throw XCTSkip("cannot mount ramfs here (\(String(cString: strerror(errno)))): not root")
        }
        addTeardownBlock { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
        XCTAssertThrowsError(try Store(rootPath: mountPoint, staging: Self.staging, sharing: StoreSharing(node: "a"))) { error in
            let description = (error as? StoreError)?.description ?? "\(error)"
            XCTAssertTrue(description.contains("storage.shared needs a file system that keeps user extended attributes"),
                          description)
            XCTAssertTrue(description.contains(mountPoint), description)
        }
        let alone = try Store(rootPath: mountPoint, staging: Self.staging)
        XCTAssertNotNil(alone.keepsDigestRecords)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/" + Self.staging), [],
                       "the probe left nothing in staging")
    }
}
