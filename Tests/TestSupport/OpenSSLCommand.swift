// The `openssl` command line, for tests that check Ferry's keys and certificates against what an operator's tools
// make and accept.
import Foundation

/// What one `openssl` run printed, and how it ended.
public struct OpenSSLResult {
    public let status: Int32
    public let stdout: Data
    public let stderr: String
    /// stdout then stderr, as text: what a test searches for a message in.
    public var output: String { String(decoding: stdout, as: UTF8.self) + stderr }
}

/// Runs `openssl` (from PATH) with `arguments` in `directory` (default: the current one), whatever its exit status.
///
/// stdout is read through a pipe while the child runs, stderr goes to a file (so neither can fill and block it), and
/// the exit is awaited through terminationHandler: Foundation's waitUntilExit polls the run loop every 50 ms on
/// Linux, which made a PKI of thirty certificates take seconds.
public func runOpenSSL(_ arguments: [String], in directory: URL? = nil) throws -> OpenSSLResult {
    let errors = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("ferry-openssl-\(UUID().uuidString).stderr")
    guard FileManager.default.createFile(atPath: errors.path, contents: nil) else {
        throw TestError("cannot create \(errors.path)")
    }
    defer { try? FileManager.default.removeItem(at: errors) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errors)
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    let stdout = output.fileHandleForReading.readDataToEndOfFile()
    exited.wait()
    let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
    let status = process.terminationReason == .exit ? process.terminationStatus : -1
    return OpenSSLResult(status: status, stdout: stdout, stderr: stderr)
}

/// Runs `openssl` and returns its stdout; throws a TestError with the command and its stderr unless it exits 0.
@discardableResult
public func openssl(_ arguments: [String], in directory: URL? = nil) throws -> Data {
    let result = try runOpenSSL(arguments, in: directory)
    guard result.status == 0 else {
        throw TestError("openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    }
    return result.stdout
}
