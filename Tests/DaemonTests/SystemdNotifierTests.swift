// SystemdNotifier against real AF_UNIX datagram sockets (a file in a temporary directory, an abstract name), the
// $NOTIFY_SOCKET and $WATCHDOG_USEC parsing, and the messages of each SystemdService state change.
import Foundation
import Logging
import TestSupport
import XCTest

@testable import Daemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SystemdNotifierTests: XCTestCase {
    private let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    // MARK: Sending

    func testSendsExactPayloadToFilesystemSocket() throws {
        let directory = try makeTemporaryDirectory("notify").url
        let receiver = try NotifySocketReceiver(directory: directory)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.environmentValue], logger: logger)
        XCTAssertTrue(notifier.isEnabled)
        XCTAssertEqual(notifier.address, .path(receiver.environmentValue))

        XCTAssertTrue(notifier.send("READY=1\nMAINPID=42\nSTATUS=serving"))
        XCTAssertEqual(receiver.receive(timeout: 2), "READY=1\nMAINPID=42\nSTATUS=serving")
        XCTAssertTrue(notifier.send(NotifyMessage.watchdog))
        XCTAssertEqual(receiver.receive(timeout: 2), "WATCHDOG=1")
        XCTAssertNil(receiver.receive(timeout: 0.05), "one datagram per send")
    }

    func testSendsExactPayloadToAbstractSocket() throws {
        let name = "ferry-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        let receiver = try NotifySocketReceiver(abstractName: name)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name], logger: logger)
        XCTAssertEqual(notifier.address, .abstract(name))

        XCTAssertTrue(notifier.send("STOPPING=1"))
        XCTAssertEqual(receiver.receive(timeout: 2), "STOPPING=1")
        // The address length has no trailing NUL: a receiver bound to "\0name\0" is another socket and gets nothing.
        let padded = try NotifySocketReceiver(abstractName: name + "\u{0}")
        XCTAssertTrue(notifier.send("WATCHDOG=1"))
        XCTAssertEqual(receiver.receive(timeout: 2), "WATCHDOG=1")
        XCTAssertNil(padded.receive(timeout: 0.05))
    }

    func testUnsetVariableMakesEveryCallANoOp() {
        let notifier = SystemdNotifier(environment: [:], logger: logger)
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertNil(notifier.address)
        XCTAssertFalse(notifier.send("READY=1"))

        let service = SystemdService(notifier: notifier, shared: DaemonShared(), environment: ["WATCHDOG_USEC": "1000"], pid: 7)
        service.ready()
        service.reloading()
        service.reloaded()
        service.stopping()
        service.close()
        XCTAssertEqual(service.phase, .stopping)
    }

    func testSendFailureIsLoggedOnceAndNotFatal() throws {
        let directory = try makeTemporaryDirectory("notify").url
        let path = directory.appendingPathComponent("nobody-listens.sock").path
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path],
                                       logger: Logger(label: "test") { _ in recorder })
        XCTAssertTrue(notifier.isEnabled)
        XCTAssertFalse(notifier.send("READY=1"))
        XCTAssertFalse(notifier.send("WATCHDOG=1"))
        XCTAssertFalse(notifier.send("STOPPING=1"))
        XCTAssertEqual(recorder.messages.count, 1, "\(recorder.messages)")
        XCTAssertTrue(recorder.messages.first?.contains("systemd notification failed") ?? false)

        // Once the socket appears, sends succeed again (nothing was disabled by the failure).
        let receiver = try NotifySocketReceiver(directory: directory, name: "nobody-listens.sock")
        XCTAssertTrue(notifier.send("READY=1"))
        XCTAssertEqual(receiver.receive(timeout: 2), "READY=1")
    }

    func testUnusableAddressDisablesWithOneWarning() {
        let recorder = LogRecorder()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/notify"],
                                       logger: Logger(label: "test") { _ in recorder })
        XCTAssertFalse(notifier.isEnabled)
        XCTAssertFalse(notifier.send("READY=1"))
        XCTAssertEqual(recorder.messages.count, 1)
        XCTAssertTrue(recorder.messages[0].contains("NOTIFY_SOCKET"), recorder.messages[0])
    }

    // MARK: Parsing

    func testAddressParsing() {
        XCTAssertEqual(SystemdNotifier.parseAddress("/run/systemd/notify"), .success(.path("/run/systemd/notify")))
        XCTAssertEqual(SystemdNotifier.parseAddress("@/org/freedesktop/systemd1/notify/42"),
                       .success(.abstract("/org/freedesktop/systemd1/notify/42")))
        XCTAssertEqual(SystemdNotifier.parseAddress(""), .failure(.empty))
        XCTAssertEqual(SystemdNotifier.parseAddress("notify.sock"), .failure(.unsupported("notify.sock")))
        XCTAssertEqual(SystemdNotifier.parseAddress("vsock:2:1234"), .failure(.unsupported("vsock:2:1234")))
        XCTAssertEqual(SystemdNotifier.parseAddress("/a\u{0}b"), .failure(.nulByte))

        // sun_path is 108 bytes: a path of 107 bytes plus its NUL fits, 108 does not; an abstract name may use all
        // 107 bytes after the leading NUL.
        XCTAssertEqual(SystemdNotifier.sunPathCapacity, 108)
        let path107 = "/" + String(repeating: "p", count: 106)
        XCTAssertEqual(SystemdNotifier.parseAddress(path107), .success(.path(path107)))
        XCTAssertEqual(SystemdNotifier.parseAddress(path107 + "p"), .failure(.tooLong(109)))
        let name107 = String(repeating: "a", count: 107)
        XCTAssertEqual(SystemdNotifier.parseAddress("@" + name107), .success(.abstract(name107)))
        XCTAssertEqual(SystemdNotifier.parseAddress("@" + name107 + "a"), .failure(.tooLong(109)))

        XCTAssertEqual(SystemdNotifier.Address.path("/x").sunPathBytes, [UInt8(ascii: "/"), UInt8(ascii: "x"), 0])
        XCTAssertEqual(SystemdNotifier.Address.abstract("x").sunPathBytes, [0, UInt8(ascii: "x")])
    }

    func testWatchdogInterval() {
        func interval(_ environment: [String: String], pid: Int32 = 100) -> UInt64? {
            SystemdWatchdog.pingIntervalMicroseconds(environment: environment, pid: pid)
        }
        XCTAssertNil(interval([:]))
        XCTAssertEqual(interval(["WATCHDOG_USEC": "30000000"]), 15_000_000, "half of WatchdogSec=30s")
        XCTAssertEqual(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "100"]), 100_000)
        XCTAssertNil(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "101"]), "meant for another process")
        XCTAssertNil(interval(["WATCHDOG_USEC": "200000", "WATCHDOG_PID": "abc"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": "0"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": "-5"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": "30s"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": ""]))
        XCTAssertNil(interval(["WATCHDOG_PID": "100"]))

        XCTAssertEqual(SystemdWatchdog.pingIntervalMilliseconds(environment: ["WATCHDOG_USEC": "30000000"], pid: 1), 15_000)
        XCTAssertEqual(SystemdWatchdog.pingIntervalMilliseconds(environment: ["WATCHDOG_USEC": "200000"], pid: 1), 100)
        XCTAssertEqual(SystemdWatchdog.pingIntervalMilliseconds(environment: ["WATCHDOG_USEC": "1"], pid: 1), 1,
                       "never a 0 ms repeating timer")
    }

    // MARK: Messages

    func testMessages() {
        XCTAssertEqual(NotifyMessage.ready(mainPID: 1234, status: "serving"), "READY=1\nMAINPID=1234\nSTATUS=serving")
        XCTAssertEqual(NotifyMessage.reloaded(status: "serving"), "READY=1\nSTATUS=serving")
        XCTAssertEqual(NotifyMessage.reloading(monotonicMicroseconds: 99),
                       "RELOADING=1\nMONOTONIC_USEC=99\nSTATUS=reloading the configuration")
        XCTAssertEqual(NotifyMessage.stopping(status: "draining"), "STOPPING=1\nSTATUS=draining")
        XCTAssertEqual(NotifyMessage.status("two\nlines"), "STATUS=two lines", "a newline would start an assignment")

        // MONOTONIC_USEC is CLOCK_MONOTONIC in µs.
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let before = UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
        let reading = NotifyMessage.monotonicMicroseconds()
        XCTAssertGreaterThanOrEqual(reading, before)
        XCTAssertLessThan(reading - before, 5_000_000)
    }

    func testServiceStateChangesSendTheRightMessages() throws {
        let directory = try makeTemporaryDirectory("notify").url
        let receiver = try NotifySocketReceiver(directory: directory)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.environmentValue], logger: logger)
        let shared = DaemonShared()
        let service = SystemdService(notifier: notifier, shared: shared, environment: [:], pid: 4321)
        XCTAssertNil(service.watchdogIntervalMilliseconds)
        XCTAssertEqual(service.statusText(), "starting")

        service.reloading()  // not serving yet: ignored
        XCTAssertNil(receiver.receive(timeout: 0.05))

        _ = shared.reserveSession(limit: 10)
        shared.bytesReceived.add(3 << 20, ordering: .relaxed)
        service.ready()
        XCTAssertEqual(receiver.receive(timeout: 2), "READY=1\nMAINPID=4321\nSTATUS=serving: 1 active session, 3.0 MiB received")
        service.ready()  // once only
        XCTAssertNil(receiver.receive(timeout: 0.05))

        service.reloading()
        let reloading = try XCTUnwrap(receiver.receive(timeout: 2))
        let lines = reloading.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, reloading)
        XCTAssertEqual(lines.first, "RELOADING=1")
        XCTAssertTrue(lines[1].hasPrefix("MONOTONIC_USEC="), reloading)
        XCTAssertNotNil(UInt64(lines[1].dropFirst("MONOTONIC_USEC=".count)), reloading)
        XCTAssertEqual(lines.last, "STATUS=reloading the configuration")

        shared.releaseSession()
        service.reloaded()
        XCTAssertEqual(receiver.receive(timeout: 2), "READY=1\nSTATUS=serving: 0 active sessions, 3.0 MiB received")

        service.stopping()
        XCTAssertEqual(receiver.receive(timeout: 2), "STOPPING=1\nSTATUS=draining: 0 active sessions, 3.0 MiB received")
        service.stopping()
        service.reloading()  // a SIGHUP while draining does not reload
        XCTAssertNil(receiver.receive(timeout: 0.05))
        XCTAssertEqual(service.phase, .stopping)
    }
}

/// Collects the messages logged through it (thread-safe enough for these single-threaded tests).
final class LogRecorder: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var messages: [String] { lock.withLock { recorded } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { recorded.append("\(event.level): \(event.message)") }
    }
}
