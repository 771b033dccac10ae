// What a load test will do, checked: the command line turned into values, every rule between options applied here
// (so the unit tests can cover them without a socket), nothing read from disk yet.
import Protocol
import Units

struct LoadTestPlan: Equatable, Sendable {
    enum Target: Equatable, Sendable {
        case spawn(SpawnOptions)
        case server(host: String, port: UInt16, credentials: Credentials, daemonPID: Int32?)
    }

    struct SpawnOptions: Equatable, Sendable {
        /// The ferryd executable; nil: beside the running ferry.
        var ferryd: String?
        /// The daemon's storage root; nil: a folder in the temporary directory.
        var storage: String?
        var workers: Int = 0
        /// `rotate_after_bytes`; nil: the daemon's default.
        var rotateAfterBytes: UInt64?
        /// `fsync` under [storage]; nil: not written.
        var fsync: Bool?
        var keep = false
    }

    struct Credentials: Equatable, Sendable {
        var ca: String
        var certificate: String
        var key: String
        var serverName: String?
    }

    var target: Target
    var sessions: Int
    var filesPerSession: Int
    var size: UInt64
    /// Sessions per second (open loop); nil: closed loop.
    var rate: Double?
    var duration: Double?
    var idleSessions: Int
    var group: KeyExchangeGroup?
    var cipher: CipherSuite?
    var rotateAfterBytes: UInt64?
    var timeout: Double
    var maxSeconds: Double
    var json: Bool
    /// --mix; nil: every operation is an upload (a pure-put run: files_per_session files per session).
    var mix: OperationMix? = nil
    var seed: UInt64 = LoadTestPlan.defaultSeed
    /// Files stored for the gets before the load (only when the mix has get above 0).
    var getFiles: Int = LoadTestPlan.defaultGetFiles

    /// Descriptors the client needs beyond one per session: the loop's own, stdio, files, a margin.
    static let descriptorReserve = 64
    /// Largest counts accepted (typos, not limits of the tool: the descriptor check is the real bound).
    static let maximumSessions = 1_000_000
    static let maximumFilesPerSession = 1_000_000
    /// Longest --duration, --timeout, --max-seconds (a week): typos, and every conversion to nanoseconds stays in range.
    static let maximumSeconds: Double = 7 * 86_400
    static let maximumRate: Double = 1_000_000
    /// A fixed default seed: a run is reproducible unless told otherwise.
    static let defaultSeed: UInt64 = 1
    /// Enough files that the gets do not all read one (one file would be one hot page-cache entry), few enough that
    /// storing them (one session, before the load) takes a moment at the usual sizes; fewer when they would hold more
    /// than `defaultGetBytes` (16 files of 2 GiB would fill the /dev/shm --spawn stores in).
    static let defaultGetFiles = 16
    static let defaultGetBytes: UInt64 = 1 << 30

    static func defaultGetFiles(size: UInt64) -> Int {
        size == 0 ? defaultGetFiles : Int(max(1, min(UInt64(defaultGetFiles), defaultGetBytes / size)))
    }
    static let maximumGetFiles = 10_000
    /// The daemon refuses `workers` above this (config/ferryd.toml).
    static let maximumWorkers = 256

    var descriptorsNeeded: Int { sessions + idleSessions + Self.descriptorReserve }
    var isSpawned: Bool { if case .spawn = target { true } else { false } }
}

/// A mistake on the command line; exits 2.
struct LoadTestUsageError: Error, Equatable, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension LoadTestCommand {
    /// Applies every rule between the options. Reads nothing.
    func makePlan() throws(LoadTestUsageError) -> LoadTestPlan {
        func fail(_ message: String) -> LoadTestUsageError { LoadTestUsageError(message) }

        let target: LoadTestPlan.Target
        switch (server, spawn) {
        case (nil, false): throw fail("say where the daemon is: --server HOST:PORT, or --spawn to start one")
        case (.some, true): throw fail("--server and --spawn exclude each other")
        case (nil, true):
            for (given, name) in [(ca, "--ca"), (cert, "--cert"), (key, "--key"), (serverName, "--server-name")] where given != nil {
                throw fail("\(name) is for --server; --spawn makes its own CA and certificates")
            }
            if daemonPid != nil { throw fail("--daemon-pid is for --server; with --spawn the daemon is the one started") }
            var options = LoadTestPlan.SpawnOptions(ferryd: ferryd, storage: storage, keep: keep)
            if let workers {
                guard (0...LoadTestPlan.maximumWorkers).contains(workers) else {
                    throw fail("--workers must be 0…\(LoadTestPlan.maximumWorkers) (0: one per core)")
                }
                options.workers = workers
            }
            if let daemonRotateAfter { options.rotateAfterBytes = try Self.byteSize(daemonRotateAfter, "--daemon-rotate-after") }
            if let daemonFsync {
                switch daemonFsync.lowercased() {
                case "true": options.fsync = true
                case "false": options.fsync = false
                default: throw fail("--daemon-fsync takes true or false, not \"\(printable(daemonFsync))\"")
                }
            }
            target = .spawn(options)
        case (let text?, false):
            // --ferryd is accepted and ignored: scripts/loadtest always passes the one it built.
            let spawnOnly: [(Bool, String)] = [
                (storage != nil, "--storage"), (workers != nil, "--workers"),
                (daemonRotateAfter != nil, "--daemon-rotate-after"), (daemonFsync != nil, "--daemon-fsync"), (keep, "--keep"),
            ]
            if let (_, name) = spawnOnly.first(where: \.0) { throw fail("\(name) is for --spawn (the daemon it starts)") }
            let address: HostPort
            do { address = try HostPort.parse(text) } catch { throw fail("--server: \(error)") }
            guard LoopbackHost.isLoopback(address.host) else {
                throw fail("--server \(printable(text)): the load test only targets this machine "
                    + "(host 127.0.0.1, ::1 or localhost)")
            }
            guard let ca, let cert, let key else { throw fail("--server needs --ca, --cert and --key") }
            if let daemonPid, daemonPid <= 0 { throw fail("--daemon-pid must be a process id (> 0)") }
            target = .server(host: address.host, port: address.port,
                             credentials: .init(ca: ca, certificate: cert, key: key, serverName: serverName), daemonPID: daemonPid)
        }

        guard (0...LoadTestPlan.maximumSessions).contains(sessions) else {
            throw fail("--sessions must be 0…\(LoadTestPlan.maximumSessions)")
        }
        guard (0...LoadTestPlan.maximumFilesPerSession).contains(filesPerSession) else {
            throw fail("--files-per-session must be 0…\(LoadTestPlan.maximumFilesPerSession)")
        }
        guard (0...LoadTestPlan.maximumSessions).contains(idleSessions) else {
            throw fail("--idle-sessions must be 0…\(LoadTestPlan.maximumSessions)")
        }
        guard sessions > 0 || idleSessions > 0 else { throw fail("nothing to do: --sessions and --idle-sessions are both 0") }

        let mixValue = try makeMix()
        var bytes: UInt64 = 0
        if let size { bytes = try Self.byteSize(size, "--size") }
        // A mix of list alone stores and reads no file: no size needed.
        let movesFiles = mixValue.map { $0.weight(.put) > 0 || $0.weight(.get) > 0 } ?? true
        if filesPerSession > 0, size == nil, movesFiles {
            throw fail("--size is needed when --files-per-session is above 0")
        }

        func seconds(_ value: Double, _ option: String) throws(LoadTestUsageError) {
            guard value.isFinite, value > 0, value <= LoadTestPlan.maximumSeconds else {
                throw fail("\(option) must be a number of seconds > 0 and at most \(Int(LoadTestPlan.maximumSeconds))")
            }
        }
        if let duration { try seconds(duration, "--duration") }
        if let rate {
            guard rate.isFinite, rate > 0, rate <= LoadTestPlan.maximumRate else {
                throw fail("--rate must be sessions per second > 0 and at most \(Int(LoadTestPlan.maximumRate))")
            }
            guard duration != nil else { throw fail("--rate needs --duration (how long to keep the schedule)") }
            guard sessions > 0 else { throw fail("--rate needs --sessions ≥ 1 (the most sessions in flight)") }
        }
        try seconds(timeout, "--timeout")
        try seconds(maxSeconds, "--max-seconds")

        var groupValue: KeyExchangeGroup?
        if let group {
            guard let value = KeyExchangeGroup(name: group) else {
                throw fail("--group \"\(printable(group))\": not one of \(KeyExchangeGroup.allCases.map(\.name).joined(separator: ", "))")
            }
            groupValue = value
        }
        var cipherValue: CipherSuite?
        if let cipher {
            guard let value = CipherSuite(name: cipher) else {
                throw fail("--cipher \"\(printable(cipher))\": not one of \(CipherSuite.allCases.map(\.name).joined(separator: ", "))")
            }
            cipherValue = value
        }
        var rotate: UInt64?
        if let rotateAfter { rotate = try Self.byteSize(rotateAfter, "--rotate-after") }

        return LoadTestPlan(target: target, sessions: sessions, filesPerSession: filesPerSession, size: bytes, rate: rate,
                            duration: duration, idleSessions: idleSessions, group: groupValue, cipher: cipherValue,
                            rotateAfterBytes: rotate, timeout: timeout, maxSeconds: maxSeconds, json: json,
                            mix: mixValue, seed: seed.map(UInt64.init) ?? LoadTestPlan.defaultSeed,
                            getFiles: getFiles ?? LoadTestPlan.defaultGetFiles(size: bytes))
    }

    /// --mix and the options that go with it; nil without --mix.
    private func makeMix() throws(LoadTestUsageError) -> OperationMix? {
        guard let mix else {
            if seed != nil { throw LoadTestUsageError("--seed is for --mix (it seeds the picks of a mixed load)") }
            if getFiles != nil { throw LoadTestUsageError("--get-files is for --mix (the files its gets read)") }
            return nil
        }
        let value = try OperationMix.parse(mix)
        guard sessions > 0 else { throw LoadTestUsageError("--mix needs --sessions >= 1") }
        guard filesPerSession > 0 else {
            throw LoadTestUsageError("--mix needs --files-per-session >= 1 (with --mix: operations per session)")
        }
        if let getFiles, !(1...LoadTestPlan.maximumGetFiles).contains(getFiles) {
            throw LoadTestUsageError("--get-files must be 1...\(LoadTestPlan.maximumGetFiles)")
        }
        return value
    }

    private static func byteSize(_ text: String, _ option: String) throws(LoadTestUsageError) -> UInt64 {
        do { return try ByteSize.parse(text) } catch { throw LoadTestUsageError("\(option): \(error)") }
    }
}
