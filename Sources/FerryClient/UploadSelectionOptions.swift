// The options of `ferry upload` that choose what is sent and how fast, as rsync and scp users type them:
// --exclude / --include / --exclude-from (PathFilter), -n / --dry-run, --bwlimit, and -r (accepted: directories are
// always walked).
import ArgumentParser
import Foundation
import Platform
import Units

package struct UploadSelectionOptions: ParsableArguments {
    @Option(name: .customLong("exclude"),
            help: ArgumentHelp("Leave out what matches PATTERN (rsync's wildcards: * ** ? [..]; 'dir/' for directories, "
                               + "'/name' from the top). Repeatable.", valueName: "pattern"))
    var excludes: [String] = []

    @Option(name: .customLong("include"),
            help: ArgumentHelp("Keep what matches PATTERN even when an --exclude matches it (rsync's idiom: --include '*/' "
                               + "--include '*.jpg' --exclude '*'). Repeatable.", valueName: "pattern"))
    var includes: [String] = []

    @Option(name: .customLong("exclude-from"),
            help: ArgumentHelp("Read --exclude patterns from FILE, one per line ('#' and ';' start comments).",
                               valueName: "file"))
    var excludeFrom: [String] = []

    @Flag(name: [.customShort("n"), .customLong("dry-run")],
          help: ArgumentHelp("Send nothing: say what the upload would do with each file (with a server to ask: sent, "
                             + "already stored, replaced, skipped or failed, each file hashed and asked about by its SHA-256)."))
    var dryRun = false

    @Option(help: ArgumentHelp("Limit the upload to RATE bytes per second, all sessions together (e.g. 10MiB, 500K, "
                               + "100MB; units as elsewhere, an optional '/s').", valueName: "rate"))
    var bwlimit: String?

    @Flag(name: .customShort("r"), help: "Accepted for scp and rsync habits: directories are always sent recursively.")
    var recursive = false

    package init() {}

    /// The filter of the patterns and pattern files; a file that cannot be read is a usage error naming it.
    func filter() throws -> PathFilter {
        var excludes = self.excludes
        for path in excludeFrom {
            let bytes: [UInt8]
            do { bytes = try SmallFile.read(path, limit: 16 << 20) } catch {
                throw ValidationError("--exclude-from \(path): \(error)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError("--exclude-from \(path): not UTF-8 text")
            }
            do { excludes += try PathFilter.patterns(fromFileContents: text, path: path) } catch {
                throw ValidationError("\(error)")
            }
        }
        do { return try PathFilter(includes: includes, excludes: excludes) } catch { throw ValidationError("\(error)") }
    }

    /// --bwlimit in bytes per second; nil without it. 0 and values below 1 KiB/s are refused (a typo, surely).
    func bytesPerSecond() throws -> UInt64? {
        guard var text = bwlimit?.trimmingCharacters(in: .whitespaces) else { return nil }
        if text.lowercased().hasSuffix("/s") { text = String(text.dropLast(2)) }
        let rate: UInt64
        do { rate = try ByteSize.parse(text) } catch { throw ValidationError("--bwlimit: \(error)") }
        guard rate >= BandwidthLimit.minimumRate else {
            throw ValidationError("--bwlimit must be at least 1KiB (per second), got \(bwlimit ?? "")")
        }
        return rate
    }
}
