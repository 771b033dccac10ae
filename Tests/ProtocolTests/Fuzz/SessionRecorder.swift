// A real client and server in memory, and a record of every message between them, opened: each record a side
// receives is also opened by a shadow receiver that follows the side's receive keys (handshake keys, epoch-0
// application keys, every rotation). The seed corpus generator (FuzzSeedCorpusTests) splits these into seeds.
import XCTest
@testable @_spi(Fuzzing) import Protocol
@testable import FuzzSupport

struct SessionRecorder {
    enum Direction { case toServer, toClient }

    struct Message {
        let direction: Direction
        let typeByte: UInt8
        let body: [UInt8]
        let sealed: Bool
    }

    var client: ClientConnection
    var server: ServerConnection
    let hash: HashFunction
    var now = FuzzPKI.start
    private(set) var messages: [Message] = []
    /// Every byte each side received, in order.
    private(set) var toServer: [UInt8] = []
    private(set) var toClient: [UInt8] = []
    private(set) var serverEvents: [ServerEvent] = []
    private(set) var clientEvents: [ClientEvent] = []
    private(set) var serverError: ProtocolError?
    private(set) var clientError: ProtocolError?
    /// What the daemon would do on a server event (accept, commit…).
    var onServerEvent: ((inout SessionRecorder, ServerEvent) -> Void)?
    private var serverShadow = Shadow()
    private var clientShadow = Shadow()

    init(client: ClientConfiguration, server: ServerConfiguration) throws {
        self.client = try ClientConnection(configuration: client)
        self.server = ServerConnection(configuration: server)
        hash = client.preferences.hashes[0]
    }

    /// Moves bytes both ways until neither side has anything to say.
    mutating func pump() {
        for _ in 0..<1000 {
            let moved = deliverToServer() + deliverToClient()
            if moved == 0 { return }
        }
        XCTFail("the recorded session did not settle")
    }

    @discardableResult
    mutating func deliverToServer() -> Int {
        let bytes = client.takeOutput()
        toServer += bytes
        for record in Fixtures.records(in: bytes) {
            if let (type, body) = serverShadow.open(record) {
                messages.append(Message(direction: .toServer, typeByte: type, body: body, sealed: record[0] == 0x02))
            }
            server.receive(record)
            do {
                while let event = try server.nextEvent(now: now) {
                    serverEvents.append(event)
                    if let handler = onServerEvent { handler(&self, event) }
                }
            } catch {
                serverError = serverError ?? error
            }
            serverShadow.follow(server.core.receiveKeys, hash: hash)
        }
        return bytes.count
    }

    @discardableResult
    mutating func deliverToClient() -> Int {
        let bytes = server.takeOutput()
        toClient += bytes
        for record in Fixtures.records(in: bytes) {
            if let (type, body) = clientShadow.open(record) {
                messages.append(Message(direction: .toClient, typeByte: type, body: body, sealed: record[0] == 0x02))
            }
            client.receive(record)
            do {
                while let event = try client.nextEvent(now: now) { clientEvents.append(event) }
            } catch {
                clientError = clientError ?? error
            }
            clientShadow.follow(client.core.receiveKeys, hash: hash)
        }
        return bytes.count
    }

    /// Uploads `data` as `path` in chunks of `chunk` bytes (the server accepting and committing, as onServerEvent
    /// says), pumping after each.
    mutating func upload(_ data: [UInt8], path: String, chunk: Int, digest announced: Bool = false) {
        let digest = DigestContext.hash(.sha256, data)
        guard client.canStartUpload else { return XCTFail("upload of \(path) while the client cannot start one") }
        client.startUpload(UploadRequest(path: path, size: UInt64(data.count), expectedDigest: announced ? digest : nil), now: now)
        pump()
        var offset = 0
        while offset < data.count, case .sending = client.uploadStateForFuzzing {
            let end = min(offset + chunk, data.count)
            client.sendData(Array(data[offset..<end]), now: now)
            offset = end
            pump()
        }
        if case .sending = client.uploadStateForFuzzing { client.finishUpload(digest: digest, now: now) }
        pump()
    }

    func messages(_ direction: Direction) -> [Message] { messages.filter { $0.direction == direction } }
}

/// Opens the records one side receives with a copy of that side's receive keys.
private struct Shadow {
    private var records = RecordLayer()
    private var following: ObjectIdentifier?

    init() { records.maxInboundBody = Limits.maxRecordBodyAfterAuthentication }

    mutating func open(_ record: [UInt8]) -> (UInt8, [UInt8])? {
        record.withUnsafeBytes { records.append($0) }
        guard let (type, body) = try? records.nextMessage() else { return nil }
        return (type.rawValue, Array(body))
    }

    /// After the side processed a record: new receive keys start at sequence 0, so a fresh copy is in step.
    mutating func follow(_ keys: TrafficKeys?, hash: HashFunction) {
        guard let keys, ObjectIdentifier(keys) != following else { return }
        following = ObjectIdentifier(keys)
        records.receiveKeys = try? TrafficKeys(suite: keys.suite, hash: hash, secret: keys.secret, epoch: keys.epoch,
                                               installedAt: 0, encrypting: false)
    }
}

extension SessionCore {
    /// The keys this side opens records with now.
    var receiveKeys: TrafficKeys? {
        switch state {
        case .handshaking(let handshake): handshake.records.receiveKeys
        case .established(let channel, _): channel.records.receiveKeys
        case .closed: nil
        }
    }
}
