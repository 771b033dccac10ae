// `--spawn`: a temporary directory (under /dev/shm when writable, so the daemon's storage is tmpfs and the disk does
// not blur the figures), a CA and two certificates made in process, a ferryd configuration, the daemon started on a
// free loopback port and waited for; at the end stopped and the directory removed (or kept with --keep).
//
//   DIR/ca/ca.crt, ca.key          CertificateAuthority.initialize
//   DIR/certs/server.crt, .key     SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   DIR/certs/loadtest.crt, .key   the client's identity "loadtest" (files land in storage/loadtest/loadtest/<run>/…)
//   DIR/ferryd.toml, DIR/ferryd.log, DIR/storage/
import Foundation

final class SpawnedDaemon {
    static let clientName = "loadtest"
    /// Attempts at a free port (another process may bind it between our probe and the daemon's bind).
    static let portAttempts = 3
    static let readyTimeoutSeconds = 15.0
    /// SIGTERM first: the daemon drains for its shutdown_grace (2 s), then SIGKILL.
    static let stopGraceSeconds = Double(SpawnConfig.shutdownGraceSeconds) + 8

    let directory: URL
    let port: UInt16
    let process: DaemonProcess
    let credentials: LoadTestPlan.Credentials
    private let keep: Bool

    var pid: Int32 { process.pid }

    /// Everything up to a daemon that accepts connections. On failure, what was made is removed again (unless --keep).
    /// `executable`: from `ferrydPath(_:)`.
    static func start(executable: String, options: LoadTestPlan.SpawnOptions, sessions: Int, idleSessions: Int,
                      diagnostics: Diagnostics) throws(SpawnError) -> SpawnedDaemon {
        let directory = try makeDirectory()
        do throws(SpawnError) {
            let credentials = try makeCertificates(in: directory)
            let storage = options.storage ?? directory.appendingPathComponent("storage").path
            // ferryd refuses a storage root that does not exist; the harness stages its daemon, so it makes the root
            // (the temporary one, or the --storage directory it was told to use), as an installer would.
            do { try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true) } catch {
                throw SpawnError("cannot create the storage directory \(storage): \(error.localizedDescription)")
            }
            var lastLog = ""
            for attempt in 1...portAttempts {
                let port = try DaemonProcess.freePort()
                let config = SpawnConfig(
                    port: port, certificate: directory.appendingPathComponent("certs/server.crt").path,
                    privateKey: directory.appendingPathComponent("certs/server.key").path,
                    clientCA: credentials.ca, storageRoot: storage, workers: options.workers,
                    maxSessions: SpawnConfig.maxSessions(sessions: sessions, idleSessions: idleSessions),
                    rotateAfterBytes: options.rotateAfterBytes, fsync: options.fsync)
                let configPath = directory.appendingPathComponent("ferryd.toml").path
                do {
                    try config.text.write(toFile: configPath, atomically: true, encoding: .utf8)
                } catch {
                    throw SpawnError("cannot write \(configPath): \(error.localizedDescription)")
                }
                let logPath = directory.appendingPathComponent("ferryd.log").path
                let process = try DaemonProcess(executable: executable, arguments: ["--config", configPath], logPath: logPath)
                if process.waitUntilAccepting(port: port, timeout: readyTimeoutSeconds) {
                    diagnostics.say("ferryd (pid \(process.pid)) on 127.0.0.1:\(port), files in \(storage)")
                    return SpawnedDaemon(directory: directory, port: port, process: process, credentials: credentials,
                                         keep: options.keep)
                }
                let running = process.isRunning
                process.stop(grace: 2)
                lastLog = process.logTail()
                let portTaken = lastLog.contains("EADDRINUSE") || lastLog.lowercased().contains("address already in use")
                guard portTaken, attempt < portAttempts else {
                    throw SpawnError("ferryd did not start (\(running ? "not accepting after \(Int(readyTimeoutSeconds)) s" : process.exitDescription)); "
                        + "its log:\n\(lastLog)")
                }
            }
            throw SpawnError("ferryd did not start; its log:\n\(lastLog)")
        } catch {
            if !options.keep { try? FileManager.default.removeItem(at: directory) }
            throw error
        }
    }

    private init(directory: URL, port: UInt16, process: DaemonProcess, credentials: LoadTestPlan.Credentials, keep: Bool) {
        self.directory = directory
        self.port = port
        self.process = process
        self.credentials = credentials
        self.keep = keep
    }

    /// Stops the daemon and removes the directory (or says where it is, with --keep). Returns a line about a daemon
    /// that had exited during the run, or needed SIGKILL.
    func stop() -> String? {
        var problem: String?
        if !process.isRunning {
            problem = "ferryd exited during the run (\(process.exitDescription)); log tail:\n\(process.logTail())"
        } else if !process.stop(grace: Self.stopGraceSeconds) {
            problem = "ferryd did not stop within \(Int(Self.stopGraceSeconds)) s of SIGTERM and was killed"
        }
        if keep {
            Diagnostics.fatal("ferry loadtest: kept \(directory.path) (certificates, ferryd.toml, ferryd.log, storage)")
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
        return problem
    }

    // MARK: Pieces

    /// --ferryd, or `ferryd` in the directory of the running executable.
    static func ferrydPath(_ given: String?) throws(SpawnError) -> String {
        let path: String
        if let given {
            path = (given as NSString).expandingTildeInPath
        } else {
            let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("ferryd").path
        }
        guard access(path, X_OK) == 0 else {
            throw SpawnError("no ferryd executable at \(path)" + (given == nil ? " (pass --ferryd PATH)" : ""))
        }
        return path
    }

    /// /dev/shm when writable, else $TMPDIR (or /tmp).
    static func baseDirectory() -> String {
        if access("/dev/shm", W_OK) == 0 { return "/dev/shm" }
        return ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    private static func makeDirectory() throws(SpawnError) -> URL {
        var template = Array((baseDirectory() + "/ferry-loadtest.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SpawnError("cannot create a temporary directory in \(baseDirectory()): \(String(cString: strerror(errno)))") }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    private static func makeCertificates(in directory: URL) throws(SpawnError) -> LoadTestPlan.Credentials {
        let certs = directory.appendingPathComponent("certs", isDirectory: true)
        do {
            // Unencrypted: the CA lives for one run in a 0700 temporary directory that is removed at the end, and no
            // one is there to type a passphrase.
            let ca = try CertificateAuthority.initialize(directory: directory.appendingPathComponent("ca", isDirectory: true),
                                                         name: "Ferry load test CA", keyEncryption: .none)
            let sans: [SubjectAltName] = [.dns("localhost")] + ["127.0.0.1", "::1"].compactMap { IPAddress($0).map { .ip($0) } }
            try ca.issue(name: "server", role: .server(sans: sans), outputDirectory: certs)
            let client = try ca.issue(name: clientName, role: .client, outputDirectory: certs)
            return LoadTestPlan.Credentials(ca: ca.certificatePath, certificate: client.certificatePath, key: client.keyPath,
                                            serverName: "127.0.0.1")
        } catch {
            throw SpawnError("making the run's certificates: \(error.message)")
        }
    }
}
