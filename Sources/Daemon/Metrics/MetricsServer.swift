// The `/metrics` endpoint: a minimal HTTP/1.1 responder on the main thread's loop (Server.swift), bound to
// `[metrics] listen` when it is set. One request per connection, no keep-alive, no request body, no chunking: a
// Prometheus scrape needs nothing more, and a hand-written responder this small is easier to bound than a library.
//
//   accepted ──read the head (≤ maximumHeadBytes)──► answer ──write, FIN──► closed
//      │             │                                  200 GET /metrics (the exposition)
//      │             │                                  404 another path · 405 another method · 400 malformed
//      │             └── head too long ──► 431 ──► closed
//      └── requestTimeout passes, EOF or a socket error at any point ──► closed
//
// Bounds (STYLE.md §8): the head is read into at most 8 KiB; the whole exchange, slow writes included, is cut after 5 s;
// at most `maximumConnections` exchanges are open at once, later connections are closed unanswered. A client that
// sends a body may see a reset instead of the answer, because the socket is closed with the body unread.
import EventLoop
import FerrydConfig
import Logging

final class MetricsServer {
    static let maximumHeadBytes = 8 * 1024
    static let requestTimeoutMilliseconds: UInt64 = 5_000
    static let maximumConnections = 16
    static let path = "/metrics"
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let loop: EventLoop
    private let exposition: () -> [UInt8]
    private let logger: Logger
    private let requestTimeoutMilliseconds: UInt64
    private var listeners: [TCPListener] = []
    private var exchanges: [ObjectIdentifier: MetricsExchange] = [:]
    private var isClosed = false

    /// Binds and listens ("localhost" binds 127.0.0.1 and ::1, as for server.listen). `exposition` is called on the
    /// loop thread for each scrape. `requestTimeoutMilliseconds` is a parameter for the tests only.
    init(loop: EventLoop, address: ListenAddress, logger: Logger,
         requestTimeoutMilliseconds: UInt64 = MetricsServer.requestTimeoutMilliseconds,
         exposition: @escaping () -> [UInt8]) throws(StartError) {
        self.loop = loop
        self.exposition = exposition
        self.logger = logger
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        for host in address.bindHosts {
            do {
                listeners.append(try TCPListener(loop: loop, host: host, port: address.port, reusePort: false) { [weak self] tcp in
                    self?.accept(tcp)
                })
            } catch {
                close()
                throw StartError(address: address, error: error)
            }
        }
        logger.info("metrics endpoint listening", metadata: ["listen": "\(address)", "path": "\(Self.path)"])
    }

    /// A bind or listen failure, naming the key (the daemon logs it as "cannot start").
    struct StartError: Error, CustomStringConvertible {
        let address: ListenAddress
        let error: UVError
        var description: String { "metrics.listen \(address): \(error)" }
    }

    /// The bound ports (port 0 picks one; tests read it here).
    var ports: [UInt16] { listeners.map(\.localPort) }

    /// Number of exchanges in progress.
    var openExchanges: Int { exchanges.count }

    /// Stops listening and cuts the exchanges in progress. Idempotent; loop thread only.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        for listener in listeners { listener.close() }
        listeners = []
        for exchange in exchanges.values { exchange.cut() }
    }

    private func accept(_ tcp: TCPConnection) {
        guard !isClosed, exchanges.count < Self.maximumConnections else { return tcp.close() }
        let exchange = MetricsExchange(loop: loop, tcp: tcp, timeoutMilliseconds: requestTimeoutMilliseconds) { [weak self] request in
            self?.respond(to: request) ?? MetricsResponse.status(503, "Service Unavailable")
        } onClose: { [weak self] exchange in
            self?.exchanges[ObjectIdentifier(exchange)] = nil
        }
        exchanges[ObjectIdentifier(exchange)] = exchange
        exchange.start()
    }

    private func respond(to head: MetricsRequestHead) -> MetricsResponse {
        let response: MetricsResponse
        switch head {
        case .tooLarge: response = .status(431, "Request Header Fields Too Large")
        case .malformed: response = .status(400, "Bad Request")
        case .request(let method, let path):
            if path != Self.path {
                response = .status(404, "Not Found")
            } else if method != "GET" {
                response = .status(405, "Method Not Allowed", extraHeaders: "Allow: GET\r\n")
            } else {
                response = MetricsResponse(code: 200, reason: "OK", contentType: Self.contentType, extraHeaders: "",
                                           body: exposition())
            }
        }
        logger.debug("metrics request", metadata: ["status": "\(response.code)"])
        return response
    }
}

/// The part of a request head the responder looks at.
enum MetricsRequestHead: Equatable {
    /// A request line "METHOD SP target SP HTTP/1.x"; `path` is the target without its query.
    case request(method: String, path: String)
    case malformed
    /// No end of head within `MetricsServer.maximumHeadBytes`.
    case tooLarge

    /// nil while the head is incomplete (a short read consumes nothing: STYLE.md §9). The head ends at the first empty
    /// line, CRLF or bare LF (RFC 9112 §2.2 lets a recipient accept a bare LF).
    static func parse(_ bytes: [UInt8]) -> MetricsRequestHead? {
        let limit = min(bytes.count, MetricsServer.maximumHeadBytes)
        var end: Int?
        var index = 0
        while index < limit {
            if bytes[index] == UInt8(ascii: "\n") {
                if index >= 1, bytes[index - 1] == UInt8(ascii: "\n") { end = index; break }
                if index >= 2, bytes[index - 1] == UInt8(ascii: "\r"), bytes[index - 2] == UInt8(ascii: "\n") { end = index; break }
            }
            index += 1
        }
        guard let end else { return bytes.count >= MetricsServer.maximumHeadBytes ? .tooLarge : nil }
        guard let lineEnd = bytes[..<end].firstIndex(of: UInt8(ascii: "\n")) else { return .malformed }
        var line = bytes[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return .malformed }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == UInt8(ascii: "/"),
              parts[2].starts(with: Array("HTTP/1.".utf8)) else { return .malformed }
        let target = parts[1].prefix { $0 != UInt8(ascii: "?") }
        return .request(method: String(decoding: parts[0], as: UTF8.self), path: String(decoding: target, as: UTF8.self))
    }
}

struct MetricsResponse {
    var code: Int
    var reason: String
    var contentType: String
    var extraHeaders: String
    var body: [UInt8]

    static func status(_ code: Int, _ reason: String, extraHeaders: String = "") -> MetricsResponse {
        MetricsResponse(code: code, reason: reason, contentType: "text/plain; charset=utf-8", extraHeaders: extraHeaders,
                        body: Array("\(reason)\n".utf8))
    }

    var bytes: [UInt8] {
        var head = "HTTP/1.1 \(code) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += extraHeaders + "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// One connection to the endpoint.
private final class MetricsExchange: TCPConnectionDelegate {
    private let tcp: TCPConnection
    private let timer: LoopTimer
    private let timeoutMilliseconds: UInt64
    private var head: [UInt8] = []
    private var answered = false
    private let respond: (MetricsRequestHead) -> MetricsResponse
    private let onClose: (MetricsExchange) -> Void

    init(loop: EventLoop, tcp: TCPConnection, timeoutMilliseconds: UInt64,
         respond: @escaping (MetricsRequestHead) -> MetricsResponse, onClose: @escaping (MetricsExchange) -> Void) {
        self.tcp = tcp
        self.timeoutMilliseconds = timeoutMilliseconds
        self.respond = respond
        self.onClose = onClose
        timer = LoopTimer(loop: loop)
    }

    func start() {
        tcp.delegate = self
        timer.start(afterMilliseconds: timeoutMilliseconds) { [weak self] in self?.cut() }
        tcp.startReading()
    }

    /// Closes now, whatever is pending.
    func cut() { tcp.close() }

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard !answered else { return }
        head.append(contentsOf: bytes.prefix(MetricsServer.maximumHeadBytes - head.count))
        guard let request = MetricsRequestHead.parse(head) else { return }
        answered = true
        head = []
        tcp.write(respond(request).bytes)
        tcp.closeAfterPendingWrites()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        if !answered { tcp.close() }  // the head will not be completed
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {}

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection) {
        timer.close()
        onClose(self)
    }
}
