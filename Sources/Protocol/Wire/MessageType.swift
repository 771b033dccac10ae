// The message catalogue: every message type, which protocol version defines it, and where it may travel.
// (docs/PROTOCOL.md §3 "Messages".) A type that the negotiated version does not define is `unexpected_message`, never
// skipped: later versions add types (download, listing, resume) and a v1 peer must refuse them loudly.

enum MessageType: UInt8, CaseIterable, Sendable {
    // Handshake (§6)
    case clientHello = 0x01
    case serverHello = 0x02
    case serverParameters = 0x03
    case certificate = 0x04
    case certificateVerify = 0x05
    case finished = 0x06
    // Connection scope (§7, §9)
    case alert = 0x10
    case goodbye = 0x11
    case rotateRequest = 0x12
    case rotateInit = 0x13
    case rotateReply = 0x14
    case rotateCommit = 0x15
    // Upload scope (§8)
    case open = 0x20
    case accepted = 0x21
    case data = 0x22
    case close = 0x23
    case committed = 0x24
    case uploadError = 0x25
    case abort = 0x26
    // Store scope (§14), once `store` was agreed
    case get = 0x30
    case getHeader = 0x31
    case getData = 0x32
    case getEnd = 0x33
    case list = 0x34
    case listPage = 0x35
    case stat = 0x36
    case statResult = 0x37
    case delete = 0x38
    case deleted = 0x39
    case rename = 0x3A
    case verify = 0x3B
    case operationError = 0x3C
    case verified = 0x3D

    /// The first version that defines this message. All of them are v1 today.
    var introducedIn: ProtocolVersion { .v1 }

    /// Messages that may travel in a plaintext record: only the two hellos and an alert before keys exist.
    var mayBePlaintext: Bool { self == .clientHello || self == .serverHello || self == .alert }
}
