// The daemon's Prometheus metrics: one registry per process, shared by every worker thread (Counter and Gauge are
// atomics, the registry takes a lock only to create or list series), exposed by MetricsServer on `[metrics] listen`.
//
//   ferry_sessions_active                              gauge    sessions open now (all workers)
//   ferry_sessions_total                               counter  sessions accepted
//   ferry_sessions_refused_total{reason}               counter  limit | draining
//   ferry_handshakes_total{result, reason}             counter  ok/none | failed/<alert> | failed/timeout | failed/disconnected
//   ferry_bytes_received_total                         counter  decrypted upload bytes
//   ferry_bytes_sent_total                             counter  file bytes sent by Get (before sealing)
//   ferry_uploads_total{result, reason}                counter  committed/none | failed/<upload error code>
//   ferry_rotations_total{direction}                   counter  client_to_server | server_to_client
//   ferry_store_requests_total{request, result}        counter  stat | list | get × ok | refused (the client's: a bad path,
//                                                               not found, another's namespace, busy) | failed (the
//                                                               server's: the index unreadable or off)
//   ferry_write_backlog_bytes                          gauge    bytes accepted and not yet written, summed over uploads
//   ferry_errors_total{kind}                           counter  <alert> after the handshake | connection
//   ferry_uploads_resumed_total                        counter  uploads accepted at a kept partial's offset
//   ferry_resumed_bytes_total                          counter  bytes those partials held (not sent again)
//   ferry_partial_uploads                              gauge    partials kept for resume, no upload writing them
//   ferry_partial_upload_bytes                         gauge    bytes they hold (read from the store at each scrape)
//   ferry_stored_bytes, ferry_stored_files             gauge    what the metadata index counts over every identity,
//                                                               refreshed on the thread pool every 30 s and at each
//                                                               scrape (so a scrape shows the previous refresh's)
//   ferry_certificate_expiry_timestamp_seconds{…}      gauge    each configured certificate's notAfter, published by
//                                                               the server at start and reload (CertificateExpiryGauges)
//   ferry_crl_next_update_timestamp_seconds{…}         gauge    each CRL's nextUpdate, published with them
//   ferry_build_info{version}                          gauge    1, labelled with the release (FerryVersion.release):
//                                                               which ferryd a Prometheus server is scraping
//
// Label values come only from the closed sets below (alert and upload-error codes as snake_case identifiers, plus a
// few words) and the release number: never a path, an identity, a peer address or free text, so the series count is
// fixed (about 80) and a scrape reveals activity, not who or what. Every series exists from the start at 0, so
// `rate()` and alerts see the first event instead of a series appearing out of nowhere.
//
// Departure from swift-prometheus' usual use: the labeled series are created once here and kept in dictionaries keyed
// by our enums, so recording an event is one dictionary read and one atomic add, with no registry lock on the hot path.
import Prometheus
import Protocol

final class DaemonMetrics: Sendable {
    /// Why a handshake did not complete.
    enum HandshakeFailure: Hashable, Sendable {
        /// An alert, ours or the client's (`ProtocolError.alert`).
        case alert(AlertCode)
        /// `limits.handshake_timeout` passed.
        case timeout
        /// The connection ended (EOF, reset, shutdown) before the handshake completed.
        case disconnected
    }

    /// Why a connection was closed without a session.
    enum Refusal: String, CaseIterable, Sendable {
        /// `limits.max_sessions` reached.
        case limit
        /// Accepted while the daemon was draining for shutdown.
        case draining
        /// One source address over its limits (SourceLimits): new connections per second, handshakes at once,
        /// sessions at once.
        case sourceRate = "source_rate"
        case sourceHandshakes = "source_handshakes"
        case sourceSessions = "source_sessions"
        /// accept(2) failed for want of file descriptors (EMFILE, ENFILE): libuv accepted and closed it.
        case descriptors
    }

    enum Name {
        static let sessionsActive = "ferry_sessions_active"
        static let sessionsTotal = "ferry_sessions_total"
        static let sessionsRefused = "ferry_sessions_refused_total"
        static let handshakes = "ferry_handshakes_total"
        static let bytesReceived = "ferry_bytes_received_total"
        static let bytesSent = "ferry_bytes_sent_total"
        static let uploads = "ferry_uploads_total"
        static let rotations = "ferry_rotations_total"
        static let writeBacklog = "ferry_write_backlog_bytes"
        static let errors = "ferry_errors_total"
        static let uploadsResumed = "ferry_uploads_resumed_total"
        static let resumedBytes = "ferry_resumed_bytes_total"
        static let partials = "ferry_partial_uploads"
        static let partialBytes = "ferry_partial_upload_bytes"
        static let buildInfo = "ferry_build_info"
        static let storedBytes = "ferry_stored_bytes"
        static let storedFiles = "ferry_stored_files"
        static let storeRequests = "ferry_store_requests_total"

        static let all = [sessionsActive, sessionsTotal, sessionsRefused, handshakes, bytesReceived, uploads, rotations,
                          writeBacklog, errors, uploadsResumed, resumedBytes, partials, partialBytes, buildInfo,
                          storedBytes, storedFiles, storeRequests, bytesSent]
    }

    /// A store request's outcome (PROTOCOL.md §14).
    enum StoreRequestResult: String, CaseIterable, Sendable {
        case ok
        /// Refused for the client's reasons (a bad path, nothing stored there, another's namespace, shutting down).
        case refused
        /// The server could not answer (its index unreadable, or kept off).
        case failed

        init(_ answer: StoreAnswer) {
            guard case .failed(let failure) = answer else { self = .ok; return }
            self = failure.code == .storageFailure || failure.code == .notSupported ? .failed : .refused
        }
    }

    /// The label value for "no reason" (a successful handshake, a committed upload), so every series of a family
    /// carries the same label names.
    static let noReason = "none"
    /// `ferry_errors_total{kind}` for a read or write error on the socket.
    static let connectionErrorKind = "connection"

    let registry: PrometheusCollectorRegistry
    private let sessionsActive: Gauge
    private let sessionsTotal: Counter
    private let sessionsRefused: [Refusal: Counter]
    private let handshakesOK: Counter
    private let handshakesFailed: [HandshakeFailure: Counter]
    private let bytesReceived: Counter
    private let bytesSent: Counter
    private let uploadsCommitted: Counter
    private let uploadsFailed: [UploadErrorCode: Counter]
    private let rotations: [RotationEvent.Direction: Counter]
    private let writeBacklog: Gauge
    private let sessionErrors: [AlertCode: Counter]
    private let connectionErrors: Counter
    private let uploadsResumed: Counter
    private let resumedBytes: Counter
    private let partials: Gauge
    private let partialBytes: Gauge
    private let storedBytes: Gauge
    private let storedFiles: Gauge
    /// By request ("stat", "list", "get", "delete", "rename", "verify"), then result.
    private let storeRequests: [String: [StoreRequestResult: Counter]]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        sessionsActive = Self.gauge(registry, Name.sessionsActive)
        sessionsTotal = Self.counter(registry, Name.sessionsTotal)
        sessionsRefused = Dictionary(uniqueKeysWithValues: Refusal.allCases.map { refusal in
            (refusal, Self.counter(registry, Name.sessionsRefused, [("reason", refusal.rawValue)]))
        })
        handshakesOK = Self.counter(registry, Name.handshakes, [("result", "ok"), ("reason", Self.noReason)])
        let failures = AlertCode.allCases.map(HandshakeFailure.alert) + [.timeout, .disconnected]
        handshakesFailed = Dictionary(uniqueKeysWithValues: failures.map { failure in
            (failure, Self.counter(registry, Name.handshakes, [("result", "failed"), ("reason", failure.metricLabel)]))
        })
        bytesReceived = Self.counter(registry, Name.bytesReceived)
        bytesSent = Self.counter(registry, Name.bytesSent)
        uploadsCommitted = Self.counter(registry, Name.uploads, [("result", "committed"), ("reason", Self.noReason)])
        uploadsFailed = Dictionary(uniqueKeysWithValues: UploadErrorCode.metricCases.map { code in
            (code, Self.counter(registry, Name.uploads, [("result", "failed"), ("reason", code.metricLabel)]))
        })
        rotations = Dictionary(uniqueKeysWithValues: [RotationEvent.Direction.receive, .send].map { direction in
            (direction, Self.counter(registry, Name.rotations, [("direction", direction.metricLabel)]))
        })
        writeBacklog = Self.gauge(registry, Name.writeBacklog)
        sessionErrors = Dictionary(uniqueKeysWithValues: AlertCode.allCases.map { alert in
            (alert, Self.counter(registry, Name.errors, [("kind", alert.metricLabel)]))
        })
        connectionErrors = Self.counter(registry, Name.errors, [("kind", Self.connectionErrorKind)])
        uploadsResumed = Self.counter(registry, Name.uploadsResumed)
        resumedBytes = Self.counter(registry, Name.resumedBytes)
        partials = Self.gauge(registry, Name.partials)
        partialBytes = Self.gauge(registry, Name.partialBytes)
        storedBytes = Self.gauge(registry, Name.storedBytes)
        storedFiles = Self.gauge(registry, Name.storedFiles)
        storeRequests = Dictionary(uniqueKeysWithValues: ["stat", "list", "get", "delete", "rename", "verify"].map { request in
            (request, Dictionary(uniqueKeysWithValues: StoreRequestResult.allCases.map { result in
                (result, Self.counter(registry, Name.storeRequests, [("request", request), ("result", result.rawValue)]))
            }))
        })
        // The "info" pattern (as node_exporter's node_uname_info): a constant 1 whose label says which build runs, so
        // that a query can join it, e.g. count by (version) (ferry_build_info). Set once: it never changes while the
        // process runs, so no property keeps it.
        let release = [("version", FerryVersion.release)]
        registry.makeGauge(descriptor: Self.descriptor(Name.buildInfo), labels: release).set(to: 1)
    }

    /// One help text per family: the registry requires the same text for every series of a family.
    private static let help: [String: String] = [
        Name.sessionsActive: "Sessions open now, on all workers.",
        Name.sessionsTotal: "Sessions accepted since the daemon started.",
        Name.sessionsRefused: "Connections closed without a session: limit = limits.max_sessions reached, draining = shutting down, "
            + "source_* = one address over limits.*_per_source, descriptors = out of file descriptors.",
        Name.handshakes: "Handshakes by result; a failure's reason is the alert, timeout or disconnected.",
        Name.bytesReceived: "Decrypted upload bytes received.",
        Name.bytesSent: "File bytes sent by Get, before sealing.",
        Name.uploads: "Uploads by result; a failure's reason is the upload error code (refusals included).",
        Name.rotations: "Key rotations, by the direction of the traffic whose keys were replaced.",
        Name.writeBacklog: "Upload bytes accepted and not yet written to disk, summed over sessions.",
        Name.errors: "Session errors after the handshake, by alert; connection = a socket read or write error.",
        Name.uploadsResumed: "Uploads accepted at the offset of a partial an interrupted upload of the same file left.",
        Name.resumedBytes: "Bytes resumed uploads did not have to send again.",
        Name.partials: "Partial uploads kept for resume that no upload is writing now.",
        Name.partialBytes: "Bytes held by the partial uploads kept for resume.",
        Name.buildInfo: "Always 1; the version label is the release of ferryd running.",
        Name.storedBytes: "Bytes of the stored files, over every identity, as the metadata index counts them.",
        Name.storedFiles: "Stored files, over every identity, as the metadata index counts them.",
        Name.storeRequests: "Stat, List and Get requests by result: ok, refused (the client's reason), failed (the server's).",
    ]

    /// The name is used as it is: no namespace or unit suffix to join.
    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    /// Creates the series, or returns it when it exists (empty labels = the family's only series).
    private static func counter(_ registry: PrometheusCollectorRegistry, _ name: String,
                                _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: descriptor(name), labels: labels)
    }

    private static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name))
    }

    /// The text exposition format (version 0.0.4), as served on `/metrics`, with the store's kept partials as they are.
    func exposition(partials kept: (count: Int, bytes: UInt64) = (0, 0)) -> [UInt8] {
        partials.set(Int64(kept.count))
        partialBytes.set(Int64(clamping: kept.bytes))
        return registry.emitToBuffer()
    }

    /// What the metadata index counts over every identity (Server+IndexUpkeep).
    func stored(bytes: UInt64, files: UInt64) {
        storedBytes.set(Int64(clamping: bytes))
        storedFiles.set(Int64(clamping: files))
    }

    // MARK: Events (any thread)

    /// A connection became a session (its slot reserved).
    func sessionOpened() {
        sessionsTotal.increment()
        sessionsActive.increment()
    }

    /// A session's connection closed (its slot released).
    func sessionClosed() { sessionsActive.decrement() }

    func sessionRefused(_ refusal: Refusal) { sessionsRefused[refusal]?.increment() }

    func handshakeSucceeded() { handshakesOK.increment() }

    /// Bytes of a file sent by Get.
    func sent(bytes: Int) { bytesSent.increment(by: Int64(bytes)) }

    /// A Stat or List answered (or refused).
    func storeRequest(_ request: StoreRequest, _ answer: StoreAnswer) { storeRequest(request, result: StoreRequestResult(answer)) }

    func storeRequest(_ request: StoreRequest, result: StoreRequestResult) {
        let kind = switch request {
        case .stat: "stat"
        case .list: "list"
        case .get: "get"
        case .delete: "delete"
        case .rename: "rename"
        case .verify: "verify"
        }
        storeRequests[kind]?[result]?.increment()
    }

    func handshakeFailed(_ failure: HandshakeFailure) { handshakesFailed[failure]?.increment() }

    /// Decrypted bytes of an upload.
    func received(bytes: Int) { bytesReceived.increment(by: Int64(bytes)) }

    func uploadCommitted() { uploadsCommitted.increment() }

    /// An upload was accepted at the offset of a kept partial.
    func uploadResumed(bytes: UInt64) {
        uploadsResumed.increment()
        resumedBytes.increment(by: Int64(clamping: bytes))
    }

    /// A refused, failed or aborted upload.
    func uploadFailed(_ code: UploadErrorCode) {
        if let counter = uploadsFailed[code] {
            counter.increment()
        } else {
            // A code missing from `metricCases`: still counted (the registry returns the series, creating it once).
            Self.counter(registry, Name.uploads, [("result", "failed"), ("reason", code.metricLabel)]).increment()
        }
    }

    func rotated(_ direction: RotationEvent.Direction) { rotations[direction]?.increment() }

    /// A change of one upload's write backlog (UploadWriter.onBacklogChange): positive when bytes are queued, negative
    /// when they reach the disk or are dropped.
    func backlogChanged(by delta: Int) {
        guard delta != 0 else { return }
        writeBacklog.increment(by: Double(delta))
    }

    /// A protocol error after the handshake (ours or the client's alert).
    func sessionError(_ alert: AlertCode) { sessionErrors[alert]?.increment() }

    /// A read or write error on a session's socket.
    func connectionError() { connectionErrors.increment() }
}

// MARK: Label values (exhaustive switches: a new code must be given its label here)

extension AlertCode {
    /// The TLS-style identifier, stable and free of spaces (`name` is the human text for logs).
    var metricLabel: String {
        switch self {
        case .unexpectedMessage: "unexpected_message"
        case .badRecordMAC: "bad_record_mac"
        case .recordOverflow: "record_overflow"
        case .handshakeFailure: "handshake_failure"
        case .badCertificate: "bad_certificate"
        case .unsupportedCertificate: "unsupported_certificate"
        case .certificateRevoked: "certificate_revoked"
        case .certificateExpired: "certificate_expired"
        case .illegalParameter: "illegal_parameter"
        case .unknownCA: "unknown_ca"
        case .accessDenied: "access_denied"
        case .decodeError: "decode_error"
        case .decryptError: "decrypt_error"
        case .protocolVersion: "protocol_version"
        case .internalError: "internal_error"
        case .noCommonCipherSuite: "no_common_cipher_suite"
        case .noCommonGroup: "no_common_group"
        case .noCommonHash: "no_common_hash"
        case .noCommonSignature: "no_common_signature"
        case .keyUsageExceeded: "key_usage_exceeded"
        case .closedByPeer: "session_closed"
        case .tooManySessions: "too_many_sessions"
        }
    }
}

extension UploadErrorCode {
    /// Every code, for creating the series up front (UploadErrorCode is not CaseIterable in Protocol).
    static let metricCases: [UploadErrorCode] = [
        .badPath, .exists, .tooLarge, .noSpace, .digestMismatch, .sizeMismatch, .storageFailure, .permissionDenied,
        .aborted, .busy, .unknown,
    ]

    var metricLabel: String { name }
}

extension DaemonMetrics.HandshakeFailure {
    var metricLabel: String {
        switch self {
        case .alert(let alert): alert.metricLabel
        case .timeout: "timeout"
        case .disconnected: "disconnected"
        }
    }
}

extension RotationEvent.Direction {
    /// From the server's side: `.receive` replaced the keys of what the client sends.
    var metricLabel: String {
        switch self {
        case .receive: "client_to_server"
        case .send: "server_to_client"
        }
    }
}

extension DaemonMetrics.Refusal {
    init(_ refusal: SourceLimits.Refusal) {
        switch refusal {
        case .sourceRate: self = .sourceRate
        case .sourceHandshakes: self = .sourceHandshakes
        case .sourceSessions: self = .sourceSessions
        }
    }
}
