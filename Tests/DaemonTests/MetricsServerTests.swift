// MetricsServer on a real loop (this thread) with a blocking HTTP client on another thread: the exposition on
// GET /metrics, 404, 405, 400, 431 for an oversized head, a slow client cut by the timer, and a loop that closes clean.
import EventLoop
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

@testable import Daemon
@testable import FerrydConfig

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class MetricsServerTests: XCTestCase {
    func testGetMetricsAnswersTheExpositionAndOtherRequestsAreRefused() throws {
        let metrics = DaemonMetrics()
        metrics.sessionOpened()
        metrics.received(bytes: 4242)
        let oversized = Array("GET /metrics HTTP/1.1\r\nX-Padding: ".utf8)
            + [UInt8](repeating: UInt8(ascii: "a"), count: MetricsServer.maximumHeadBytes)
        let requests: [[UInt8]] = [
            Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n".utf8),
            Array("GET /metrics?name[]=x HTTP/1.0\n\n".utf8),  // a query, HTTP/1.0, bare LF
            Array("GET /other HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".utf8),
            Array("GARBAGE\r\n\r\n".utf8),
            Array(oversized.prefix(MetricsServer.maximumHeadBytes)),  // exactly the bound, no end of head
        ]
        let responses = try withServer(metrics: metrics) { port in
            requests.map { HTTPProbe.exchange(port: port, request: $0) }
        }
        XCTAssertEqual(responses.count, requests.count)
        guard responses.count == requests.count else { return }

        for response in responses.prefix(2) {
            XCTAssertEqual(response.status, 200, response.description)
            XCTAssertEqual(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
            XCTAssertEqual(response.header("Connection"), "close")
            XCTAssertEqual(response.header("Content-Length"), "\(response.body.utf8.count)")
            XCTAssertTrue(response.body.contains("# TYPE ferry_sessions_total counter\n"), response.body)
            XCTAssertTrue(response.body.contains("\nferry_bytes_received_total 4242\n"), response.body)
            for name in DaemonMetrics.Name.all {
                XCTAssertTrue(response.body.contains("# TYPE \(name) "), "\(name) missing")
            }
            XCTAssertTrue(response.closedByServer)
        }
        XCTAssertEqual(responses[2].status, 404, responses[2].description)
        XCTAssertEqual(responses[3].status, 405, responses[3].description)
        XCTAssertEqual(responses[3].header("Allow"), "GET")
        XCTAssertEqual(responses[4].status, 400, responses[4].description)
        XCTAssertEqual(responses[5].status, 431, responses[5].description)
        for response in responses.dropFirst(2) {
            XCTAssertEqual(response.header("Connection"), "close")
            XCTAssertTrue(response.closedByServer, response.description)
        }
    }

    /// A client that sends half a head and waits is cut by the request timer, unanswered.
    func testASlowClientIsCutByTheTimer() throws {
        let started = monotonicSeconds()
        let responses = try withServer(metrics: DaemonMetrics(), timeoutMilliseconds: 300) { port in
            [HTTPProbe.exchange(port: port, request: Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8))]
        }
        XCTAssertEqual(responses.first?.status, nil, responses.first?.description ?? "")
        XCTAssertEqual(responses.first?.raw.isEmpty, true)
        XCTAssertTrue(responses.first?.closedByServer ?? false)
        XCTAssertLessThan(monotonicSeconds() - started, 4, "the server did not cut the client after 300 ms")
    }

    /// A client that connects and closes without a request leaves nothing open.
    func testAClientThatClosesEarlyLeavesNothingOpen() throws {
        let responses = try withServer(metrics: DaemonMetrics()) { port in
            [HTTPProbe.exchange(port: port, request: Array("GET /met".utf8), halfClose: true)]
        }
        XCTAssertEqual(responses.first?.status, nil)
    }

    func testRequestHeadParsing() {
        XCTAssertNil(MetricsRequestHead.parse(Array("GET /metrics HTTP/1.1\r\n".utf8)))
        XCTAssertNil(MetricsRequestHead.parse([]))
        XCTAssertEqual(MetricsRequestHead.parse(Array("GET /metrics HTTP/1.1\r\n\r\n".utf8)),
                       .request(method: "GET", path: "/metrics"))
        XCTAssertEqual(MetricsRequestHead.parse(Array("HEAD /a?b HTTP/1.0\n\n".utf8)), .request(method: "HEAD", path: "/a"))
        XCTAssertEqual(MetricsRequestHead.parse(Array("GET  /metrics HTTP/1.1\r\n\r\n".utf8)), .malformed)
        XCTAssertEqual(MetricsRequestHead.parse(Array("GET metrics HTTP/1.1\r\n\r\n".utf8)), .malformed)
        XCTAssertEqual(MetricsRequestHead.parse(Array("GET /metrics HTTP/2\r\n\r\n".utf8)), .malformed)
        XCTAssertEqual(MetricsRequestHead.parse(Array("GET /m\u{7F} HTTP/1.1\r\n\r\n".utf8)), .malformed)
        XCTAssertEqual(MetricsRequestHead.parse([UInt8](repeating: 0x61, count: MetricsServer.maximumHeadBytes)), .tooLarge)
        XCTAssertNil(MetricsRequestHead.parse([UInt8](repeating: 0x61, count: MetricsServer.maximumHeadBytes - 1)))
    }

    // MARK: Harness

    /// Runs a MetricsServer on 127.0.0.1:0 on a fresh loop on this thread while `client` runs on another thread; when
    /// the client is done, a waker closes the server, the loop runs out of handles, and it must close clean.
    private func withServer(metrics: DaemonMetrics, timeoutMilliseconds: UInt64 = MetricsServer.requestTimeoutMilliseconds,
                            file: StaticString = #filePath, line: UInt = #line,
                            _ client: @escaping @Sendable (UInt16) -> [HTTPProbe.Response]) throws -> [HTTPProbe.Response] {
        let loop = try EventLoop()
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .warning
        let server = try MetricsServer(loop: loop, address: ListenAddress(host: "127.0.0.1", port: 0), logger: logger,
                                       requestTimeoutMilliseconds: timeoutMilliseconds) { metrics.exposition() }
        let port = try XCTUnwrap(server.ports.first, file: file, line: line)
        XCTAssertNotEqual(port, 0, file: file, line: line)
        final class Results: Sendable { let responses = Mutex<[HTTPProbe.Response]>([]) }
        let results = Results()
        final class Handles { var done: LoopWaker? }
        let handles = Handles()
        handles.done = try LoopWaker(loop: loop) {
            server.close()
            handles.done?.close()
        }
        let done = try XCTUnwrap(handles.done)
        Thread.detachNewThread {
            let responses = client(port)
            results.responses.withLock { $0 = responses }
            done.wake()
        }
        var timedOut = false
        let watchdog = LoopTimer(loop: loop)
        watchdog.keepsLoopAlive = false
        watchdog.start(afterMilliseconds: 20_000) {
            timedOut = true
            loop.stop()
        }
        loop.run()
        watchdog.close()
        XCTAssertFalse(timedOut, "the exchanges did not finish within 20 s", file: file, line: line)
        XCTAssertEqual(server.openExchanges, 0, file: file, line: line)
        XCTAssertTrue(loop.close(), "the loop did not close clean", file: file, line: line)
        return results.responses.withLock { $0 }
    }
}

/// A blocking HTTP/1.1 client for one request per connection; every wait bounded by SO_RCVTIMEO / SO_SNDTIMEO.
enum HTTPProbe {
    struct Response: CustomStringConvertible, Sendable {
        var raw: [UInt8] = []
        /// recv returned 0 (orderly EOF) or ECONNRESET: the server closed its side.
        var closedByServer = false
        var error: String?

        private var headAndBody: (head: String, body: String)? {
            let text = String(decoding: raw, as: UTF8.self)
            guard let range = text.range(of: "\r\n\r\n") else { return nil }
            return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        }

        var status: Int? {
            guard let head = headAndBody?.head, let first = head.split(separator: "\r\n").first else { return nil }
            let parts = first.split(separator: " ")
            guard parts.count >= 2, parts[0] == "HTTP/1.1" else { return nil }
            return Int(parts[1])
        }

        func header(_ name: String) -> String? {
            guard let head = headAndBody?.head else { return nil }
            for line in head.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].lowercased() == name.lowercased() {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }

        var body: String { headAndBody?.body ?? "" }

        var description: String {
            "status \(status.map(String.init) ?? "none"), closed \(closedByServer), error \(error ?? "none"): "
                + String(decoding: raw.prefix(300), as: UTF8.self)
        }
    }

    /// Connects to 127.0.0.1:`port`, sends `request` (then shuts down writing if `halfClose`), reads until EOF.
    static func exchange(port: UInt16, request: [UInt8], halfClose: Bool = false) -> Response {
        var response = Response()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { response.error = "socket: errno \(errno)"; return response }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { response.error = "connect: errno \(errno)"; return response }
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                response.error = "send: errno \(errno)"
                return response
            }
            sent += count
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                response.raw += buffer[0..<count]
            } else if count == 0 {
                response.closedByServer = true
                return response
            } else if errno == EINTR {
                continue
            } else {
                if errno == ECONNRESET { response.closedByServer = true }
                response.error = "recv: errno \(errno)"
                return response
            }
        }
    }
}
