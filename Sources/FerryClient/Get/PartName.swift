// The name of a download's partial (PartFile): `NAME.part` beside NAME, as curl, wget and browsers name theirs, so a
// user sees what it is and the next run finds it. Two cases take another name, the same one on every run of the same
// get: a NAME of more than 250 bytes, whose `.part` would pass the file system's 255-byte limit (NAME_MAX), is cut
// and given a digest of the whole name; a partial name that is another file of the same get (`x` beside `x.part`)
// takes a number (`x.1.part`).
import Foundation
import Protocol

enum PartName {
    /// NAME_MAX of Linux's file systems (ext4, XFS, btrfs, tmpfs): the bytes of one path component.
    static let maximumComponentBytes = 255

    /// The partial for `local` (a path), none of `taken` (the get's destinations).
    static func partial(for local: String, taken: Set<String>) -> String {
        // At the last byte "/" (a Character search misses one followed by a combining mark).
        let slash = local.utf8.lastIndex(of: UInt8(ascii: "/"))
        let directory = slash.map { String(decoding: local.utf8[...$0], as: UTF8.self) } ?? ""
        let name = slash.map { String(decoding: local.utf8[local.utf8.index(after: $0)...], as: UTF8.self) } ?? local
        var number = 0
        while true {
            let suffix = number == 0 ? ".part" : ".\(number).part"
            let candidate = directory + fitted(name, suffix: suffix)
            if !taken.contains(candidate) { return candidate }
            number += 1
        }
    }

    /// `name` + `suffix` within NAME_MAX: a longer name keeps its first characters (whole Unicode scalars), then `~`
    /// and 16 hex digits of its SHA-256, so two long names that begin alike still differ.
    private static func fitted(_ name: String, suffix: String) -> String {
        guard name.utf8.count + suffix.utf8.count > maximumComponentBytes else { return name + suffix }
        let mark = "~" + hex(Array(DigestContext.hash(.sha256, Array(name.utf8)).prefix(8)))
        let room = maximumComponentBytes - suffix.utf8.count - mark.utf8.count
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in name.unicodeScalars {
            let width = String(scalar).utf8.count
            guard bytes + width <= room else { break }
            kept.append(scalar)
            bytes += width
        }
        return String(kept) + mark + suffix
    }
}
