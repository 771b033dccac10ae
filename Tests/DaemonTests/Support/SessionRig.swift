// A ServerSession and a real Protocol client joined in memory, with a real Store under a temporary root whose jobs run
// when the test says (SteppedExecutor): the server side of a session driven with no socket and no loop. Certificates
// are made with the `openssl` command line. The rig plays the driver: it moves bytes both ways, performs the actions
// the session returns (flush, pause, resume, close, watch) and records them.
import Foundation
import FerrydConfig
import Logging
import Platform
import Protocol
import Store
import TestSupport
import XCTest

@testable import Daemon

final class SessionRig {
    let root: URL
    let store: Store
    let executor = SteppedExecutor()
    let buffers = Store.makeUploadBufferPool()
    let metrics = DaemonMetrics()
    /// What the session logged.
    let logged = CapturedLines()
    let session: ServerSession
    var client: ClientConnection
    /// Every action the session returned, in order.
    private(set) var actions: [SessionAction] = []
    /// What the driver's socket would be doing.
    private(set) var reading = true
    private(set) var closed = false
    /// Client events seen so far.
    private(set) var events: [ClientEvent] = []
    private var clock: UInt64 = 1_000_000_000
    /// A minute ahead: the certificates, made by openssl in init, are valid from the second they were made.
    private let unixSeconds = Int64(time(nil)) + 60

    /// `indexed`: the store keeps the default metadata index (`[index] backend = "sqlite"` under the root).
    init(directory: TemporaryDirectory, indexed: Bool = false, settings configure: (inout RuntimeSettings) -> Void = { _ in }) throws {
        let pki = try Self.makePKI(in: directory.appending("pki"))
        root = directory.appending("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let root = self.root
        store = try Store(rootPath: root.path, staging: ".staging",
                          index: indexed ? try IndexOpening.open(DaemonConfig.IndexSection(), storageRoot: root) : nil)
        let serverConfiguration = try ServerConfiguration(
            identity: Identity(chainPEM: pki.serverCertificate, keyPEM: pki.serverKey), clientTrust: TrustStore(pemBundle: pki.ca))
        var settings = RuntimeSettings(
            listen: [], workers: 1, protocolConfiguration: serverConfiguration, storageRoot: root, stagingName: ".staging", index: DaemonConfig.IndexSection(),
            allowOverwrite: false, fsync: true, directIO: true, reserve: 0, partialTTLSeconds: 3600, resumeInterval: 64 << 20,
            maxSessions: 10,
            sourceLimits: SourceLimits.Settings(maxHandshaking: 10, maxSessions: 10, ratePerSecond: 100, burst: 100),
            handshakeTimeoutSeconds: 10,
            idleTimeoutSeconds: 60, maxFileSize: 0, shutdownGraceSeconds: 5)
        configure(&settings)
        let logged = self.logged
        let logger = Logger(label: "session-test") { _ in CapturingHandler { logged.append($0, $1) } }
        session = ServerSession(
            id: 1, settings: settings,
            upload: UploadHandler.Environment(store: store, executor: executor, buffers: buffers, settings: settings),
            logger: logger, metrics: metrics)
        client = try ClientConnection(configuration: ClientConfiguration(
            identity: Identity(chainPEM: pki.clientCertificate, keyPEM: pki.clientKey), serverTrust: TrustStore(pemBundle: pki.ca),
            serverName: "localhost"))
    }

    var now: Now {
        clock += 1_000_000
        return Now(monotonicNanoseconds: clock, unixSeconds: unixSeconds)
    }

    /// Moves bytes both ways until neither side has anything to say (the store's jobs are not run).
    func pump() throws {
        for _ in 0..<10_000 {
            var moved = false
            let toServer = client.takeOutput()
            if !toServer.isEmpty, !closed {
                moved = true
                toServer.withUnsafeBytes { session.receive($0) }
            }
            if reading, !closed { perform(session.process(now: now)) }
            var toClient: [UInt8] = []
            session.drainOutput { toClient += $0 }
            if !toClient.isEmpty {
                moved = true
                client.receive(toClient)
                perform(session.outputDrained(now: now))  // as the driver does once the socket took it all
            }
            while let event = try client.nextEvent(now: now) {
                moved = true
                events.append(event)
            }
            if !moved { return }
        }
        throw TestError("the session and the client never went quiet")
    }

    /// Runs the store's jobs (all, or `count`), pumping after each.
    func runJobs(_ count: Int = .max) throws {
        var ran = 0
        while ran < count, executor.runNext() {
            ran += 1
            try pump()
        }
    }

    func handshake() throws {
        try pump()
        guard case .handshakeCompleted? = events.last else { throw TestError("no handshake: \(events)") }
    }

    func perform(_ new: [SessionAction]) {
        actions += new
        for action in new {
            switch action {
            case .flush: break  // pump drains the output
            case .pauseReading: reading = false
            case .resumeReading: reading = true
            case .close: closed = true
            case .watch(let writer):
                writer.onEvent = { [unowned self, unowned writer] event in
                    perform(session.storeEvent(event, from: writer, now: now))
                }
            case .storePipelined(let id, let file, let digest, let times):
                file.store(clientDigest: digest, times: times, executor: executor) { [unowned self] outcome in
                    perform(session.pipelinedStored(id: id, file, outcome, now: now))
                }
            case .probePipelined(let id, let probe):
                probe.run(executor: executor) { [unowned self] outcome in
                    perform(session.pipelinedProbed(id: id, probe, outcome, now: now))
                }
            case .lookUp(let lookup):
                lookup.run(executor: executor) { [unowned self] outcome in
                    perform(session.storeAnswered(lookup.request, outcome, now: now))
                }
            case .change(let change):
                change.run(executor: executor) { [unowned self] outcome in
                    perform(session.storeAnswered(change.request, outcome, now: now))
                }
            case .verifyStep(let verifier, let request):
                verifier.step(executor: executor) { [unowned self] step in
                    perform(session.verifyStepped(verifier, request, step, now: now))
                }
            case .openForGet(let reader):
                reader.open(executor: executor) { [unowned self] outcome in
                    perform(session.getOpened(reader, outcome, now: now))
                }
            case .readForGet(let reader, let offset, let buffer):
                reader.read(at: offset, into: buffer, executor: executor) { [unowned self] result in
                    perform(session.getRead(reader, buffer, result, now: now))
                }
            case .sealForGet:
                perform(session.sealGet(now: now))
            }
        }
    }

    /// Data for the upload in flight, in chunks of the session's largest size.
    func send(_ bytes: [UInt8]) throws {
        var start = 0
        while start < bytes.count {
            let end = min(start + client.maxDataChunk, bytes.count)
            client.sendData(Array(bytes[start..<end]), now: now)
            start = end
        }
        try pump()
    }

    /// Open (the store prepares), Data, Close with `digest` (the right one by default), and the store's jobs: one
    /// whole upload; the client's last event is the answer.
    func upload(_ name: String, _ content: [UInt8], digest: [UInt8]? = nil, namespace: String = "") throws {
        open(name, size: content.count, namespace: namespace)
        try pump()
        try runJobs()
        try send(content)
        try finish(digest: digest ?? DigestContext.hash(.sha256, content))
        try runJobs()
    }

    /// Sends a Stat or List and pumps (the lookup waits for `runJobs`).
    func ask(_ request: StoreRequest) throws {
        client.sendStoreRequest(request, now: now)
        try pump()
    }

    func open(_ name: String, size: Int, namespace: String = "") {
        client.startUpload(UploadRequest(path: name, size: UInt64(size), namespace: namespace), now: now)
    }

    func finish(digest: [UInt8]) throws {
        client.finishUpload(digest: digest, now: now)
        try pump()
    }

    /// Regular files under the root but the lock file, relative, sorted.
    func storedFiles() -> [String] {
        let walker = FileManager.default.enumerator(atPath: root.path)
        var files: [String] = []
        while let name = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory),
               !isDirectory.boolValue, name != ".ferryd.lock" {
                files.append(name)
            }
        }
        return files.sorted()
    }

    // MARK: PKI

    struct PKI {
        let ca: [UInt8]
        let serverCertificate: [UInt8], serverKey: [UInt8]
        let clientCertificate: [UInt8], clientKey: [UInt8]
    }

    /// A P-256 CA, a server certificate for localhost (serverAuth) and a client certificate CN=alice (clientAuth).
    static func makePKI(in directory: URL) throws -> PKI {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        _ = try openssl(["req", "-x509"] + curve + ["-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=session-test-ca",
                                                    "-days", "2"], in: directory)
        for (name, subject, extensions) in [
            ("server", "/CN=ferry-server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"),
            ("client", "/CN=alice", "extendedKeyUsage=clientAuth\n"),
        ] {
            try Data(extensions.utf8).write(to: directory.appendingPathComponent("\(name).ext"))
            _ = try openssl(["req", "-new"] + curve + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject],
                            in: directory)
            _ = try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                             "-days", "2", "-extfile", "\(name).ext", "-out", "\(name).crt"], in: directory)
        }
        func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }
        return PKI(ca: try read("ca.crt"), serverCertificate: try read("server.crt"), serverKey: try read("server.key"),
                   clientCertificate: try read("client.crt"), clientKey: try read("client.key"))
    }
}
