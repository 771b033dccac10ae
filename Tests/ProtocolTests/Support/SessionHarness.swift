// Two in-memory peers and the bytes between them (STYLE.md §15: no sockets; every stage reachable).
import XCTest
@testable import Protocol

enum Fixtures {
    static var pki: TestPKI { TestPKI.shared }

    static func identity(_ test: TestIdentity) throws -> Identity {
        try Identity(chainPEM: test.chainPEM, keyPEM: test.keyPEM)
    }

    static func now(_ seconds: UInt64 = 1) -> Now {
        Now(monotonicNanoseconds: seconds * 1_000_000_000, unixSeconds: pki.validUnixTime)
    }

    static func serverConfiguration(_ identity: TestIdentity? = nil, key: TestKeyType = .ecdsaP256,
                                    clientCA: [UInt8]? = nil) throws -> ServerConfiguration {
        try ServerConfiguration(identity: self.identity(identity ?? pki.server(key)),
                                clientTrust: TrustStore(pemBundle: clientCA ?? pki.caPEM))
    }

    static func clientConfiguration(_ identity: TestIdentity? = nil, key: TestKeyType = .ecdsaP256,
                                    serverCA: [UInt8]? = nil, serverName: String = "localhost") throws -> ClientConfiguration {
        try ClientConfiguration(identity: self.identity(identity ?? pki.client(key)),
                                serverTrust: TrustStore(pemBundle: serverCA ?? pki.caPEM), serverName: serverName)
    }

    /// Splits a byte stream into whole records (header included).
    static func records(in bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var index = 0
        while index + Limits.recordHeaderLength <= bytes.count {
            let length = bytes[index + 1..<index + 5].reduce(0) { $0 << 8 | Int($1) }
            let end = index + Limits.recordHeaderLength + length
            guard end <= bytes.count else { break }
            result.append(Array(bytes[index..<end]))
            index = end
        }
        return result
    }
}

/// SplitMix64: small, deterministic, good enough to pick bytes, positions and read sizes (a failure reproduces).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A client and a server wired back to back. `pump` moves bytes until neither side has anything to say.
struct SessionPair {
    var client: ClientConnection
    var server: ServerConnection
    var clientEvents: [ClientEvent] = []
    var serverEvents: [ServerEvent] = []
    var clientError: ProtocolError?
    var serverError: ProtocolError?
    var now: Now
    /// Bytes the server received as upload data, in order.
    var received: [UInt8] = []
    /// Called on each server event (e.g. to accept uploads); returns nothing, acts on the pair.
    var onServerEvent: ((inout SessionPair, ServerEvent) -> Void)?

    init(client: ClientConfiguration, server: ServerConfiguration, now: Now = Fixtures.now()) throws {
        self.client = try ClientConnection(configuration: client)
        self.server = ServerConnection(configuration: server)
        self.now = now
    }

    /// Moves bytes both ways until quiet. `tamper` may rewrite what travels client→server (a man in the middle).
    mutating func pump(clientToServer tamper: (([UInt8]) -> [UInt8])? = nil, limit: Int = 100_000) {
        for _ in 0..<limit {
            var moved = false
            var toServer = client.takeOutput()
            if let tamper, !toServer.isEmpty { toServer = tamper(toServer) }
            if !toServer.isEmpty {
                moved = true
                server.receive(toServer)
            }
            drainServer()
            let toClient = server.takeOutput()
            if !toClient.isEmpty {
                moved = true
                client.receive(toClient)
            }
            drainClient()
            if !moved { return }
        }
        XCTFail("pump did not settle")
    }

    mutating func drainServer() {
        do {
            while let event = try server.nextEvent(now: now) {
                if case .uploadData(let chunk) = event {
                    received.append(contentsOf: chunk)
                    serverEvents.append(.uploadData([]))  // keep the log small
                } else {
                    serverEvents.append(event)
                }
                if let handler = onServerEvent { handler(&self, event) }
            }
        } catch {
            if serverError == nil { serverError = error }
        }
    }

    mutating func drainClient() {
        do {
            while let event = try client.nextEvent(now: now) { clientEvents.append(event) }
        } catch {
            if clientError == nil { clientError = error }
        }
    }

    var handshakeCompleted: Bool { client.isEstablished && server.isEstablished }

    /// Moves bytes until the client may send Data again (a rotation completing), as a real client waits.
    mutating func waitUntilClientCanSend() {
        for _ in 0..<100 where !client.canSendData && !client.isClosed { pump() }
        XCTAssertTrue(client.canSendData || client.isClosed, "canSendData stayed false")
    }

    /// Makes the server accept every upload and commit it (as `path`, `size` bytes) when it finishes.
    mutating func acceptAndCommit(path: String, size: Int) {
        onServerEvent = { pair, event in
            switch event {
            case .uploadRequested: pair.server.accept(now: pair.now)
            case .uploadFinished(let digest, _):
                pair.server.commit(UploadReceipt(storedName: path, size: UInt64(size), digest: digest), now: pair.now)
            default: break
            }
        }
    }

    /// An established pair using `suite`, with an accepted upload of `size` bytes to "f" waiting for Data.
    static func uploading(suite: CipherSuite = .aes256GCM, size: Int = 1 << 20) throws -> SessionPair {
        var client = try Fixtures.clientConfiguration()
        client.preferences.cipherSuites = [suite]
        var pair = try SessionPair(client: client, server: Fixtures.serverConfiguration())
        pair.pump()
        XCTAssertTrue(pair.handshakeCompleted)
        pair.onServerEvent = { pair, event in
            if case .uploadRequested = event { pair.server.accept(now: pair.now) }
        }
        pair.client.startUpload(UploadRequest(path: "f", size: UInt64(size)), now: pair.now)
        pair.pump()
        return pair
    }

    /// Sends Close with `data`'s SHA-256, lets the exchange play out, and checks that no side failed and that the
    /// server received exactly `data`.
    mutating func finishAndCheckDelivery(of data: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        client.finishUpload(digest: DigestContext.hash(.sha256, data), now: now)
        pump()
        XCTAssertNil(clientError, label, file: file, line: line)
        XCTAssertNil(serverError, label, file: file, line: line)
        XCTAssertTrue(received == data, "\(label): bytes delivered exactly", file: file, line: line)
    }

    /// Runs a whole upload of `data` in `chunk`-sized Data messages, the server accepting and committing. The clock
    /// moves on by `chunkInterval` nanoseconds per chunk (100 ms by default: slower than the rotation pacing of
    /// §7.5, so a small volume policy rotates at every threshold, as on a slow link).
    mutating func upload(_ data: [UInt8], path: String = "file.bin", chunk: Int = Limits.maxDataChunk,
                         chunkInterval: UInt64 = 100_000_000) {
        acceptAndCommit(path: path, size: data.count)
        client.startUpload(UploadRequest(path: path, size: UInt64(data.count)), now: now)
        pump()
        var offset = 0
        while offset < data.count {
            waitUntilClientCanSend()
            let end = min(offset + chunk, data.count)
            now.monotonicNanoseconds += chunkInterval
            data[offset..<end].withUnsafeBytes { client.sendData($0, now: now) }
            offset = end
            pump()
        }
        client.finishUpload(digest: DigestContext.hash(.sha256, data), now: now)
        pump()
    }
}
