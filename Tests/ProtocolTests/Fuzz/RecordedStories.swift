// The real sessions the seed corpus is made from: each a configuration (algorithms, policy) and what the client
// and the daemon do. Between them they show every message type on the wire: the handshake of every group, uploads
// committed, already stored, refused, aborted and failed mid-stream, rotations on volume, time and request, Goodbye,
// alerts sealed and in plaintext.
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
        default:
            break
        }
    }

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
        // The server accepts AES-256-GCM only: its plaintext alert, before any key.
        RecordedStory(name: "refused", suite: .aes256GCM, group: .x25519, hash: .sha256, clientSuites: [.aes128GCM]) { _ in },
        // The client checks another name: its alert, sealed under its handshake keys.
        RecordedStory(name: "wrong-name", suite: .aes256GCM, group: .x25519, hash: .sha256, serverName: "other.example") { _ in },
    ]
}
