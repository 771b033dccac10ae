// The real ferryd (built beside this test bundle) with $NOTIFY_SOCKET pointing at a datagram socket the test binds,
// as systemd would for Type=notify: READY=1 only once the port accepts, RELOADING=1 then READY=1 on SIGHUP (also when
// the new file is refused), STOPPING=1 on SIGTERM and exit 0, WATCHDOG=1 every $WATCHDOG_USEC/2. Every wait is bounded.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SystemdNotifyEndToEndTests: XCTestCase {
    private struct Setup {
        let directory: URL
        let binaries: URL
        let port: UInt16
        let config: URL
        let configText: String
        let receiver: NotifySocketReceiver
    }

    /// Certificates from `ferry ca`, a configuration on a free port, a notify socket.
    private func prepare(abstractSocket: Bool = false) throws -> Setup {
        guard let binaries = Executables.directory().0 else {
            XCTFail("ferryd and ferry were not built beside the test bundle: run `swift build --product ferryd` and "
                + "`swift build --product ferry` with the same --scratch-path as `swift test`")
            throw TestError("executables not built")
        }
        let directory = try makeTemporaryDirectory("notify-e2e").url
        let ferry = binaries.appendingPathComponent("ferry").path
        let ca = directory.appendingPathComponent("ca").path
        let certs = directory.appendingPathComponent("certs").path
        for arguments in [["ca", "init", "--dir", ca],
                          ["ca", "issue", "--dir", ca, "--name", "server", "--server", "--san", "IP:127.0.0.1", "--out", certs],
                          ["ca", "issue", "--dir", ca, "--name", "alice", "--client", "--out", certs]] {
            let result = try runCommand(ferry, arguments, directory: directory, timeout: 60)
            guard result.status == 0 else {
                XCTFail("ferry \(arguments.joined(separator: " ")): \(result.stderr)")
                throw TestError("ferry ca failed")
            }
        }
        let port = try Self.freePort()
        let configText = """
            [server]
            listen = ["127.0.0.1:\(port)"]
            workers = 2
            shutdown_grace = 2
            [identity]
            certificate = "certs/server.crt"
            private_key = "certs/server.key"
            client_ca = "ca/ca.crt"
            [storage]
            root = "storage"

            """
        let config = directory.appendingPathComponent("ferryd.toml")
        try configText.write(to: config, atomically: true, encoding: .utf8)
        // The storage root must exist (ferryd does not create it; under systemd, StateDirectory= does).
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("storage"), withIntermediateDirectories: true)
        let receiver = abstractSocket
            ? try NotifySocketReceiver(abstractName: "ferry-e2e-\(getpid())-\(UUID().uuidString.prefix(8))")
            : try NotifySocketReceiver(directory: directory)
        return Setup(directory: directory, binaries: binaries, port: port, config: config, configText: configText,
                     receiver: receiver)
    }

    private func startDaemon(_ setup: Setup, extra: [String: String] = [:]) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        for name in ["JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "CREDENTIALS_DIRECTORY"] {
            environment.removeValue(forKey: name)
        }
        environment["NOTIFY_SOCKET"] = setup.receiver.environmentValue
        environment.merge(extra) { $1 }
        let daemon = try ChildProcess(setup.binaries.appendingPathComponent("ferryd"), ["--config", setup.config.path],
                                      outputDirectory: setup.directory, name: "ferryd", currentDirectory: setup.directory,
                                      environment: environment)
        addTeardownBlock { daemon.kill() }
        return daemon
    }

    /// Waits (bounded) for the datagram starting with `prefix`, skipping periodic STATUS= and WATCHDOG=1 ones.
    private func expect(_ prefix: String, from receiver: NotifySocketReceiver, within timeout: Double,
                        daemon: ChildProcess, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let (match, skipped) = receiver.receive(timeout: timeout) { $0.hasPrefix(prefix) }
        let unexpected = skipped.filter { !$0.hasPrefix("STATUS=") && $0 != "WATCHDOG=1" }
        XCTAssertEqual(unexpected, [], "datagrams before \(prefix)", file: file, line: line)
        guard let match else {
            XCTFail("no \(prefix) within \(timeout) s (skipped: \(skipped)); ferryd \(daemon.isRunning ? "running" : "exited"); "
                + "log:\n\(daemon.stderr.suffix(3000))", file: file, line: line)
            throw TestError("no \(prefix)")
        }
        return match
    }

    func testReadyReloadAndStop() throws {
        let setup = try prepare()
        XCTAssertFalse(Self.accepts(port: setup.port), "port \(setup.port) is already taken")
        let daemon = try startDaemon(setup)

        // READY=1 with MAINPID, and the port accepts the moment it arrives.
        let ready = try expect("READY=1", from: setup.receiver, within: 20, daemon: daemon)
        XCTAssertTrue(Self.accepts(port: setup.port), "READY=1 arrived before 127.0.0.1:\(setup.port) accepted")
        XCTAssertEqual(ready, "READY=1\nMAINPID=\(daemon.pid)\nSTATUS=serving: 0 active sessions, 0 bytes received")

        // Upload a file, so STATUS= counts received bytes (ServerSession → DaemonShared.bytesReceived).
        let file = setup.directory.appendingPathComponent("payload.bin")
        try Data(repeating: 0x5A, count: 300 * 1024).write(to: file)
        let upload = try runCommand(setup.binaries.appendingPathComponent("ferry").path, [
            "upload", "--server", "127.0.0.1:\(setup.port)", "--ca", "ca/ca.crt", "--cert", "certs/alice.crt",
            "--key", "certs/alice.key", "--json", "--", file.path,
        ], environment: ProcessInfo.processInfo.environment.merging(["HOME": setup.directory.path]) { $1 },
           directory: setup.directory, timeout: 60)
        XCTAssertEqual(upload.status, 0, upload.stdout + upload.stderr)

        // SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 with the current status.
        daemon.signal(SIGHUP)
        let reloading = try expect("RELOADING=1", from: setup.receiver, within: 10, daemon: daemon)
        XCTAssertTrue(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), reloading)
        XCTAssertTrue(reloading.hasSuffix("\nSTATUS=reloading the configuration"), reloading)
        let reloaded = try expect("READY=1", from: setup.receiver, within: 10, daemon: daemon)
        XCTAssertTrue(reloaded.hasPrefix("READY=1\nSTATUS=serving: "), reloaded)
        XCTAssertTrue(reloaded.hasSuffix(", 300.0 KiB received"), reloaded)

        // A refused file: the same pair, and the daemon keeps serving.
        try "[server]\nlisten = 42\n".write(to: setup.config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        _ = try expect("RELOADING=1", from: setup.receiver, within: 10, daemon: daemon)
        _ = try expect("READY=1", from: setup.receiver, within: 10, daemon: daemon)
        XCTAssertTrue(daemon.isRunning)
        XCTAssertTrue(daemon.stderr.contains("reload failed"), daemon.stderr)
        XCTAssertTrue(Self.accepts(port: setup.port))

        // SIGTERM: STOPPING=1, then exit 0.
        daemon.signal(SIGTERM)
        let stopping = try expect("STOPPING=1", from: setup.receiver, within: 10, daemon: daemon)
        XCTAssertTrue(stopping.hasPrefix("STOPPING=1\nSTATUS=draining: "), stopping)
        XCTAssertTrue(daemon.wait(timeout: 15), "ferryd did not exit within 15 s of SIGTERM")
        XCTAssertEqual(daemon.exitStatus, 0, daemon.stderr.suffix(2000).description)
        let after = setup.receiver.receiveAll(for: 0.1).filter { !$0.hasPrefix("STATUS=") }
        XCTAssertEqual(after, [], "nothing but STATUS= after STOPPING=1")
    }

    func testWatchdogPingsAtHalfTheInterval() throws {
        let setup = try prepare(abstractSocket: true)
        let daemon = try startDaemon(setup, extra: ["WATCHDOG_USEC": "200000"])
        _ = try expect("READY=1", from: setup.receiver, within: 20, daemon: daemon)
        let start = monotonicSeconds()
        let messages = setup.receiver.receiveAll(for: 1.0)
        let pings = messages.filter { $0 == "WATCHDOG=1" }
        print("WATCHDOG_USEC=200000: \(pings.count) WATCHDOG=1 in \(String(format: "%.2f", monotonicSeconds() - start)) s")
        XCTAssertGreaterThanOrEqual(pings.count, 2, "\(messages)")
        XCTAssertLessThanOrEqual(pings.count, 15, "pinging far more often than every 100 ms: \(messages)")
        daemon.signal(SIGTERM)
        XCTAssertTrue(daemon.wait(timeout: 15))
        XCTAssertEqual(daemon.exitStatus, 0)
    }

    func testNoWatchdogForAnotherPid() throws {
        let setup = try prepare()
        let daemon = try startDaemon(setup, extra: ["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        _ = try expect("READY=1", from: setup.receiver, within: 20, daemon: daemon)
        let messages = setup.receiver.receiveAll(for: 0.5)
        XCTAssertFalse(messages.contains("WATCHDOG=1"), "\(messages)")
        daemon.signal(SIGTERM)
        XCTAssertTrue(daemon.wait(timeout: 15))
    }

    // MARK: Sockets

    /// A TCP connection to 127.0.0.1:`port` succeeds (the kernel completes it from the listen backlog).
    static func accepts(port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A port that was free a moment ago.
    static func freePort() throws -> UInt16 { try TestPorts.free() }
}
