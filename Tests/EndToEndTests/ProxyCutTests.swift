// ferryd behind a proxy that resets every connection through it every 1.5 s, each at 32 MiB/s (CuttingProxy; issue #15,
// Tests: "… and with a proxy that cuts the connection every few seconds"): `ferry upload` of a large file, and of a
// directory over two sessions, completes by itself with exit 0 and every file byte for byte; files took several
// attempts, each resumed where the server kept the partial (the daemon's "upload resumed" lines); what the client sent
// again stays within what can be in flight at each cut, and what the daemon received again (counted by the proxy)
// within one resume interval per cut. Nothing is left in staging. Only 127.0.0.1: the certificate carries
// IP:127.0.0.1, the host of --server, so no --server-name is needed.
import Foundation
import TestSupport
import XCTest

final class ProxyCutTests: XCTestCase {
    static let cutEvery = 1.5
    /// The proxy's bandwidth per connection: a 384 MiB file takes 12 s through it, so it meets about 8 cuts on any
    /// machine (loopback alone moves it in under 2 s here, between two cuts).
    static let rate: UInt64 = 32 << 20
    /// storage.resume_interval for these daemons.
    static let resumeInterval: UInt64 = 8 << 20
    /// What one cut connection can hold in flight, counted as sent by the client but never written by the daemon: the
    /// client's socket queue (4 MiB), the kernel's socket buffers on both legs (client → proxy, proxy → ferryd: send
    /// buffers up to 4 MiB each, tcp_wmem; receive windows autotuned, about half of tcp_rmem's 32 MiB at most, far
    /// less on loopback), the proxy's 64 KiB and a record being decrypted.
    static let inFlight: UInt64 = 48 << 20
    /// Records' framing and tags, and the handshakes, over the file's bytes: well under 1% (16 KiB records).
    static func framing(_ bytes: UInt64) -> UInt64 { bytes / 100 }
    /// How long `ferry upload` may run before the test calls it hung.
    static let timeout = 240.0

    // Why a cut should cost little: it is a dropped connection, not a crash. The daemon suspends the upload
    // (UploadHandler.connectionEnded → UploadWriter.suspend), writes every batch it received and keeps the partial at
    // all it wrote (UploadJobs.keep records it after an fdatasync), so the next Open resumes there, rounded down to
    // 4 KiB — not at the last periodic resume point, which comes every resume_interval bytes but at most every 2 s
    // (each writer's first one after 8 MiB). Two bounds follow, per cut connection (those cut in the handshake or
    // answered `busy` lose nothing, so both are generous):
    // - the client's sent_bytes, over all files: their size plus what was in flight plus one resume interval as margin;
    // - the bytes the proxy delivered to ferryd: the files, their framing, and one resume interval (the 4 KiB rounding,
    //   and what sat in ferryd's socket buffer unread). This one fails if a cut loses what the daemon had received: a
    //   partial kept only at its last resume point would lose all a connection carried after its first 8 MiB — it
    //   lives 1.5 s at most, less than the 2 s between resume points — so tens of MiB per cut at 32 MiB/s.

    /// Sent (client's count) again over the whole run, at most.
    static func resendBound(cuts: Int) -> UInt64 { UInt64(cuts) * (resumeInterval + inFlight) }

    /// Delivered to ferryd through the proxy, at most, for `bytes` of files.
    static func deliveredBound(_ bytes: UInt64, cuts: Int) -> UInt64 { bytes + framing(bytes) + UInt64(cuts) * resumeInterval }

    func testALargeFileCompletesByItselfThroughAProxyThatCutsEveryFewSeconds() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 384 << 20
        guard env.freeBytes() > 3 * size else { throw XCTSkip("needs about 1.2 GiB free in \(env.directory.path)") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["resume_interval = \"8MiB\""]])
        let big = try env.sourceDirectory("cut").appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: size, to: big)

        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: Self.cutEvery, bytesPerSecond: Self.rate,
                                     deadline: Self.timeout + 30)
        defer { _ = try? proxy.stop() }
        let run = try upload([big.path], through: proxy, env)
        let counts = try proxy.stop()

        XCTAssertEqual(run.status, 0, "\(run.termination)\n\(run.stdout)\n\(run.stderr.suffix(3000))")
        daemon.assertRunning("after the upload")
        let entry = try XCTUnwrap(entries(run).first, run.stdout)
        XCTAssertTrue(entry.ok, entry.error ?? "")
        XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("big.bin")), digest)
        XCTAssertGreaterThan(counts.cut, 0, "the proxy never cut a connection: \(counts)")
        XCTAssertGreaterThan(entry.attempts ?? 0, 1, "the cuts did not interrupt the upload: \(entry.raw)")
        let resumes = daemon.logLines(message: "upload resumed")
        XCTAssertFalse(resumes.isEmpty, "no upload resumed after \(counts.cut) cuts:\n\(daemon.log.suffix(3000))")
        XCTAssertTrue(run.stderr.contains("big.bin: resumed at"), String(run.stderr.suffix(3000)))
        // Each cut kept all the server had written, so the offsets it resumed at never go back.
        let offsets = resumes.compactMap { $0["offset"].flatMap(UInt64.init) }
        XCTAssertEqual(offsets, offsets.sorted(), "a resume went back: \(offsets)")
        let sent = entry.sentBytes ?? 0
        XCTAssertGreaterThanOrEqual(sent, size - (entry.resumedBytes ?? 0))
        XCTAssertLessThanOrEqual(sent, size + Self.resendBound(cuts: counts.cut),
                                 "sent \(sent) bytes for \(size) over \(counts.cut) cut connections")
        XCTAssertLessThanOrEqual(counts.bytesUp, Self.deliveredBound(size, cuts: counts.cut),
                                 "ferryd received \(counts.bytesUp) bytes for \(size) over \(counts.cut) cut connections")
        assertStagingEmpty(daemon)
        report("proxy cuts every \(Self.cutEvery) s, one file of \(size) bytes in \(String(format: "%.1f", run.seconds)) s: "
            + "\(counts); \(entry.attempts ?? 0) attempts, \(resumes.count) resumes, \(retries(run)); "
            + resent(sent: sent, delivered: counts.bytesUp, of: size, cuts: counts.cut))
    }

    func testADirectoryOverTwoSessionsCompletesByItselfThroughAProxyThatCutsEveryFewSeconds() throws {
        let env = try TestEnvironment(self)
        let sizes: [UInt64] = [128 << 20, 96 << 20, 64 << 20, 64 << 20, 100_000, 0]
        let total = sizes.reduce(0, +)
        guard env.freeBytes() > 3 * total else { throw XCTSkip("needs about 1.1 GiB free in \(env.directory.path)") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["resume_interval = \"8MiB\""]])
        let tree = try env.sourceDirectory("tree")
        var digests: [String: String] = [:]
        for (index, size) in sizes.enumerated() {
            digests["tree/f\(index).bin"] = try Content.writeLarge(size: size, to: tree.appendingPathComponent("f\(index).bin"))
        }

        let proxy = try CuttingProxy(forwardingTo: daemon.port, cutEvery: Self.cutEvery, bytesPerSecond: Self.rate,
                                     deadline: Self.timeout + 30)
        defer { _ = try? proxy.stop() }
        let run = try upload([tree.path], through: proxy, env, extra: ["--parallel", "2"])
        let counts = try proxy.stop()

        XCTAssertEqual(run.status, 0, "\(run.termination)\n\(run.stdout)\n\(run.stderr.suffix(3000))")
        daemon.assertRunning("after the upload")
        let files = entries(run)
        XCTAssertEqual(files.count, sizes.count, run.stdout)
        XCTAssertTrue(files.allSatisfy(\.ok), run.stdout)
        let area = daemon.area("alice")
        XCTAssertEqual(regularFiles(under: area), digests.keys.sorted())
        for (name, digest) in digests {
            XCTAssertEqual(try? Content.sha256(of: area.appendingPathComponent(name)), digest, name)
        }
        XCTAssertGreaterThan(counts.cut, 0, "the proxy never cut a connection: \(counts)")
        XCTAssertTrue(files.contains { ($0.attempts ?? 0) > 1 }, "no file took more than one attempt: \(run.stdout)")
        let resumes = daemon.logLines(message: "upload resumed")
        XCTAssertFalse(resumes.isEmpty, "no upload resumed after \(counts.cut) cuts:\n\(daemon.log.suffix(3000))")
        let sent = files.compactMap(\.sentBytes).reduce(0, +)
        XCTAssertLessThanOrEqual(sent, total + Self.resendBound(cuts: counts.cut),
                                 "sent \(sent) bytes for \(total) over \(counts.cut) cut connections")
        XCTAssertLessThanOrEqual(counts.bytesUp, Self.deliveredBound(total, cuts: counts.cut),
                                 "ferryd received \(counts.bytesUp) bytes for \(total) over \(counts.cut) cut connections")
        assertStagingEmpty(daemon)
        let attempts = files.map { "\(URL(fileURLWithPath: $0.path).lastPathComponent) \($0.attempts ?? 0)" }
        report("proxy cuts every \(Self.cutEvery) s, \(sizes.count) files of \(total) bytes over 2 sessions in "
            + "\(String(format: "%.1f", run.seconds)) s: \(counts); attempts \(attempts.joined(separator: ", ")); "
            + "\(resumes.count) resumes, \(retries(run)); "
            + resent(sent: sent, delivered: counts.bytesUp, of: total, cuts: counts.cut))
    }

    // MARK: Helpers

    /// `ferry upload --json` through the proxy, bounded by `timeout`.
    private func upload(_ paths: [String], through proxy: CuttingProxy, _ env: TestEnvironment, extra: [String] = [])
        throws -> RunResult {
        let client = env.alice
        return try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(proxy.port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json",
        ] + extra + ["--"] + paths, outputDirectory: env.directory, name: "ferry-upload", timeout: Self.timeout)
    }

    private func entries(_ run: RunResult) -> [TestEnvironment.FileEntry] {
        let json = try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        return ((json?["files"] as? [[String: Any]]) ?? []).map(TestEnvironment.FileEntry.init)
    }

    /// No .part and no record left: each partial a cut kept was resumed and committed.
    private func assertStagingEmpty(_ daemon: Daemon, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(daemon.stagingEntries(), [], "left in staging", file: file, line: line)
    }

    /// What went again, per cut connection: by the client's count, and through the proxy.
    private func resent(sent: UInt64, delivered: UInt64, of bytes: UInt64, cuts: Int) -> String {
        func perCut(_ extra: UInt64) -> String {
            cuts == 0 ? "-" : String(format: "%.2f MiB", Double(extra) / Double(cuts) / Double(1 << 20))
        }
        let again = sent - min(sent, bytes), through = delivered - min(delivered, bytes)
        return "client sent \(sent) (\(again) again, \(perCut(again)) per cut connection), the proxy delivered "
            + "\(delivered) (\(through) beyond the files, framing included: \(perCut(through)) per cut connection)"
    }

    /// The furthest "(attempt N of M)" on stderr: how close a slot came to giving up (each slot's count starts again
    /// when it makes progress).
    private func retries(_ run: RunResult) -> String {
        let attempts = run.stderr.split(separator: "\n").compactMap { line -> (Int, Substring)? in
            guard let open = line.range(of: "(attempt "), let close = line[open.upperBound...].firstIndex(of: ")") else {
                return nil
            }
            let text = line[open.upperBound..<close]
            return Int(text.prefix { $0.isNumber }).map { ($0, text) }
        }
        guard let furthest = attempts.max(by: { $0.0 < $1.0 }) else { return "no retries" }
        return "\(attempts.count) retries, the furthest at attempt \(furthest.1)"
    }
}
