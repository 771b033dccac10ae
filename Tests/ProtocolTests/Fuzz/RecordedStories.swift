// The real sessions the seed corpus is made from: each a configuration (algorithms, policy) and what the client
// and the daemon do. Between them they show every message type on the wire: the handshake of every group, uploads
// committed, already stored, refused, aborted and failed mid-stream, rotations on volume, time and request, Goodbye,
// alerts sealed and in plaintext, and every store request (§14) with its answers.
import XCTest
@testable @_spi(Fuzzing) import Protocol
@testable import FuzzSupport

struct RecordedStory: Sendable {
    let name: String
    let suite: CipherSuite
    let group: KeyExchangeGroup
    let hash: HashFunction
    var rotation = RotationPolicy.none
    var maxDataChunk = Limits.maxDataChunk
    /// The client's own offer when it differs from the server's (a refused handshake).
    var clientSuites: [CipherSuite]?
    var serverName = FuzzPKI.serverName
    let play: @Sendable (inout SessionRecorder) -> Void

    func record() throws -> SessionRecorder {
        let preferences = AlgorithmPreferences(cipherSuites: [suite], groups: [group], hashes: [hash],
                                               signatureSchemes: AlgorithmPreferences.serverDefault.signatureSchemes)
        var server = ServerConfiguration(identity: FuzzPKI.server, clientTrust: FuzzPKI.trust())
        server.preferences = preferences
        server.rotation = rotation
        server.maxDataChunk = maxDataChunk
        var client = ClientConfiguration(identity: FuzzPKI.client, serverTrust: FuzzPKI.trust(), serverName: serverName)
        client.preferences = preferences
        if let clientSuites { client.preferences.cipherSuites = clientSuites }
        var recorder = try SessionRecorder(client: client, server: server)
        recorder.onServerEvent = Self.daemon
        recorder.pump()
        play(&recorder)
        return recorder
    }

    /// What ferryd decides, by name: "kept…" is already stored, "../" refused, "failed…" failed after its first chunk.
    static func daemon(_ session: inout SessionRecorder, _ event: ServerEvent) {
        let now = session.now
        switch (event, session.server.uploadStateForFuzzing) {
        case (.uploadRequested(let request), _) where request.path.contains(".."):
            session.server.reject(UploadFailure(.badPath, "a path may not leave the client's area"), now: now)
        case (.uploadRequested(let request), _) where request.path.hasPrefix("kept") && request.expectedDigest != nil:
            session.server.alreadyStored(UploadReceipt(storedName: request.path, size: request.size,
                                                       digest: request.expectedDigest ?? []), now: now)
        case (.uploadRequested, _):
            session.server.accept(now: now)
        case (.uploadData, .receiving(let request, _)) where request.path.hasPrefix("failed"):
            session.server.fail(UploadFailure(.storageFailure, "disk error"), now: now)
        case (.uploadFinished(let digest, _), .finishing(let request)):
            session.server.commit(UploadReceipt(storedName: request.path, size: request.size, digest: digest), now: now)
        case (.storeRequested(let request), _):
            // The first recursive Delete of a tree stops after a batch; asked again, it removes the rest.
            let asked = session.serverEvents.filter { $0 == event }.count
            answerStore(request, &session, firstTime: asked == 1)
        default:
            break
        }
    }

    /// What ferryd answers a store request with: a Stat of "missing…" is refused, a Get streams `getContent`.
    private static func answerStore(_ request: StoreRequest, _ session: inout SessionRecorder, firstTime: Bool) {
        let now = session.now
        func entry(_ path: String) -> StoredFileEntry {
            StoredFileEntry(path: path, size: 3000, sha256: [UInt8](repeating: 0x5A, count: 32),
                            modified: WireTime(seconds: 1_700_000_000, nanoseconds: 7),
                            uploaded: WireTime(seconds: 1_700_000_100, nanoseconds: 0), uploader: "fuzz-client")
        }
        switch request {
        case .stat(let stat) where stat.path.hasPrefix("missing"):
            session.server.answerStore(.failed(UploadFailure(.notFound, "nothing is stored there")), now: now)
        case .stat(let stat):
            session.server.answerStore(.stat(.file(entry(stat.path))), now: now)
        case .list(let list):
            let entries: [ListEntry] = [.file(entry(list.directory + "a.txt")), .directory(list.directory + "sub")]
            session.server.answerStore(.list(ListPage.fitting(entries, limit: list.limit, more: false)), now: now)
        case .get(let get):
            session.server.startGet(GetHeader(size: UInt64(getContent.count), sha256: DigestContext.hash(.sha256, getContent),
                                              modified: WireTime(seconds: 1_700_000_000, nanoseconds: 7), executable: false,
                                              offset: get.offset), now: now)
            getContent[Int(get.offset)...].withUnsafeBytes { session.server.sendGetData($0, now: now) }
        case .delete(let delete):
            let outcome = delete.recursive ? DeleteOutcome(files: firstTime ? 2 : 1, bytes: firstTime ? 6000 : 10, more: firstTime)
                                           : DeleteOutcome(files: 1, bytes: 3000)
            session.server.answerStore(.deleted(outcome), now: now)
        case .rename(let rename):
            session.server.answerStore(.stat(.file(entry(rename.to))), now: now)
        case .verify:
            session.server.answerStore(.verified(VerifyResult(size: 3000, recorded: [UInt8](repeating: 0x5A, count: 32),
                                                              read: [UInt8](repeating: 0xA5, count: 32))), now: now)
        }
    }

    static let getContent = data(700)

    static func data(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) } }

    static let all: [RecordedStory] = [
        RecordedStory(name: "uploads", suite: .aes256GCM, group: .x25519, hash: .sha256,
                      rotation: RotationPolicy(afterBytes: 4096), maxDataChunk: 1024) { session in
            session.upload(data(3000), path: "docs/a.txt", chunk: 1024)
            session.upload(data(2000), path: "kept.bin", chunk: 1024, digest: true)
            try? session.client.rotateNow()
            session.pump()
            try? session.server.rotateNow()
            session.pump()
            session.upload(data(6000), path: "b.bin", chunk: 1024)
            session.client.startUpload(UploadRequest(path: "aborted.bin", size: 4000), now: session.now)
            session.pump()
            session.client.sendData(data(1024), now: session.now)
            session.client.abortUpload(now: session.now)
            session.pump()
            session.upload(data(4000), path: "failed.bin", chunk: 1024)
            session.upload(data(10), path: "../escape", chunk: 1024)
            session.client.goodbye(now: session.now)
            session.pump()
        },
        RecordedStory(name: "hybrid", suite: .chacha20Poly1305, group: .x25519MLKEM768, hash: .sha384) { session in
            session.upload(data(1500), path: "hybrid.txt", chunk: 700)
            try? session.client.rotateNow()
            session.pump()
            session.server.close(.closedByPeer, reason: "shutting down")
            session.pump()
        },
        RecordedStory(name: "time", suite: .aes128GCM, group: .secp256r1, hash: .sha512,
                      rotation: RotationPolicy(afterSeconds: 2)) { session in
            session.upload(data(2000), path: "p256.bin", chunk: 500)
            session.now.monotonicNanoseconds += 3_000_000_000
            try? session.client.handleTimer(now: session.now)
            try? session.server.handleTimer(now: session.now)
            session.pump()
            session.upload(data(700), path: "after-rotation.bin", chunk: 500)
            session.server.goodbye(now: session.now)
            session.pump()
        },
        RecordedStory(name: "ffdhe", suite: .aes256CBCHMACSHA256, group: .ffdhe2048, hash: .sha256) { session in
            session.upload(data(1200), path: "cbc.bin", chunk: 1024)
            try? session.client.rotateNow()
            session.pump()
            session.client.goodbye(now: session.now)
            session.pump()
        },
        RecordedStory(name: "store", suite: .chacha20Poly1305, group: .x25519, hash: .sha256) { session in
            let requests: [StoreRequest] = [
                .stat(StatRequest(path: "docs/a.txt")), .stat(StatRequest(path: "missing.txt")),
                .list(ListRequest(directory: "docs/", limit: 10)), .get(GetRequest(path: "docs/a.txt", offset: 100)),
                .delete(DeleteRequest(path: "tree", recursive: true)), .delete(DeleteRequest(path: "tree", recursive: true)),
                .delete(DeleteRequest(path: "docs/old.txt")), .rename(RenameRequest(from: "docs/a.txt", to: "docs/b.txt")),
                .verify(VerifyRequest(path: "docs/b.txt")),
            ]
            for request in requests {
                XCTAssertTrue(session.client.canSendStoreRequest, "store: \(request.messageName)")
                session.client.sendStoreRequest(request, now: session.now)
                session.pump()
            }
            let answered = session.clientEvents.filter { if case .storeAnswered = $0 { true } else { false } }
            XCTAssertEqual(answered.count, requests.count - 1, "store: every request but the Get answered once")
            XCTAssertEqual(session.clientEvents.last, .storeAnswered(.verified(VerifyResult(
                size: 3000, recorded: [UInt8](repeating: 0x5A, count: 32), read: [UInt8](repeating: 0xA5, count: 32)))))
            XCTAssertNil(session.clientError)
            session.client.goodbye(now: session.now)
            session.pump()
        },
        // The server accepts AES-256-GCM only: its plaintext alert, before any key.
        RecordedStory(name: "refused", suite: .aes256GCM, group: .x25519, hash: .sha256, clientSuites: [.aes128GCM]) { _ in },
        // The client checks another name: its alert, sealed under its handshake keys.
        RecordedStory(name: "wrong-name", suite: .aes256GCM, group: .x25519, hash: .sha256, serverName: "other.example") { _ in },
    ]
}
