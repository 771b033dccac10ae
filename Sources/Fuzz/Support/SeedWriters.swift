// Inputs in each harness's format, for the seed corpus generator and the regression tests (internal: they reach it
// with `@testable import FuzzSupport`). Each writer sits beside nothing but the reader it mirrors; a change to a
// format changes both, and the generator's test replays every seed through the harness to catch a mismatch.
@_spi(Fuzzing) import Protocol

/// An established-mode session input (SessionFuzzer, SessionScript+Ops.swift).
struct SessionSeed {
    private var writer = FuzzInputWriter()

    /// setup: the algorithms, mode "established"; policy: SessionPolicy's byte.
    init(suite: CipherSuite, group: KeyExchangeGroup, hash: HashFunction, policy: UInt8) {
        writer.byte(Self.setupByte(suite: suite, group: group, hash: hash, mode: 2))
        writer.byte(policy)
    }

    var bytes: [UInt8] { writer.bytes }

    static func setupByte(suite: CipherSuite, group: KeyExchangeGroup, hash: HashFunction, mode: UInt8) -> UInt8 {
        let suiteIndex = UInt8(CipherSuite.allCases.firstIndex(of: suite) ?? 0)
        let groupIndex = UInt8(SessionSetup.rawGroups.firstIndex(of: group) ?? 0)
        let hashIndex: UInt8 = switch hash {
        case .sha256: 0
        case .sha384: 1
        case .sha512: 2
        }
        return suiteIndex | groupIndex << 2 | hashIndex << 4 | mode << 6
    }

    /// A raw-mode input: `stream` as the target receives it, in chunks (0: at once).
    static func raw(setup: UInt8 = 0, chunking: UInt8, stream: [UInt8]) -> [UInt8] {
        [setup & 0x3F, chunking] + stream
    }

    private mutating func op(_ op: SessionScript.Op) { writer.byte(op.rawValue) }

    mutating func deliverToServer(room: Bool = false) { op(.deliverToServer); writer.byte(room ? 1 : 0) }
    mutating func deliverToClient() { op(.deliverToClient) }

    mutating func deliverBoth(room: Bool = false) {
        deliverToServer(room: room)
        deliverToClient()
    }

    /// `path` of 1…32 bytes; size = `size` << (2 · sizeShift).
    mutating func startUpload(path: String, size: UInt16, sizeShift: UInt8 = 0, overwrite: Bool = false, digest: [UInt8]? = nil) {
        let pathBytes = Array(path.utf8.prefix(32))
        op(.startUpload)
        writer.byte(UInt8(max(pathBytes.count, 1) - 1))
        writer.raw(pathBytes)
        writer.u16(size)
        writer.byte(sizeShift & 0x03)
        writer.byte((overwrite ? 0x01 : 0) | (digest != nil ? 0x02 : 0))
        if let digest { writer.raw(digest) }
    }

    mutating func sendData(_ length: UInt16, inPlace: Bool = false) {
        op(.sendData)
        writer.u16(length)
        writer.byte(inPlace ? 1 : 0)
    }

    mutating func finishUpload(digest: [UInt8] = [UInt8](repeating: 0xD1, count: 32)) {
        op(.finishUpload)
        writer.raw(digest)
    }

    mutating func abortUpload() { op(.abortUpload) }
    mutating func clientRotate() { op(.clientRotate) }
    mutating func serverRotate() { op(.serverRotate) }

    enum Decision { case accept, acceptAt(UInt32), reject, alreadyStored, commit, fail }

    /// What SessionScript.serverDecide reads for `decision` (choice % 3 while deciding, choice & 1 after).
    mutating func serverDecide(_ decision: Decision) {
        op(.serverDecide)
        switch decision {
        case .accept: writer.byte(0x00)
        case .acceptAt(let offset): writer.byte(0x81); writer.u32(offset)  // 0x81 % 3 == 0, high bit: an offset follows
        case .reject: writer.byte(0x01)
        case .alreadyStored: writer.byte(0x02)
        case .commit: writer.byte(0x00)
        case .fail: writer.byte(0x01)
        }
    }

    mutating func advanceTime(seconds: UInt8) { op(.advanceTime); writer.byte(seconds &- 1) }
    mutating func goodbye(fromClient: Bool) { op(.goodbye); writer.byte(fromClient ? 1 : 0) }

    mutating func close(_ code: AlertCode, fromClient: Bool) {
        op(.close)
        writer.byte(UInt8(AlertCode.allCases.firstIndex(of: code) ?? 0))
        writer.byte(fromClient ? 1 : 0)
    }

    mutating func inject(typeByte: UInt8, body: [UInt8]) {
        op(.inject)
        writer.byte(typeByte)
        writer.u16(UInt16(body.count))
        writer.raw(body)
    }

    /// At most 4,096 bytes per op (longer runs take several).
    mutating func injectRaw(_ bytes: [UInt8]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(4096)
            rest = rest.dropFirst(chunk.count)
            op(.injectRaw)
            writer.u16(UInt16(chunk.count))
            writer.raw(Array(chunk))
        }
    }

    mutating func releaseBuffers() { op(.releaseBuffers) }
}

/// A record layer input (RecordLayerFuzzer).
struct RecordLayerSeed {
    private var writer = FuzzInputWriter()

    /// `suite` nil: no keys. `room`: Data bodies go to the caller's buffer.
    init(suite: CipherSuite?, authenticated: Bool, sha384: Bool = false, room: Bool = false) {
        var setup: UInt8 = suite.map { UInt8(CipherSuite.allCases.firstIndex(of: $0) ?? 0) } ?? 0x04
        if authenticated { setup |= 0x08 }
        if sha384 { setup |= 0x10 }
        if room { setup |= 0x20 }
        writer.byte(setup)
    }

    var bytes: [UInt8] { writer.bytes }

    private mutating func op(_ op: RecordLayerFuzzer.Op) { writer.byte(op.rawValue) }

    /// Raw bytes, at most 16,384 per op (longer streams take several).
    mutating func appendRaw(_ bytes: [UInt8], inPlace: Bool = false) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(16_384)
            rest = rest.dropFirst(chunk.count)
            op(inPlace ? .receiveRawInPlace : .appendRaw)
            writer.u16(UInt16(chunk.count))
            writer.raw(Array(chunk))
            if inPlace { writer.byte(64) }
        }
    }

    mutating func sealed(typeByte: UInt8, body: [UInt8], inPlace: Bool = false) {
        op(inPlace ? .sealedInPlace : .sealed)
        writer.byte(typeByte)
        writer.u16(UInt16(body.count))
        writer.raw(body)
    }

    mutating func plaintext(typeByte: UInt8, body: [UInt8]) {
        op(.plaintext)
        writer.byte(typeByte)
        writer.u16(UInt16(body.count))
        writer.raw(body)
    }

    mutating func drain() { op(.drain) }
}

extension MessageFuzzer {
    /// The input that decodes `body` as `message` in `family`'s target (nil if the family has no such decoder).
    static func seed(_ message: FuzzedMessage, body: [UInt8], family: Family) -> [UInt8]? {
        family.messages.firstIndex(of: message).map { [UInt8($0)] + body }
    }
}

extension KeyShareFuzzer {
    /// The input that checks `share` for `group`, as responder (an initiator's share) or initiator (a responder's).
    static func seed(group: KeyExchangeGroup, asResponder: Bool, share: [UInt8]) -> [UInt8] {
        let index = UInt8(KeyExchangeGroup.allCases.firstIndex(of: group) ?? 0)
        return [index << 1 | (asResponder ? 0 : 1)] + share
    }
}
