// A scrape of ferryd's /metrics over a blocking socket, for the tests that read the exposition.
import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Scrape {
    let status: Int?
    let contentType: String?
    let body: String

    /// "name{labels}" (as rendered) → value.
    var samples: [String: Double] {
        var samples: [String: Double] = [:]
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`, read to EOF (the endpoint closes after each answer); 10 s bound.
func scrape(_ port: UInt16, method: String = "GET", path: String = "/metrics") throws -> Scrape {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = inetAddress("127.0.0.1", port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestError("connect to the metrics endpoint 127.0.0.1:\(port): errno \(errno)") }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 0\r\n\r\n".utf8)
    let sent = request.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    guard sent == request.count else { throw TestError("send: errno \(errno)") }
    var raw: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if count > 0 { raw += buffer[0..<count]; continue }
        if count == 0 { break }
        if errno == EINTR { continue }
        throw TestError("recv from the metrics endpoint: errno \(errno)")
    }
    let text = String(decoding: raw, as: UTF8.self)
    guard let end = text.range(of: "\r\n\r\n") else { return Scrape(status: nil, contentType: nil, body: text) }
    let headLines = text[..<end.lowerBound].components(separatedBy: "\r\n")
    let statusParts = headLines.first?.split(separator: " ") ?? []
    let contentType = headLines.dropFirst().first { $0.lowercased().hasPrefix("content-type:") }
        .map { $0.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces) }
    return Scrape(status: statusParts.count >= 2 ? Int(statusParts[1]) : nil, contentType: contentType,
                  body: String(text[end.upperBound...]))
}
