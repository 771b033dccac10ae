// ferryd: the Ferry daemon.
//   ferryd --config FILE                 run in the foreground, logging to stderr
//   ferryd check-config --config FILE    validate the configuration (and the files it names), print the effective one
//   ferryd reindex --config FILE         rebuild the metadata index from the stored files (ferryd stopped)
//   ferryd --version                     print the release and the protocol versions (FerryVersion)
import ArgumentParser
import EventLoop
import Foundation
import Logging
import Platform
import Protocol
import Store

struct Ferryd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferryd",
        abstract: "The Ferry secure file-transfer daemon.",
        discussion: "Runs in the foreground and logs one line per event to stderr. `ferryd --config FILE` is `ferryd run --config FILE`.",
        version: FerryVersion.description(tool: "ferryd"),
        subcommands: [RunCommand.self, CheckConfigCommand.self, ReindexCommand.self],
        defaultSubcommand: RunCommand.self)
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon (the default).")

    @Option(help: ArgumentHelp("Configuration file.", valueName: "file"))
    var config = "/etc/ferry/ferryd.toml"

    func run() throws {
        // Upload buffers (256 KiB to 16 MiB) go back to the system when freed, not into glibc's heap (HeapTuning).
        HeapTuning.mapBlocks(atLeast: 256 << 10)
        let loaded = try DaemonRuntime.load(configPath: config)
        // libuv's thread pool (shared by every worker loop) runs each upload's SHA-256 and disk writes, at most two
        // jobs per upload at a time (a hash beside a write): two threads per worker, at least libuv's default 4. Read once, at the pool's first use,
        // so it must be set before any loop starts; an operator's own UV_THREADPOOL_SIZE wins.
        if getenv("UV_THREADPOOL_SIZE") == nil {
            setenv("UV_THREADPOOL_SIZE", "\(max(4, 2 * loaded.settings.workers))", 1)
        }
        let logSettings = LogSettings(level: loaded.logLevel, format: loaded.logFormat)
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, settings: logSettings) }
        let logger = Logger(label: "ferryd")
        for warning in loaded.warnings { logger.warning("configuration", metadata: ["warning": "\(warning)"]) }
        for note in loaded.notes { logger.notice("configuration", metadata: ["note": "\(note)"]) }
        // The store takes the root's lock before anything touches staging or the index (the .part files and the intent
        // journal there may be another running daemon's), then settles the intents a crash left.
        let store: Store
        let sharing = IndexOpening.sharing(loaded.settings)
        do {
            store = try Store(rootPath: loaded.settings.storageRoot.path, staging: loaded.settings.stagingName,
                              sharing: sharing, journals: IndexOpening.journals(loaded.settings),
                              index: try IndexOpening.open(loaded.settings.index, storageRoot: loaded.settings.storageRoot,
                                                           sharing: sharing))
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        if let problem = store.keepsDigestRecords {
            // Files up to 64 MiB are hashed again when asked (StoredDigest.rehashLimit); larger ones cannot be.
            logger.warning("the storage root's file system keeps no extended attributes", metadata: [
                "root": "\(loaded.settings.storageRoot.path)", "error": "\(problem)",
                "consequence": "files larger than 64 MiB cannot be got (ferry get) or answered as already stored",
                "fix": "mount it with user extended attributes"])
        }
        if store.replayedIntents > 0 {
            logger.notice("index changes a stop left unfinished, settled against the stored files",
                          metadata: ["settled": "\(store.replayedIntents)"])
        }
        // Partial uploads a previous process left (a crash, a kill, a drain) are kept for their clients to resume,
        // unless unusable or expired.
        let partials = store.recoverPartials(ttlSeconds: loaded.settings.partialTTLSeconds, now: SystemClock.unixSeconds())
        if partials.kept + partials.removed > 0 {
            logger.notice("partial uploads found at start", metadata: ["kept": "\(partials.kept)", "removed": "\(partials.removed)"])
        }
        if let sharing { logger.notice("sharing the storage root", metadata: ["node": "\(sharing.node)"]) }
        // What other daemons on this root left unfinished (shared ones, or an unshared one before it was shared).
        Server.logUnfinished(store.settleUnfinished(), logger)
        do {
            try Server(runtime: loaded, store: store, configPath: config, logSettings: logSettings, logger: logger).run()
            flushIndex(store, logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// The index's finished changes still waiting, written before the process ends (a crash would leave them to the next
/// start's settling instead).
private func flushIndex(_ store: Store, _ logger: Logger) {
    do { try store.index?.flush() } catch {
        logger.error("the index could not be written at stop; the next start settles it", metadata: ["error": "\(error)"])
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the configuration and print the effective settings.")

    @Option(help: ArgumentHelp("Configuration file.", valueName: "file"))
    var config = "/etc/ferry/ferryd.toml"

    func run() throws {
        let loaded = try DaemonRuntime.load(configPath: config)
        // Warnings on stderr, so that stdout stays the effective configuration (a file ferryd itself reads).
        for warning in loaded.certificates.warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        for warning in loaded.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        for note in loaded.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        print(loaded.effectiveTOML, terminator: loaded.effectiveTOML.hasSuffix("\n") ? "" : "\n")
    }
}

Ferryd.main()
