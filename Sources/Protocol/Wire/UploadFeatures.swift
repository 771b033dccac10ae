// Upload features a session may use beyond v1's (docs/PROTOCOL.md §8.9): offered in the ClientHello extension
// `upload_features`, agreed in ServerParameters' extension of the same type, used only when both said so. A v1 peer
// ignores the extension (§13) and answers none, so the other side falls back to v1's messages unchanged.
//
//   extension upload_features (type 0x0001):  uint32 features   // big-endian bit set; unknown bits are ignored
//   bit 0  file_times   Close carries the file's modification time and executable bit (FileTimes), applied at commit
//   bit 1  pipelining   Open may be `pipelined` (§8.10): the whole file follows at once, no Accepted, and the next
//                       upload may start before this one is answered; the answers come in the order of the Opens
//   bit 2  store        the store's operations (§14): Stat and List, answered StatResult, ListPage or OperationError

public struct UploadFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let fileTimes = UploadFeatures(rawValue: 1 << 0)
    public static let pipelining = UploadFeatures(rawValue: 1 << 1)
    public static let store = UploadFeatures(rawValue: 1 << 2)
    /// Every feature this implementation knows.
    public static let known: UploadFeatures = [.fileTimes, .pipelining, .store]

    static let extensionType: UInt16 = 0x0001

    var extensionEntry: ExtensionEntry {
        var encoder = WireEncoder()
        encoder.u32(rawValue)
        return ExtensionEntry(type: Self.extensionType, data: encoder.bytes)
    }

    /// The features in `extensions` (none without the extension); bits this implementation does not know are dropped.
    static func from(_ extensions: [ExtensionEntry]) throws(ProtocolError) -> UploadFeatures {
        guard let entry = extensions.first(where: { $0.type == extensionType }) else { return [] }
        var decoder = WireDecoder(entry.data[...])
        let bits = try decoder.u32()
        try decoder.finish()
        return UploadFeatures(rawValue: bits).intersection(.known)
    }
}

/// What Close carries of a file when `file_times` was agreed: its modification time and whether it is executable.
public struct FileTimes: Equatable, Sendable {
    /// Seconds since 1970-01-01 UTC (negative before).
    public var modificationSeconds: Int64
    /// 0...999,999,999.
    public var modificationNanoseconds: UInt32
    /// Any execute bit set on the source: the stored file gets them too (0750 instead of 0640).
    public var executable: Bool

    public init(modificationSeconds: Int64, modificationNanoseconds: UInt32, executable: Bool) {
        self.modificationSeconds = modificationSeconds
        self.modificationNanoseconds = modificationNanoseconds
        self.executable = executable
    }

    /// int64 seconds ‖ uint32 nanoseconds ‖ uint8 flags (bit 0 executable).
    static let encodedLength = 8 + 4 + 1

    func encode(into encoder: inout WireEncoder) {
        encoder.u64(UInt64(bitPattern: modificationSeconds))
        encoder.u32(modificationNanoseconds)
        encoder.u8(executable ? 0x01 : 0x00)
    }

    static func decode(_ decoder: inout WireDecoder) throws(ProtocolError) -> FileTimes {
        let seconds = Int64(bitPattern: try decoder.u64())
        let nanoseconds = try decoder.u32()
        guard nanoseconds < 1_000_000_000 else { throw .illegal("modification time with \(nanoseconds) nanoseconds") }
        let flags = try decoder.u8()
        guard flags & ~0x01 == 0 else { throw .decode("unknown file flags 0x\(String(flags, radix: 16))") }
        return FileTimes(modificationSeconds: seconds, modificationNanoseconds: nanoseconds, executable: flags & 0x01 != 0)
    }
}
