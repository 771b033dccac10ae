// DaemonMetrics: every family in the exposition with its TYPE, the values after a few events, label values from the
// closed sets only, and UploadWriter's backlog deltas summing back to zero.
import EventLoop
import Foundation
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class DaemonMetricsTests: XCTestCase {
    func testTheExpositionNamesEveryMetricWithItsTypeAfterAFewEvents() {
        let metrics = DaemonMetrics()
        metrics.sessionOpened()
        metrics.sessionOpened()
        metrics.sessionClosed()
        metrics.sessionRefused(.limit)
        metrics.handshakeSucceeded()
        metrics.handshakeFailed(.alert(.unknownCA))
        metrics.handshakeFailed(.timeout)
        metrics.received(bytes: 1000)
        metrics.received(bytes: 24)
        metrics.uploadCommitted()
        metrics.uploadFailed(.exists)
        metrics.uploadFailed(.tooLarge)
        metrics.rotated(.receive)
        metrics.rotated(.receive)
        metrics.rotated(.send)
        metrics.backlogChanged(by: 4096)
        metrics.backlogChanged(by: -1024)
        metrics.sessionError(.badRecordMAC)
        metrics.connectionError()
        metrics.uploadResumed(bytes: 1 << 20)
        metrics.stored(bytes: 7 << 30, files: 12)
        metrics.storeRequest(.list(ListRequest(directory: "")), .failed(UploadFailure(.notSupported, "no index")))

        let text = String(decoding: metrics.exposition(partials: (3, 5 << 20)), as: UTF8.self)
        let types = [
            "ferry_sessions_active": "gauge", "ferry_sessions_total": "counter", "ferry_sessions_refused_total": "counter",
            "ferry_handshakes_total": "counter", "ferry_bytes_received_total": "counter", "ferry_uploads_total": "counter",
            "ferry_rotations_total": "counter", "ferry_write_backlog_bytes": "gauge", "ferry_errors_total": "counter",
            "ferry_uploads_resumed_total": "counter", "ferry_resumed_bytes_total": "counter",
            "ferry_partial_uploads": "gauge", "ferry_partial_upload_bytes": "gauge", "ferry_build_info": "gauge",
            "ferry_stored_bytes": "gauge", "ferry_stored_files": "gauge", "ferry_store_requests_total": "counter",
            "ferry_bytes_sent_total": "counter",
        ]
        let figures = Exposition.samples(text)
        XCTAssertEqual(figures["ferry_partial_uploads"], 3)
        XCTAssertEqual(figures["ferry_partial_upload_bytes"], Double(5 << 20))
        XCTAssertEqual(figures["ferry_uploads_resumed_total"], 1)
        XCTAssertEqual(figures["ferry_resumed_bytes_total"], Double(1 << 20))
        XCTAssertEqual(figures["ferry_stored_bytes"], Double(7 << 30))
        XCTAssertEqual(figures["ferry_stored_files"], 12)
        XCTAssertEqual(figures["ferry_store_requests_total{request=\"list\",result=\"failed\"}"], 1, text)
        XCTAssertEqual(figures["ferry_build_info{version=\"\(FerryVersion.release)\"}"], 1, text)
        XCTAssertEqual(Set(types.keys), Set(DaemonMetrics.Name.all))
        for (name, type) in types {
            XCTAssertTrue(text.contains("# TYPE \(name) \(type)\n"), "no '# TYPE \(name) \(type)' in:\n\(text)")
            XCTAssertTrue(text.contains("# HELP \(name) "), "no HELP line for \(name)")
        }

        let samples = Exposition.samples(text)
        let expected: [String: Double] = [
            "ferry_sessions_active": 1,
            "ferry_sessions_total": 2,
            #"ferry_sessions_refused_total{reason="limit"}"#: 1,
            #"ferry_sessions_refused_total{reason="draining"}"#: 0,
            #"ferry_handshakes_total{result="ok",reason="none"}"#: 1,
            #"ferry_handshakes_total{result="failed",reason="unknown_ca"}"#: 1,
            #"ferry_handshakes_total{result="failed",reason="timeout"}"#: 1,
            #"ferry_handshakes_total{result="failed",reason="disconnected"}"#: 0,
            "ferry_bytes_received_total": 1024,
            #"ferry_uploads_total{result="committed",reason="none"}"#: 1,
            #"ferry_uploads_total{result="failed",reason="exists"}"#: 1,
            #"ferry_uploads_total{result="failed",reason="too_large"}"#: 1,
            #"ferry_uploads_total{result="failed",reason="bad_path"}"#: 0,
            #"ferry_rotations_total{direction="client_to_server"}"#: 2,
            #"ferry_rotations_total{direction="server_to_client"}"#: 1,
            "ferry_write_backlog_bytes": 3072,
            #"ferry_errors_total{kind="bad_record_mac"}"#: 1,
            #"ferry_errors_total{kind="connection"}"#: 1,
            #"ferry_errors_total{kind="unknown_ca"}"#: 0,
        ]
        for (series, value) in expected {
            XCTAssertEqual(samples[series], value, "\(series) in:\n\(text)")
        }
    }

    /// Cardinality and privacy: the series are fixed at start, and every label value is a snake_case word (but
    /// ferry_build_info's, the release number).
    func testLabelValuesAreAFixedSetOfIdentifiers() {
        let metrics = DaemonMetrics()
        let before = Exposition.samples(String(decoding: metrics.exposition(), as: UTF8.self))
        for alert in AlertCode.allCases {
            metrics.handshakeFailed(.alert(alert))
            metrics.sessionError(alert)
        }
        for code in UploadErrorCode.metricCases { metrics.uploadFailed(code) }
        let after = Exposition.samples(String(decoding: metrics.exposition(), as: UTF8.self))
        XCTAssertEqual(Set(before.keys), Set(after.keys), "an event created a series")
        XCTAssertLessThan(after.count, 100)
        for series in after.keys {
            if series.hasPrefix(DaemonMetrics.Name.buildInfo + "{") {
                XCTAssertEqual(Exposition.labelValues(series), [FerryVersion.release], series)
                continue
            }
            for value in Exposition.labelValues(series) {
                XCTAssertTrue(!value.isEmpty && value.allSatisfy { ($0 >= "a" && $0 <= "z") || $0 == "_" },
                              "label value '\(value)' in \(series)")
            }
        }
        XCTAssertEqual(Set(AlertCode.allCases.map(\.metricLabel)).count, AlertCode.allCases.count, "two alerts share a label")
        XCTAssertEqual(Set(UploadErrorCode.metricCases.map(\.metricLabel)).count, UploadErrorCode.metricCases.count)
    }

    /// An UploadWriter reports each change of its backlog; over an upload (written, committed) the deltas sum to 0,
    /// and the same holds for an abandoned one (real loop, libuv's pool through LoopExecutor, a real store).
    func testUploadWriterBacklogDeltasSumToZero() throws {
        let directory = try makeTemporaryDirectory("metrics").url
        let loop = try EventLoop()
        let metrics = DaemonMetrics()
        final class Record { var sum = 0; var peak = 0; var results: [String] = [] }
        let record = Record()

        let store = try Store(rootPath: directory.path, staging: ".staging")
        let content = [UInt8](repeating: 0x5A, count: 300_000)
        let buffers = Store.makeUploadBufferPool()
        var writers: [UploadWriter] = []
        func makeWriter(_ name: String, _ onEvent: @escaping (UploadWriter, UploadWriter.Event) -> Void) throws -> UploadWriter {
            let writer = UploadWriter(store: store, path: try store.rules.storedPath(identity: "alice", relativePath: name),
                                      size: UInt64(content.count), settings: .init(overwrite: false),
                                      executor: LoopExecutor(loop: loop), buffers: buffers)
            writer.onBacklogChange = { delta in
                record.sum += delta
                record.peak = max(record.peak, record.sum)
                metrics.backlogChanged(by: delta)
            }
            writer.onEvent = { [unowned writer] event in onEvent(writer, event) }
            writers.append(writer)
            return writer
        }
        _ = try makeWriter("kept.bin") { writer, event in
            switch event {
            case .ready:
                for start in stride(from: 0, to: content.count, by: 64 * 1024) {
                    writer.append(content[start..<min(start + 64 * 1024, content.count)])
                }
                writer.finish(clientDigest: DigestContext.hash(.sha256, content))
            case .room, .alreadyStored: break
            case .committed: record.results.append("committed")
            case .failed(let failure): record.results.append("failed: \(failure.detail)")
            }
        }
        _ = try makeWriter("dropped.bin") { writer, event in
            guard case .ready = event else { return }
            writer.append(content[0..<100_000])
            writer.abandon()
        }
        loop.run()
        XCTAssertTrue(loop.close())
        XCTAssertEqual(record.results, ["committed"])
        XCTAssertGreaterThan(record.peak, 0, "no backlog was ever reported")
        XCTAssertEqual(record.sum, 0)
        XCTAssertEqual(Exposition.samples(String(decoding: metrics.exposition(), as: UTF8.self))["ferry_write_backlog_bytes"], 0)
        writers.removeAll()
        XCTAssertEqual(buffers.outstanding, 0)
    }
}

/// A reader for the text exposition format, enough for these tests.
enum Exposition {
    /// "name{labels}" (as rendered) → value, for every sample line.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// The label values of a rendered series name ("a{x=\"1\",y=\"2\"}" → ["1", "2"]).
    static func labelValues(_ series: String) -> [String] {
        series.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
}
