// `ferryd reindex`: the metadata index compared with the stored files and rebuilt from them (Store/Reindex.swift), with
// the daemon stopped (the store's lock says so when it is not). `--check` changes nothing and exits 1 when the index
// differs from the tree: for a cron job, and for the crash tests after every kill -9.
import ArgumentParser
import Foundation
import Platform
import Store

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the metadata index from the stored files (with ferryd stopped).",
        discussion: """
            Keeps the rows of files that are unchanged, adds files the index lacks, corrects rows that describe a file \
            otherwise, removes rows whose file is gone and recomputes each identity's usage. Only files without a \
            digest record are read. Exit status: 0 the index matches (or now matches) the tree, 1 with --check when it \
            does not, 2 on an error.
            """)

    @Option(help: ArgumentHelp("Configuration file.", valueName: "file"))
    var config = "/etc/ferry/ferryd.toml"

    @Flag(help: "Compare only: change nothing, exit 1 when the index differs from the stored files.")
    var check = false

    /// Differences listed per kind before "… and N more".
    static let shownPerKind = 20

    func run() throws {
        let loaded = try DaemonRuntime.load(configPath: config)
        let report: ReindexReport
        do {
            // --check changes nothing: intents a crash left are reported, not settled (ferryd settles them at start).
            // The index opens under the store's lock, never beside a running daemon.
            let store = try Store(rootPath: loaded.settings.storageRoot.path, staging: loaded.settings.stagingName,
                                  index: try IndexOpening.open(loaded.settings.index, storageRoot: loaded.settings.storageRoot),
                                  settlingIntents: !check)
            if store.replayedIntents > 0 {
                TextOutput.writeAll("settled \(store.replayedIntents) index change(s) a stop left unfinished\n", to: 1)
            }
            report = try store.reindex(apply: !check)
            try store.index?.flush()
        } catch {
            TextOutput.writeAll("ferryd reindex: \(error)\n", to: 2)
            throw ExitCode(2)
        }
        print(Self.render(report, applied: !check), terminator: "")
        if check, report.differs { throw ExitCode(1) }
    }

    static func render(_ report: ReindexReport, applied: Bool) -> String {
        var text = "\(report.namespaces) identit\(report.namespaces == 1 ? "y" : "ies"), \(report.files) file(s) in the tree"
        text += report.hashed > 0 ? ", \(report.hashed) read whole (no digest record)\n" : "\n"
        for (label, entries) in [("added", report.added), ("updated", report.updated), ("removed", report.removed),
                                 ("usage corrected", report.usageCorrected), ("pending", report.pending), ("skipped", report.skipped)] {
            for entry in entries.prefix(shownPerKind) { text += "\(label): \(entry)\n" }
            if entries.count > shownPerKind { text += "\(label): … and \(entries.count - shownPerKind) more\n" }
        }
        let counts = "\(report.added.count) added, \(report.updated.count) updated, \(report.removed.count) removed, "
            + "usage corrected for \(report.usageCorrected.count), \(report.pending.count) pending"
        if !report.differs {
            text += "the index matches the stored files\n"
        } else if applied {
            text += "index rebuilt: \(counts)\n"
        } else {
            text += "the index differs from the stored files (\(counts)): run `ferryd reindex` with ferryd stopped\n"
        }
        return text
    }
}
