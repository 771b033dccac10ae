// The seed corpus, by target: what a recorded session (SessionRecorder) contributes to each, split and re-framed in
// each harness's input format (FuzzSupport/SeedWriters.swift).
import Foundation
@testable @_spi(Fuzzing) import Protocol
@testable import FuzzSupport

struct SeedCorpus {
    /// Seeds by target (the name in Package.swift's fuzzTargets and in Fuzz/corpus/<target>), without repeats.
    private(set) var seeds: [String: [[UInt8]]] = [:]

    /// Above this a seed is trimmed or left out: scripts/fuzz runs with -max_len=8192.
    static let maxSeedLength = 8192

    var totalBytes: Int { seeds.values.joined().reduce(0) { $0 + $1.count } }

    mutating func add(_ seed: [UInt8]?, to target: String) {
        guard let seed, !seed.isEmpty, seed.count <= Self.maxSeedLength, !seeds[target, default: []].contains(seed) else { return }
        seeds[target, default: []].append(seed)
    }

    /// Everything one recorded session gives.
    mutating func add(_ session: SessionRecorder, _ story: RecordedStory) {
        addRaw(session, story)
        for message in session.messages { addMessage(message, story) }
        addRecordLayer(session, story)
        addReplays(session, story)
    }

    // MARK: What a stranger sends: the raw modes

    private mutating func addRaw(_ session: SessionRecorder, _ story: RecordedStory) {
        let setup = SessionSeed.setupByte(suite: story.suite, group: story.group, hash: story.hash, mode: 0)
        if let hello = Fixtures.records(in: session.toServer).first {
            add(SessionSeed.raw(setup: setup, chunking: 0, stream: hello), to: "ServerConnection")
        }
        add(SessionSeed.raw(setup: setup, chunking: 5, stream: Array(session.toServer.prefix(6000))), to: "ServerConnection")
        add(SessionSeed.raw(setup: setup, chunking: 0, stream: Array(session.toClient.prefix(6000))), to: "ClientConnection")
        add(SessionSeed.raw(setup: setup, chunking: 9, stream: Array(session.toClient.prefix(3000))), to: "ClientConnection")
    }

    // MARK: One message: its decoder, and the key shares it carries

    private mutating func addMessage(_ message: SessionRecorder.Message, _ story: RecordedStory) {
        guard let type = MessageType(rawValue: message.typeByte) else { return }
        if let (decoder, family) = Self.decoder(for: type, hash: story.hash) {
            let body = Array(message.body.prefix(Self.maxSeedLength - 1))
            add(MessageFuzzer.seed(decoder, body: body, family: family), to: family.target)
        }
        let body = message.body[...]
        switch type {
        case .clientHello:
            for share in (try? ClientHello.decode(body))?.keyShares ?? [] {
                guard let group = KeyExchangeGroup(rawValue: share.group) else { continue }
                add(KeyShareFuzzer.seed(group: group, asResponder: true, share: share.share), to: "KeyShares")
            }
        case .serverHello:
            if let hello = try? ServerHello.decode(body), let group = KeyExchangeGroup(rawValue: hello.group) {
                add(KeyShareFuzzer.seed(group: group, asResponder: false, share: hello.keyShare), to: "KeyShares")
            }
        case .rotateInit, .rotateReply:
            if let rotation = try? RotationShare.decode(body) {
                add(KeyShareFuzzer.seed(group: story.group, asResponder: type == .rotateInit, share: rotation.share),
                    to: "KeyShares")
            }
        default:
            break
        }
    }

    static func decoder(for type: MessageType, hash: HashFunction) -> (FuzzedMessage, MessageFuzzer.Family)? {
        switch type {
        case .clientHello: (.clientHello, .handshake)
        case .serverHello: (.serverHello, .handshake)
        case .serverParameters: (.serverParameters, .handshake)
        case .certificate: (.certificate, .handshake)
        case .certificateVerify: (.certificateVerify, .handshake)
        case .finished:
            switch hash {
            case .sha256: (.finishedSHA256, .handshake)
            case .sha384: (.finishedSHA384, .handshake)
            case .sha512: (.finishedSHA512, .handshake)
            }
        case .alert: (.alert, .session)
        case .goodbye, .rotateCommit: (.emptyBody, .session)
        case .rotateRequest: (.rotateRequest, .session)
        case .rotateInit, .rotateReply: (.rotationShare, .session)
        case .open: (.open, .upload)
        case .accepted: (.accepted, .upload)
        case .data: nil  // no decoder: the body is the chunk
        case .close: (.close, .upload)
        case .committed: (.committed, .upload)
        case .uploadError: (.uploadError, .upload)
        case .abort: (.emptyBody, .upload)
        case .stat: (.stat, .upload)
        case .statResult: (.statResult, .upload)
        case .list: (.list, .upload)
        case .listPage: (.listPage, .upload)
        case .operationError: (.uploadError, .upload)
        case .get: (.get, .upload)
        case .getHeader: (.getHeader, .upload)
        case .getData: nil  // no decoder: the body is the chunk
        case .getEnd: (.emptyBody, .upload)
        case .delete: (.delete, .upload)
        case .deleted: (.deleted, .upload)
        case .rename: (.rename, .upload)
        case .verify: (.verify, .upload)
        case .verified: (.verified, .upload)
        }
    }

    // MARK: The record layer: the streams as they were, and the messages sealed again under the harness's keys

    private mutating func addRecordLayer(_ session: SessionRecorder, _ story: RecordedStory) {
        var raw = RecordLayerSeed(suite: nil, authenticated: false)
        raw.appendRaw(Array(session.toServer.prefix(6000)))
        raw.drain()
        add(raw.bytes, to: "RecordLayer")
        var rawInPlace = RecordLayerSeed(suite: story.suite, authenticated: false)
        rawInPlace.appendRaw(Array(session.toClient.prefix(6000)), inPlace: true)
        rawInPlace.drain()
        add(rawInPlace.bytes, to: "RecordLayer")

        // Before keys: the hellos and plaintext alerts; during the handshake: its sealed messages.
        var plaintext = RecordLayerSeed(suite: nil, authenticated: false)
        var handshake = RecordLayerSeed(suite: story.suite, authenticated: false, sha384: story.hash == .sha384)
        for message in session.messages where message.typeByte <= 0x10 {
            if message.sealed {
                handshake.sealed(typeByte: message.typeByte, body: message.body)
            } else {
                plaintext.plaintext(typeByte: message.typeByte, body: message.body)
            }
        }
        plaintext.drain()
        handshake.drain()
        add(plaintext.bytes, to: "RecordLayer")
        add(handshake.bytes, to: "RecordLayer")

        // After: every application message (Data trimmed), in both ways of sealing, into the buffer and into a room.
        var application = RecordLayerSeed(suite: story.suite, authenticated: true, room: story.suite != .aes256GCM)
        for (index, message) in session.messages.enumerated() where message.sealed && message.typeByte > 0x10 {
            guard application.bytes.count < 6000 else { break }
            application.sealed(typeByte: message.typeByte, body: Array(message.body.prefix(256)), inPlace: index % 3 == 0)
            if index % 4 == 0 { application.drain() }
        }
        application.drain()
        add(application.bytes, to: "RecordLayer")
    }

    // MARK: The conversation replayed toward one side (the other side's part injected)

    private mutating func addReplays(_ session: SessionRecorder, _ story: RecordedStory) {
        guard session.messages.contains(where: { $0.typeByte == MessageType.open.rawValue }) else { return }
        add(SeedScripts.replayTowardServer(session, story), to: "ServerConnection")
        add(SeedScripts.replayTowardClient(session, story), to: "ClientConnection")
    }

    // MARK: Writing

    /// Replaces each target's directory under `directory` with the seeds (file name: SHA-256 of the content, as
    /// libFuzzer names what it keeps, so a later -merge finds no duplicates).
    func write(to directory: URL) throws {
        let files = FileManager.default
        for (target, seeds) in seeds {
            let folder = directory.appendingPathComponent(target, isDirectory: true)
            try? files.removeItem(at: folder)
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
            for seed in seeds {
                let name = DigestContext.hash(.sha256, seed).prefix(20).map { String(format: "%02x", $0) }.joined()
                try Data(seed).write(to: folder.appendingPathComponent(name))
            }
        }
    }
}

extension MessageFuzzer.Family {
    var target: String {
        switch self {
        case .handshake: "HandshakeMessages"
        case .session: "SessionMessages"
        case .upload: "UploadMessages"
        }
    }
}
