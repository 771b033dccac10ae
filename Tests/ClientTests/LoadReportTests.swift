// The load test's arithmetic and output: percentiles from an HdrHistogram with known values, the JSON object's exact
// shape, the table, the open-loop timetable, /proc parsing, the spawned configuration, the payload.
import Foundation
import Protocol
import TOMLKit
import XCTest
@testable import Client
@testable import FerryClient

final class LoadReportTests: XCTestCase {
    // MARK: Percentiles

    func testPercentilesOfKnownValues() {
        let stats = LoadStats()
        // 1…1000 ms, once each: p50 = 500 ms, p90 = 900, p99 = 990, p99.9 = 999, max = 1000.
        for ms in 1...1000 { stats.completed(.put, nanoseconds: UInt64(ms) * 1_000_000, bytes: 10) }
        let summary = LatencySummary(stats.uploadLatency)
        XCTAssertEqual(summary.count, 1000)
        // 3 significant digits: each value within 0.1 % of the exact one.
        for (value, exact) in [(summary.p50, 500.0), (summary.p90, 900.0), (summary.p99, 990.0), (summary.p999, 999.0)] {
            XCTAssertEqual(value, exact, accuracy: exact * 0.001 + 0.001)
        }
        XCTAssertEqual(summary.max, 1000, "max is the largest value recorded, exactly")
        XCTAssertEqual(stats.uploads, 1000)
        XCTAssertEqual(stats.bytes, 10_000)
    }

    func testSkewedDistribution() {
        let stats = LoadStats()
        for _ in 0..<990 { stats.handshakeCompleted(nanoseconds: 2_000_000) }   // 2 ms
        for _ in 0..<9 { stats.handshakeCompleted(nanoseconds: 50_000_000) }    // 50 ms
        stats.handshakeCompleted(nanoseconds: 3_000_000_000)                     // 3 s
        let summary = LatencySummary(stats.handshakeLatency)
        XCTAssertEqual(summary.p50, 2, accuracy: 0.01)
        XCTAssertEqual(summary.p90, 2, accuracy: 0.01)
        XCTAssertEqual(summary.p99, 2, accuracy: 0.01)
        XCTAssertEqual(summary.p999, 50, accuracy: 0.05)
        XCTAssertEqual(summary.max, 3000, accuracy: 3)
    }

    func testEmptyAndOutOfRangeValues() {
        let stats = LoadStats()
        XCTAssertEqual(LatencySummary(stats.handshakeLatency), .empty)
        stats.handshakeCompleted(nanoseconds: 10)                       // below 1 µs: recorded as 1 µs
        stats.handshakeCompleted(nanoseconds: 5 * 3_600_000_000_000)   // 5 hours: clamped to the top (1 hour)
        let summary = LatencySummary(stats.handshakeLatency)
        XCTAssertEqual(summary.count, 2)
        XCTAssertEqual(summary.p50, 0.001)
        XCTAssertEqual(summary.max, 3_600_000)
    }

    func testFailuresAreCountedByClassWithAFewExamples() {
        let stats = LoadStats()
        for index in 0..<8 { stats.failed(LoadFailure(.connect, "refused \(index % 7)")) }
        stats.failed(LoadFailure(.integrity, "bad digest"))
        XCTAssertEqual(stats.errorCount(.connect), 8)
        XCTAssertEqual(stats.errorCount(.integrity), 1)
        XCTAssertEqual(stats.errorCount(.server), 0)
        XCTAssertEqual(stats.totalErrors, 9)
        XCTAssertEqual(stats.examples.count, LoadStats.maximumExamples)
        XCTAssertEqual(stats.examples.first, "connect: refused 0")
    }

    func testFailureClasses() {
        let peerAlert = ProtocolError(.unknownCA, "x", origin: .peer)
        XCTAssertEqual(FailureClass.of(peerAlert, established: false), .handshake)
        XCTAssertEqual(FailureClass.of(ProtocolError(.badRecordMAC, "x"), established: false), .handshake)
        XCTAssertEqual(FailureClass.of(ProtocolError(.badRecordMAC, "x"), established: true), .integrity)
        XCTAssertEqual(FailureClass.of(ProtocolError(.decryptError, "x", origin: .peer), established: true), .integrity)
        XCTAssertEqual(FailureClass.of(ProtocolError(.tooManySessions, "x", origin: .peer), established: true), .server)
        XCTAssertEqual(FailureClass.of(UploadFailure(.digestMismatch, "x")), .integrity)
        XCTAssertEqual(FailureClass.of(UploadFailure(.noSpace, "x")), .server)
        XCTAssertEqual(FailureClass.ofClose(established: false), .handshake)
        XCTAssertEqual(FailureClass.ofClose(established: true), .server)
    }

    // MARK: JSON

    private func sampleReport(rate: Double? = 20, daemon: Bool = true, bytes: UInt64 = 12 * 204_800) -> LoadReport {
        let stats = LoadStats()
        for ms in 1...10 { stats.handshakeCompleted(nanoseconds: UInt64(ms) * 1_000_000) }
        return LoadReport(
            config: .init(server: "127.0.0.1:7443", spawned: true, sessions: 4, filesPerSession: 3, sizeBytes: 204_800,
                          rate: rate, durationSeconds: rate == nil ? nil : 2, idleSessions: 20, group: "x25519", cipher: nil),
            elapsedSeconds: 4, loadSeconds: 2, idleSeconds: 2, handshakes: 24,
            handshakeLatency: LatencySummary(stats.handshakeLatency), uploads: 12, bytes: bytes,
            uploadLatency: LatencySummary(p50: 1.5, p90: 2, p99: 3, p999: 4, max: 5, count: 12), sessionsCompleted: 38,
            idleEstablished: 20, idleOpenAtEnd: 19, errors: [.timeout: 2, .server: 1], examples: ["timeout: slow \"x\""],
            rotationsClientToServer: 3, rotationsServerToClient: 1, clientCPUSeconds: 0.25,
            daemon: daemon ? .init(pid: 99, rssKiBBefore: 1000, rssKiBWithIdle: 2000, rssKiBPeak: 3000, rssKiBEnd: 2500,
                                   cpuSeconds: 1.5, cpuSecondsPerGB: bytes > 0 ? 1.5 / (Double(bytes) / 1e9) : nil) : nil,
            stoppedBecause: nil)
    }

    private func parse(_ report: LoadReport) throws -> [String: Any] {
        let text = report.json()
        XCTAssertFalse(text.contains("\n"), "one line")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testJSONShape() throws {
        let json = try parse(sampleReport())
        XCTAssertEqual(Set(json.keys), ["config", "elapsed_seconds", "handshakes", "uploads", "rate", "idle_sessions", "errors",
                                        "rotations", "client", "daemon"])
        let config = try XCTUnwrap(json["config"] as? [String: Any])
        XCTAssertEqual(Set(config.keys), ["server", "spawned", "sessions", "files_per_session", "size_bytes", "rate",
                                          "duration_seconds", "idle_sessions", "group", "cipher"])
        XCTAssertEqual(config["server"] as? String, "127.0.0.1:7443")
        XCTAssertEqual(config["spawned"] as? Bool, true)
        XCTAssertEqual(config["size_bytes"] as? Int, 204_800)
        XCTAssertEqual(config["group"] as? String, "x25519")
        XCTAssertTrue(config["cipher"] is NSNull)

        let handshakes = try XCTUnwrap(json["handshakes"] as? [String: Any])
        XCTAssertEqual(Set(handshakes.keys), ["completed", "per_second", "latency_ms"])
        XCTAssertEqual(handshakes["completed"] as? Int, 24)
        XCTAssertEqual(handshakes["per_second"] as? Double, 6)   // 24 over the 4 s elapsed
        let latency = try XCTUnwrap(handshakes["latency_ms"] as? [String: Any])
        XCTAssertEqual(Set(latency.keys), ["p50", "p90", "p99", "p999", "max"])
        XCTAssertEqual(latency["max"] as? Double, 10)

        let uploads = try XCTUnwrap(json["uploads"] as? [String: Any])
        XCTAssertEqual(Set(uploads.keys), ["completed", "per_second", "bytes", "mb_per_second", "latency_ms"])
        XCTAssertEqual(uploads["bytes"] as? Int, 12 * 204_800)
        XCTAssertEqual(uploads["per_second"] as? Double, 6)     // 12 over the 2 s load phase
        XCTAssertEqual(try XCTUnwrap(uploads["mb_per_second"] as? Double), 1.229, accuracy: 0.0005)

        let rate = try XCTUnwrap(json["rate"] as? [String: Any])
        XCTAssertEqual(rate["requested"] as? Double, 20)
        XCTAssertEqual(rate["achieved"] as? Double, 19)         // 38 sessions over 2 s

        let idle = try XCTUnwrap(json["idle_sessions"] as? [String: Any])
        XCTAssertEqual(idle as NSDictionary, ["requested": 20, "established": 20, "open_at_end": 19])

        let errors = try XCTUnwrap(json["errors"] as? [String: Any])
        XCTAssertEqual(Set(errors.keys), ["connect", "handshake", "integrity", "timeout", "server", "total", "examples"])
        XCTAssertEqual(errors["timeout"] as? Int, 2)
        XCTAssertEqual(errors["total"] as? Int, 3)
        XCTAssertEqual(errors["examples"] as? [String], ["timeout: slow \"x\""])

        XCTAssertEqual(json["rotations"] as? NSDictionary, ["client_to_server": 3, "server_to_client": 1])
        XCTAssertEqual(json["client"] as? NSDictionary, ["cpu_seconds": 0.25])
        let daemon = try XCTUnwrap(json["daemon"] as? [String: Any])
        XCTAssertEqual(Set(daemon.keys), ["pid", "rss_kib_before", "rss_kib_with_idle", "rss_kib_peak", "rss_kib_end",
                                          "cpu_seconds", "cpu_seconds_per_gb"])
        XCTAssertEqual(daemon["rss_kib_peak"] as? Int, 3000)
        XCTAssertEqual(sampleReport().exitStatus, 1)
    }

    func testJSONNulls() throws {
        let json = try parse(sampleReport(rate: nil, daemon: false))
        XCTAssertTrue(json["rate"] is NSNull)
        XCTAssertTrue(json["daemon"] is NSNull)
        let config = try XCTUnwrap(json["config"] as? [String: Any])
        XCTAssertTrue(config["rate"] is NSNull)
        XCTAssertTrue(config["duration_seconds"] is NSNull)
        let noBytes = try parse(sampleReport(bytes: 0))
        XCTAssertTrue((noBytes["daemon"] as? [String: Any])?["cpu_seconds_per_gb"] is NSNull)
        var clean = sampleReport()
        clean.errors = [:]
        XCTAssertEqual(clean.exitStatus, 0)
    }

    func testJSONKeysInSchemaOrder() {
        let text = sampleReport().json()
        let order = ["\"config\"", "\"elapsed_seconds\"", "\"handshakes\"", "\"uploads\"", "},\"rate\"", "\"idle_sessions\":{",
                     "\"errors\"", "\"rotations\"", "\"client\"", "\"daemon\""]
        let positions = order.map { text.range(of: $0)?.lowerBound }
        XCTAssertFalse(positions.contains(nil), text)
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
    }

    private func mixedReport() throws -> LoadReport {
        var report = sampleReport(rate: nil)
        report.config.filesPerSession = 10
        report.config.mix = .init(mix: try OperationMix.parse("put=60,get=30,list=10"), seed: 7, getFiles: 16)
        report.uploads = 20
        report.bytes = 20 * 204_800
        report.operations = [
            OperationFigures(operation: .put, completed: 20, bytes: 20 * 204_800, latency: report.uploadLatency,
                             errors: [:]),
            OperationFigures(operation: .get, completed: 11, bytes: 11 * 204_800,
                             latency: LatencySummary(p50: 1, p90: 2, p99: 3, p999: 3, max: 3, count: 12),
                             errors: [.integrity: 1]),
            OperationFigures(operation: .list, completed: 6, bytes: 0,
                             latency: LatencySummary(p50: 0.5, p90: 0.5, p99: 0.5, p999: 0.5, max: 0.5, count: 6),
                             errors: [.timeout: 1, .server: 1]),
        ]
        return report
    }

    func testMixedJSONAddsEachOperationAndKeepsUploads() throws {
        let json = try parse(try mixedReport())
        XCTAssertEqual(Set(json.keys), ["config", "elapsed_seconds", "handshakes", "uploads", "operations", "rate",
                                        "idle_sessions", "errors", "rotations", "client", "daemon"])
        let config = try XCTUnwrap(json["config"] as? [String: Any])
        XCTAssertEqual(config["mix"] as? NSDictionary, ["put": 60, "get": 30, "list": 10])
        XCTAssertEqual(config["seed"] as? Int, 7)
        XCTAssertEqual(config["get_files"] as? Int, 16)
        XCTAssertEqual((json["uploads"] as? [String: Any])?["completed"] as? Int, 20, "uploads: the put figures")

        let operations = try XCTUnwrap(json["operations"] as? [String: Any])
        XCTAssertEqual(Set(operations.keys), ["put", "get", "list"])
        let get = try XCTUnwrap(operations["get"] as? [String: Any])
        XCTAssertEqual(Set(get.keys), ["completed", "per_second", "bytes", "mb_per_second", "latency_ms", "errors"])
        XCTAssertEqual(get["completed"] as? Int, 11)
        XCTAssertEqual(get["bytes"] as? Int, 11 * 204_800)
        XCTAssertEqual(get["per_second"] as? Double, 5.5)        // 11 over the 2 s load phase
        XCTAssertEqual(Set((get["latency_ms"] as? [String: Any] ?? [:]).keys), ["p50", "p90", "p99", "p999", "max"])
        XCTAssertEqual(get["errors"] as? NSDictionary, ["connect": 0, "handshake": 0, "integrity": 1, "timeout": 0,
                                                        "server": 0, "total": 1])
        let list = try XCTUnwrap(operations["list"] as? [String: Any])
        XCTAssertEqual(Set(list.keys), ["completed", "per_second", "latency_ms", "errors"], "a list moves no file")
        XCTAssertEqual((list["errors"] as? [String: Any])?["total"] as? Int, 2)

        let text = try mixedReport().json()
        let order = ["\"uploads\"", "\"operations\"", "\"put\":{", "\"get\":{", "\"list\":{", "},\"rate\""]
        let positions = order.map { text.range(of: $0)?.lowerBound }
        XCTAssertFalse(positions.contains(nil), text)
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted())
    }

    func testPurePutJSONHasNoMixedKeys() throws {
        let text = sampleReport().json()
        for key in ["operations", "\"mix\"", "seed", "get_files"] { XCTAssertFalse(text.contains(key), "\(key) in \(text)") }
    }

    func testMixedTable() throws {
        let table = ReportTable.render(try mixedReport())
        XCTAssertTrue(table.contains("4 sessions × 10 operations, files of 200 KiB, closed loop"), table)
        XCTAssertTrue(table.contains("put=60,get=30,list=10, seed 7; gets read 16 files stored before the load"), table)
        XCTAssertTrue(table.contains("during operations: put 0, get 1 (integrity 1), list 2 (timeout 1, server 1)"), table)
        XCTAssertTrue(table.contains("put 4.10 MB = 2.05 MB/s, get 2.25 MB = 1.13 MB/s in 2.00 s"), table)
        let rows = table.split(separator: "\n").map(String.init)
        XCTAssertFalse(rows.contains { $0.hasPrefix("uploads") }, "a row per operation instead:\n\(table)")
        let latency = rows.filter { row in ["handshakes ", "put ", "get ", "list "].contains { row.hasPrefix($0) } }
        XCTAssertEqual(latency.count, 4, table)
        XCTAssertEqual(Set(latency.map(\.count)).count, 1, "aligned:\n\(table)")
    }

    func testJSONNumbersAndStrings() {
        XCTAssertEqual(JSONValue.format(3), "3")
        XCTAssertEqual(JSONValue.format(12.5), "12.5")
        XCTAssertEqual(JSONValue.format(0.0004), "0")
        XCTAssertEqual(JSONValue.format(1.23456), "1.235")
        XCTAssertEqual(JSONValue.format(.nan), "null")
        XCTAssertEqual(JSONValue.format(.infinity), "null")
        XCTAssertEqual(JSONValue.string("a\"b\\c\n\u{1}").rendered, "\"a\\\"b\\\\c\\n\\u0001\"")
        XCTAssertEqual(JSONValue.object([("a", .int(1)), ("b", .null), ("c", .array([.bool(true)]))]).rendered,
                       "{\"a\":1,\"b\":null,\"c\":[true]}")
    }

    // MARK: Table

    func testTable() {
        let table = ReportTable.render(sampleReport())
        XCTAssertTrue(table.contains("4 sessions × 3 files × 200 KiB, open loop at 20 sessions/s for 2 s"), table)
        XCTAssertTrue(table.contains("requested 20 sessions/s, achieved 19 sessions/s"), table)
        XCTAssertTrue(table.contains("open at end 19"), table)
        XCTAssertTrue(table.contains("3 (connect 0, handshake 0, integrity 0, timeout 2, server 1)"), table)
        XCTAssertTrue(table.contains("p99.9 ms"), table)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("handshakes") || $0.hasPrefix("uploads") || $0.contains("p50 ms") }
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(Set(rows.map(\.count)).count, 1, "the latency rows are aligned:\n\(rows.joined(separator: "\n"))")
    }

    func testByteFormatting() {
        XCTAssertEqual(ReportTable.bytes(204_800), "200 KiB")
        XCTAssertEqual(ReportTable.bytes(16 << 20), "16 MiB")
        XCTAssertEqual(ReportTable.bytes(1500), "1.46 KiB")
        XCTAssertEqual(ReportTable.bytes(0), "0 B")
    }

    // MARK: Open-loop schedule

    func testOpenLoopSchedule() {
        let schedule = OpenLoopSchedule(rate: 20, duration: 2)
        XCTAssertEqual(schedule.count, 40)
        XCTAssertEqual(schedule.offset(of: 0), 0)
        XCTAssertEqual(schedule.offset(of: 1), 50_000_000)
        XCTAssertEqual(schedule.offset(of: 39), 1_950_000_000)
        XCTAssertEqual(schedule.dueCount(after: 0), 1)
        XCTAssertEqual(schedule.dueCount(after: 49_999_999), 1)
        XCTAssertEqual(schedule.dueCount(after: 50_000_000), 2)
        XCTAssertEqual(schedule.dueCount(after: 10_000_000_000), 40)
        XCTAssertEqual(OpenLoopSchedule(rate: 3, duration: 1).count, 3)      // 0, 1/3, 2/3
        XCTAssertEqual(OpenLoopSchedule(rate: 2.5, duration: 1).count, 3)    // 0, 0.4, 0.8
        XCTAssertEqual(OpenLoopSchedule(rate: 0.5, duration: 1).count, 1)    // 0 only
    }

    // MARK: /proc

    func testProcParsing() {
        let status = "Name:\tferryd\nVmPeak:\t  500000 kB\nVmRSS:\t   31560 kB\nThreads:\t3\n"
        XCTAssertEqual(ProcessStats.residentKiB(status: status), 31_560)
        XCTAssertNil(ProcessStats.residentKiB(status: "Name:\tx\n"))
        // The command name may hold spaces and parentheses; utime and stime are fields 14 and 15.
        let stat = "4242 (ferry d) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 1234 0 0"
        XCTAssertEqual(ProcessStats.cpuTicks(stat: stat), 325)
        XCTAssertNil(ProcessStats.cpuTicks(stat: "garbage"))
        XCTAssertNotNil(ProcessStats.residentKiB(pid: getpid()))
        XCTAssertNotNil(ProcessStats.cpuSeconds(pid: getpid()))
    }

    // MARK: Spawned configuration

    /// The spawned daemon's configuration, read back as TOML: every value as set, odd characters in paths intact,
    /// optional keys only when set.
    func testSpawnConfigText() throws {
        var config = SpawnConfig(port: 4321, certificate: "/d/certs/server.crt", privateKey: "/d/certs/server.key",
                                 clientCA: "/d/ca/ca.crt", storageRoot: "/d/\"odd\"\\\t", workers: 0,
                                 maxSessions: SpawnConfig.maxSessions(sessions: 64, idleSessions: 10_000),
                                 rotateAfterBytes: nil, fsync: nil)
        var text = config.text
        var table = try TOMLTable(string: text)
        XCTAssertTrue(text.hasPrefix("# Written by `ferry loadtest --spawn`"), text)
        XCTAssertEqual(table["server"]?["listen"]?.array?.compactMap(\.string), ["127.0.0.1:4321"], text)
        XCTAssertEqual(table["server"]?["workers"]?.int, 0, text)
        XCTAssertEqual(table["server"]?["shutdown_grace"]?.int, SpawnConfig.shutdownGraceSeconds, text)
        XCTAssertEqual(table["identity"]?["certificate"]?.string, "/d/certs/server.crt", text)
        XCTAssertEqual(table["identity"]?["private_key"]?.string, "/d/certs/server.key", text)
        XCTAssertEqual(table["identity"]?["client_ca"]?.string, "/d/ca/ca.crt", text)
        XCTAssertEqual(table["storage"]?["root"]?.string, "/d/\"odd\"\\\t", text)
        XCTAssertEqual(table["storage"]?["allow_overwrite"]?.bool, true, text)
        XCTAssertEqual(table["limits"]?["idle_timeout"]?.int, 3600, text)
        XCTAssertEqual(table["limits"]?["max_sessions"]?.int, 10192, text)
        XCTAssertEqual(table["log"]?["level"]?.string, "warning", text)
        XCTAssertGreaterThan(SpawnConfig.maxSessions(sessions: 64, idleSessions: 10_000), 64 + 10_000 + 64)
        XCTAssertNil(table["storage"]?["fsync"], text)
        XCTAssertNil(table["protocol"], text)
        config.fsync = true
        config.rotateAfterBytes = 1 << 20
        text = config.text
        table = try TOMLTable(string: text)
        XCTAssertEqual(table["storage"]?["fsync"]?.bool, true, text)
        XCTAssertEqual(table["storage"]?["root"]?.string, "/d/\"odd\"\\\t", text)
        XCTAssertEqual(table["protocol"]?["rotate_after_bytes"]?.int, 1 << 20, text)
    }

    // MARK: Payload

    func testPayloadIsDeterministicAndItsDigestCoversTheRepetition() {
        let size = UInt64(Payload.blockSize) * 2 + 1000
        let payload = Payload(size: size)
        XCTAssertEqual(payload.block, Payload.makeBlock())
        XCTAssertEqual(payload.block.count, Payload.blockSize)
        XCTAssertGreaterThan(Set(payload.block.prefix(4096)).count, 200, "looks random")
        var content: [UInt8] = []
        var offset: UInt64 = 0
        while offset < size {
            let range = payload.chunk(at: offset, limit: 65_536)
            XCTAssertLessThanOrEqual(range.count, 65_536)
            content += payload.block[range]
            offset += UInt64(range.count)
        }
        XCTAssertEqual(content.count, Int(size))
        XCTAssertEqual(Array(content[Payload.blockSize..<(Payload.blockSize + 10)]), Array(payload.block[0..<10]))
        XCTAssertEqual(payload.digest, DigestContext.hash(.sha256, content))
        XCTAssertEqual(Payload(size: 0).digest, DigestContext.hash(.sha256, []))
        XCTAssertEqual(payload.chunk(at: UInt64(Payload.blockSize) - 10, limit: 65_536).count, 10, "stops at the block's end")
    }
}
