// Per-test surroundings: a temporary directory, the executables, a PKI made with `ferry ca`, the daemons started (all
// stopped in tearDown), and helpers to run `ferry upload --json` and to make and compare files.
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Certificates for one test: a CA, the server's certificate, client "alice", all made with `ferry ca`.
struct PKI {
    let directory: URL
    var caCertificate: URL { directory.appendingPathComponent("ca/ca.crt") }
    var caKey: URL { directory.appendingPathComponent("ca/ca.key") }
    var serverCertificate: URL { directory.appendingPathComponent("certs/server.crt") }
    var serverKey: URL { directory.appendingPathComponent("certs/server.key") }

    func certificate(_ name: String) -> URL { directory.appendingPathComponent("certs/\(name).crt") }
    func key(_ name: String) -> URL { directory.appendingPathComponent("certs/\(name).key") }
}

/// A client's credentials as `ferry upload` takes them.
struct ClientCredentials {
    let certificate: URL
    let key: URL
    let ca: URL
}

final class TestEnvironment {
    let directory: URL
    let binaries: (ferryd: URL, ferry: URL)
    private(set) var pki: PKI
    private var daemons: [Daemon] = []
    private let testCase: XCTestCase

    init(_ testCase: XCTestCase, file: StaticString = #filePath, line: UInt = #line) throws {
        self.testCase = testCase
        binaries = try Executables.locate(file: file, line: line)
        directory = try TemporaryDirectory(label: "e2e").url
        pki = PKI(directory: directory.appendingPathComponent("pki", isDirectory: true))
        testCase.addTeardownBlock { [self] in tearDown() }
        try makeCA(pki.directory.appendingPathComponent("ca").path)
        try ferryCA(["issue", "--dir", pki.directory.appendingPathComponent("ca").path, "--name", "server", "--server",
                     "--san", "DNS:localhost,IP:127.0.0.1", "--out", pki.directory.appendingPathComponent("certs").path])
        try issueClient("alice")
    }

    /// Stops every daemon (SIGTERM, SIGKILL after 5 s) and removes the directory.
    func tearDown() {
        for daemon in daemons where daemon.isRunning {
            if !daemon.stop() { print("ferryd \(daemon.pid) needed SIGKILL") }
        }
        daemons = []
        try? FileManager.default.removeItem(at: directory)
    }

    func register(_ daemon: Daemon) { daemons.append(daemon) }

    var alice: ClientCredentials { credentials("alice") }

    func credentials(_ name: String) -> ClientCredentials {
        ClientCredentials(certificate: pki.certificate(name), key: pki.key(name), ca: pki.caCertificate)
    }

    // MARK: ferry ca

    @discardableResult
    func ferryCA(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
        let result = try runToCompletion(binaries.ferry, ["ca"] + arguments, outputDirectory: directory, name: "ferry-ca",
                                         timeout: 30, file: file, line: line)
        guard result.status == 0 else {
            XCTFail("ferry ca \(arguments.joined(separator: " ")) failed (\(result.termination)):\n\(result.stderr)",
                    file: file, line: line)
            throw TestError("ferry ca failed")
        }
        return result
    }

    func makeCA(_ path: String) throws { try ferryCA(["init", "--dir", path]) }

    /// A client certificate from this test's CA, in the PKI's certs directory.
    func issueClient(_ name: String) throws {
        try ferryCA(["issue", "--dir", pki.directory.appendingPathComponent("ca").path, "--name", name, "--client",
                     "--out", pki.directory.appendingPathComponent("certs").path])
    }

    // MARK: ferry upload

    struct UploadOutcome {
        let run: RunResult
        let json: [String: Any]?
        var status: Int32? { run.status }
        var ok: Bool? { json?["ok"] as? Bool }
        var bytes: UInt64? { (json?["bytes"] as? NSNumber)?.uint64Value }
        var files: [FileEntry] { ((json?["files"] as? [[String: Any]]) ?? []).map(FileEntry.init) }

        func file(_ localPath: String) -> FileEntry? {
            files.first { $0.path == localPath || URL(fileURLWithPath: $0.path).standardizedFileURL.path == localPath }
        }
    }

    struct FileEntry {
        let raw: [String: Any]
        init(_ raw: [String: Any]) { self.raw = raw }
        var path: String { raw["path"] as? String ?? "" }
        var stored: String? { raw["stored"] as? String }
        var bytes: UInt64? { (raw["bytes"] as? NSNumber)?.uint64Value }
        var sha256: String? { raw["sha256"] as? String }
        var ok: Bool { raw["ok"] as? Bool ?? false }
        var error: String? { raw["error"] as? String }
        var rotations: Int? { (raw["rotations"] as? NSNumber)?.intValue }
        var seconds: Double? { (raw["seconds"] as? NSNumber)?.doubleValue }
        var attempts: Int? { (raw["attempts"] as? NSNumber)?.intValue }
        var resumedBytes: UInt64? { (raw["resumed_bytes"] as? NSNumber)?.uint64Value }
        var sentBytes: UInt64? { (raw["sent_bytes"] as? NSNumber)?.uint64Value }
    }

    /// `ferry upload --json` against `daemon`, bounded by `timeout`; parses the JSON on stdout (a failed test if it is
    /// not one JSON object).
    func upload(_ paths: [String], to daemon: Daemon, as client: ClientCredentials? = nil, parallel: Int? = nil,
                dest: String? = nil, extra: [String] = [], timeout: Double = 60,
                file: StaticString = #filePath, line: UInt = #line) throws -> UploadOutcome {
        let client = client ?? alice
        var arguments = ["upload", "--server", daemon.address, "--ca", client.ca.path, "--cert", client.certificate.path,
                         "--key", client.key.path, "--json"]
        if let parallel { arguments += ["--parallel", "\(parallel)"] }
        if let dest { arguments += ["--dest", dest] }
        arguments += extra
        arguments += ["--"] + paths
        let run = try runToCompletion(binaries.ferry, arguments, outputDirectory: directory, name: "ferry-upload",
                                      timeout: timeout, file: file, line: line)
        let json = try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        if json == nil, !run.timedOut {
            XCTFail("ferry upload printed no JSON object (\(run.termination)); stdout:\n\(run.stdout)\nstderr:\n\(run.stderr)",
                    file: file, line: line)
        }
        return UploadOutcome(run: run, json: json)
    }

    /// Starts `ferry upload --json` without waiting (for killing it mid-upload).
    func startUpload(_ paths: [String], to daemon: Daemon, dest: String? = nil, extra: [String] = []) throws -> ChildProcess {
        var arguments = ["upload", "--server", daemon.address, "--ca", alice.ca.path, "--cert", alice.certificate.path,
                         "--key", alice.key.path, "--json"] + extra
        if let dest { arguments += ["--dest", dest] }
        return try ChildProcess(binaries.ferry, arguments + ["--"] + paths, outputDirectory: directory, name: "ferry-upload")
    }

    // MARK: Files

    /// A directory for source files.
    func sourceDirectory(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent("src", isDirectory: true).appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Free bytes on the file system of the test directory.
    func freeBytes() -> UInt64 {
        var stats = statvfs()
        guard statvfs(directory.path, &stats) == 0 else { return 0 }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }
}

// MARK: File contents

enum Content {
    /// `count` random bytes (from /dev/urandom: fast even in a debug build).
    static func random(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        guard let handle = FileHandle(forReadingAtPath: "/dev/urandom") else { fatalError("no /dev/urandom") }
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count, let data = try? handle.read(upToCount: count - bytes.count), !data.isEmpty {
            bytes.append(contentsOf: data)
        }
        precondition(bytes.count == count, "short read from /dev/urandom")
        return bytes
    }

    /// Writes `bytes` to `url` (parent directories created) and returns the SHA-256 as hex.
    @discardableResult
    static func write(_ bytes: [UInt8], to url: URL) throws -> String {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return hex(DigestContext.hash(.sha256, bytes))
    }

    /// A large pseudo-random file made cheaply: one random 1 MiB block, repeated, with the block's index in its first
    /// eight bytes (so no two MiB are equal and a misplaced block changes the digest). Returns the SHA-256 as hex,
    /// computed while writing.
    @discardableResult
    static func writeLarge(size: UInt64, to url: URL) throws -> String {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw TestError("cannot create \(url.path)")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let blockSize = 1 << 20
        var block = random(blockSize)
        let digest = DigestContext(.sha256)
        var written: UInt64 = 0
        var counter: UInt64 = 0
        while written < size {
            withUnsafeBytes(of: counter.littleEndian) { raw in
                for offset in 0..<8 { block[offset] = raw[offset] }
            }
            let take = Int(min(UInt64(blockSize), size - written))
            let data = block.withUnsafeBytes { raw in
                digest.update(UnsafeRawBufferPointer(rebasing: raw[0..<take]))
                return Data(raw[0..<take])
            }
            try handle.write(contentsOf: data)
            written += UInt64(take)
            counter += 1
        }
        return hex(digest.snapshot())
    }

    /// SHA-256 of a file, as hex, read in 4 MiB pieces.
    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let digest = DigestContext(.sha256)
        while let data = try handle.read(upToCount: 4 << 20), !data.isEmpty {
            data.withUnsafeBytes { digest.update($0) }
        }
        return hex(digest.snapshot())
    }

    static func size(of url: URL) -> UInt64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
        return (attributes[.size] as? NSNumber)?.uint64Value
    }
}

/// Everything under `directory` that is a regular file, as paths relative to it.
func regularFiles(under directory: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
        return []
    }
    var found: [String] = []
    let base = directory.standardizedFileURL.path
    for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
        found.append(String(url.standardizedFileURL.path.dropFirst(base.count).drop { $0 == "/" }))
    }
    return found.sorted()
}

/// Prints a line to the test log (seen with `swift test`).
func report(_ text: String) {
    FileHandle.standardOutput.write(Data("[e2e] \(text)\n".utf8))
}

/// Asserts that `url` holds exactly `bytes`; a mismatch is described by sizes and digests, never by dumping bytes.
func assertStored(_ url: URL, equals bytes: [UInt8], _ message: @autoclosure () -> String = "",
                  file: StaticString = #filePath, line: UInt = #line) {
    guard let data = try? Data(contentsOf: url) else {
        return XCTFail("\(url.path) does not exist or cannot be read. \(message())", file: file, line: line)
    }
    guard [UInt8](data) != bytes else { return }
    XCTFail("\(url.path) holds \(data.count) bytes (SHA-256 \(hex(DigestContext.hash(.sha256, [UInt8](data))))), "
        + "expected \(bytes.count) bytes (SHA-256 \(hex(DigestContext.hash(.sha256, bytes)))). \(message())",
        file: file, line: line)
}
