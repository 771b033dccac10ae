// The ferryd child of `--spawn`: posix_spawn with stdin from /dev/null and stdout + stderr into a log file, a wait for
// its listener to accept, SIGTERM and a bounded wait at the end (SIGKILL after that).
//
// When util-linux's setpriv is there, the daemon runs under `setpriv --pdeathsig TERM` (it execs, so the pid is the
// daemon's): if this process is killed outright (SIGKILL from a test's timeout), the kernel sends ferryd SIGTERM
// instead of leaving it listening. Foundation's Process is not used: its reaper wants a run loop, and we already run one
// of our own.
import Foundation

final class DaemonProcess {
    static let setpriv = "/usr/bin/setpriv"

    let pid: pid_t
    let logPath: String
    private(set) var exitStatus: Int32?

    /// Starts `executable arguments…` with its output in `logPath`.
    init(executable: String, arguments: [String], logPath: String) throws(SpawnError) {
        var argv = [executable] + arguments
        if access(Self.setpriv, X_OK) == 0 { argv = [Self.setpriv, "--pdeathsig", "TERM", "--"] + argv }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "JOURNAL_STREAM")      // plain log lines into the file, not journald's
        environment.removeValue(forKey: "NOTIFY_SOCKET")       // not a systemd service
        environment.removeValue(forKey: PassphraseSources.environmentVariable)  // the client key's secret: not ferryd's
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cEnvironment { free(pointer) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, nil, cArguments, cEnvironment)
        guard rc == 0 else { throw SpawnError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = child
        self.logPath = logPath
    }

    /// True while the child has not exited (reaps it when it has).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid || (rc < 0 && errno == ECHILD) {
            exitStatus = status
            return false
        }
        return true
    }

    /// "exit status 1" or "killed by signal 9", once it has exited.
    var exitDescription: String {
        guard let status = exitStatus else { return "running" }
        let signal = status & 0x7F
        return signal == 0 ? "exit status \((status >> 8) & 0xFF)" : "killed by signal \(signal)"
    }

    /// Waits (polling, bounded) until a TCP connect to 127.0.0.1:`port` succeeds; false if the child exited or the time
    /// ran out.
    func waitUntilAccepting(port: UInt16, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard isRunning else { return false }
            if Self.canConnect(port: port) { return true }
            usleep(20_000)
        }
        return false
    }

    /// SIGTERM (the daemon drains for its shutdown_grace), then SIGKILL after `grace` seconds. True when it exited on
    /// SIGTERM.
    @discardableResult
    func stop(grace: Double) -> Bool {
        guard isRunning else { return true }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !isRunning { return true }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        while isRunning { usleep(10_000) }
        return false
    }

    /// The last `bytes` of the log, for error messages.
    func logTail(_ bytes: Int = 2_000) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "" }
        return String(decoding: data.suffix(bytes), as: UTF8.self)
    }

    static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port that was free a moment ago: bind 127.0.0.1:0, read it back, close.
    static func freePort() throws(SpawnError) -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SpawnError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SpawnError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw SpawnError("getsockname: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
