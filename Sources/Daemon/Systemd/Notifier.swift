// sd_notify(3) without libsystemd: one datagram per state change to the socket systemd names in $NOTIFY_SOCKET.
//
// The protocol (systemd's sd_notify(3) and src/libsystemd/sd-daemon/sd-daemon.c): newline-separated VAR=VALUE
// assignments in one AF_UNIX datagram, sent to
//   - "/path"  a filesystem socket: sun_path is the path, and the address length counts its trailing NUL;
//   - "@name"  an abstract socket: sun_path is NUL + name, and the address length stops at the last byte of the name
//              (no trailing NUL: in the abstract namespace every byte counted is part of the name).
// libsystemd opens a socket per call; we open one at start-up (SOCK_CLOEXEC) and keep it, because the watchdog sends
// every few seconds and the descriptor costs nothing. Unset variable → every call is a no-op (not run by systemd, or
// Type= is not notify). A failure is logged once and never stops the daemon: systemd notices a missing READY=1 or
// WATCHDOG=1 on its own (start timeout, watchdog timeout), which is the right outcome for a wedged manager socket.
//
// Departure from libsystemd: the socket gets SO_SNDTIMEO (`sendTimeoutMilliseconds`). A datagram to a receiver whose
// queue is full (net.unix.max_dgram_qlen, 10 by default) blocks the sender; libsystemd blocks without bound, which on
// our main loop would also stop the signal handling. One second of back-pressure at most, then the message is dropped.
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SystemdNotifier: Sendable {
    /// What $NOTIFY_SOCKET names.
    enum Address: Equatable, Sendable, CustomStringConvertible {
        /// A socket in the filesystem ("/run/systemd/notify").
        case path(String)
        /// A socket in the abstract namespace ("@name" in the variable; `name` here is without the "@").
        case abstract(String)

        var description: String {
            switch self {
            case .path(let path): path
            case .abstract(let name): "@" + name
            }
        }

        /// The bytes of sun_path that the address length counts (sd-daemon.c, sockaddr_un_set_path).
        var sunPathBytes: [UInt8] {
            switch self {
            case .path(let path): Array(path.utf8) + [0]
            case .abstract(let name): [0] + Array(name.utf8)
            }
        }
    }

    enum AddressProblem: Error, Equatable, CustomStringConvertible {
        case empty
        /// Neither "/" nor "@" first: relative paths, and the "vsock:" addresses of systemd 254+, which a service on
        /// the host never gets.
        case unsupported(String)
        /// sun_path holds 108 bytes.
        case tooLong(Int)
        case nulByte

        var description: String {
            switch self {
            case .empty: "is empty"
            case .unsupported(let value): "\"\(value)\" is neither an absolute path nor an abstract name (\"@…\")"
            case .tooLong(let count): "needs \(count) bytes of sun_path, more than its \(SystemdNotifier.sunPathCapacity)"
            case .nulByte: "contains a NUL byte"
            }
        }
    }

    static let environmentVariable = "NOTIFY_SOCKET"
    /// sizeof(sockaddr_un.sun_path) on Linux.
    static let sunPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
    /// The longest a send may wait for room in the receiver's queue (see the header).
    static let sendTimeoutMilliseconds = 1000

    /// Parses the value of $NOTIFY_SOCKET.
    static func parseAddress(_ value: String) -> Result<Address, AddressProblem> {
        guard let first = value.utf8.first else { return .failure(.empty) }
        guard !value.utf8.contains(0) else { return .failure(.nulByte) }
        let address: Address
        switch first {
        case UInt8(ascii: "/"): address = .path(value)
        case UInt8(ascii: "@"): address = .abstract(String(value.dropFirst()))
        default: return .failure(.unsupported(value))
        }
        let needed = address.sunPathBytes.count
        guard needed <= sunPathCapacity else { return .failure(.tooLong(needed)) }
        return .success(address)
    }

    /// nil: notifications are off (variable unset, or unusable: said once at init).
    private let target: (descriptor: Int32, address: Address)?
    private let logger: Logger
    private let failureLogged = Atomic<Bool>(false)

    /// Reads $NOTIFY_SOCKET once (from `environment`) and opens the datagram socket if it is set.
    init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.logger = logger
        guard let value = environment[Self.environmentVariable] else {
            target = nil
            return
        }
        let address: Address
        switch Self.parseAddress(value) {
        case .success(let parsed): address = parsed
        case .failure(let problem):
            logger.warning("systemd notifications off: $NOTIFY_SOCKET \(problem)")
            failureLogged.store(true, ordering: .relaxed)
            target = nil
            return
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            logger.warning("systemd notifications off: socket(AF_UNIX, SOCK_DGRAM) failed",
                           metadata: ["error": "\(String(cString: strerror(errno)))"])
            failureLogged.store(true, ordering: .relaxed)
            target = nil
            return
        }
        var timeout = timeval(tv_sec: Self.sendTimeoutMilliseconds / 1000,
                              tv_usec: __suseconds_t((Self.sendTimeoutMilliseconds % 1000) * 1000))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        target = (descriptor, address)
    }

    deinit {
        if let target { close(target.descriptor) }
    }

    /// Whether messages go anywhere (the daemon skips its status and watchdog timers when not).
    var isEnabled: Bool { target != nil }

    /// Where messages go, when they go anywhere.
    var address: Address? { target?.address }

    /// Sends one message: newline-separated assignments ("READY=1\nSTATUS=…"). No-op when disabled; false when the
    /// send failed (logged the first time only).
    @discardableResult
    func send(_ message: String) -> Bool {
        guard let target else { return false }
        let payload = Array(message.utf8)
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = target.address.sunPathBytes
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: pathBytes) }
        // Abstract: no trailing NUL counted (sd-daemon.c); path: the NUL is counted, as libsystemd does.
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count)
        var sent: Int
        repeat {
            sent = payload.withUnsafeBytes { bytes in
                withUnsafePointer(to: &socketAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(target.descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == payload.count else {
            let reason = sent < 0 ? String(cString: strerror(errno)) : "short send (\(sent) of \(payload.count) bytes)"
            if !failureLogged.exchange(true, ordering: .relaxed) {
                logger.warning("systemd notification failed (further failures are not logged)", metadata: [
                    "socket": "\(target.address)", "message": "\(message.split(separator: "\n").first ?? "")",
                    "error": "\(reason)",
                ])
            }
            return false
        }
        return true
    }
}

/// The messages ferryd sends (sd_notify(3) "Well-known assignments").
enum NotifyMessage {
    /// Start-up finished: every listener accepts. MAINPID tells systemd which process is the service (it already
    /// knows for Type=notify, but NotifyAccess=main and a wrapper script would otherwise disagree).
    static func ready(mainPID: Int32, status: String) -> String {
        "READY=1\nMAINPID=\(mainPID)\n" + self.status(status)
    }

    /// A reload ended (applied or refused: either way the daemon serves again).
    static func reloaded(status: String) -> String { "READY=1\n" + self.status(status) }

    /// A SIGHUP reload began. MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds: systemd 253+ (Type=notify-reload)
    /// uses it to tell this reload from an earlier one; 252 ignores it.
    static func reloading(monotonicMicroseconds: UInt64) -> String {
        "RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)\n" + status("reloading the configuration")
    }

    static func stopping(status: String) -> String { "STOPPING=1\n" + self.status(status) }

    static let watchdog = "WATCHDOG=1"

    /// A STATUS= assignment: one line (a newline would start the next assignment).
    static func status(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
    }

    /// CLOCK_MONOTONIC in microseconds, the clock systemd's MONOTONIC_USEC means.
    static func monotonicMicroseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000 &+ UInt64(spec.tv_nsec) / 1000
    }
}
