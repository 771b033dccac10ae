// An intent as the journal writes it (IntentJournal): little-endian, length-prefixed, checksummed, so that reading
// stops at the first record a power cut tore.
//
//   record  = length (u32: of body) ‖ crc32 (u32: of body) ‖ body
//   body    = kind (u8: 1 commit, 2 delete) ‖ id (i64) ‖ text namespace ‖ text path ‖ [commit: size (u64) ‖ sha256 (32)
//             ‖ has modified (u8) ‖ modified (i64) ‖ uploaded (i64) ‖ text uploader]
//   text    = length (u16) ‖ UTF-8
package enum IntentRecord {
    /// Larger than any record can be (three names of at most 4,096 bytes and fixed fields): a length above it is a
    /// torn or foreign file, never an allocation.
    static let maximumBody = 16 << 10

    static func encode(_ intent: Intent) -> [UInt8] {
        var body: [UInt8] = [intent.kind == .commit ? 1 : 2]
        append(UInt64(bitPattern: intent.id), to: &body)
        append(intent.namespace, to: &body)
        append(intent.path, to: &body)
        if let file = intent.file {
            append(file.size, to: &body)
            body += file.sha256
            body.append(file.modified == nil ? 0 : 1)
            append(UInt64(bitPattern: file.modified ?? 0), to: &body)
            append(UInt64(bitPattern: file.uploaded), to: &body)
            append(file.uploader, to: &body)
        }
        var record: [UInt8] = []
        record.reserveCapacity(8 + body.count)
        append32(UInt32(body.count), to: &record)
        append32(CRC32.checksum(body), to: &record)
        return record + body
    }

    /// The records of `bytes` in order, up to the first that is incomplete, torn or not one of ours.
    static func decodeAll(_ bytes: [UInt8]) -> [Intent] {
        var intents: [Intent] = []
        var offset = 0
        while bytes.count - offset >= 8 {
            let length = Int(read32(bytes, offset)), checksum = read32(bytes, offset + 4)
            guard length <= maximumBody, bytes.count - offset - 8 >= length else { break }
            let body = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            guard CRC32.checksum(body) == checksum, let intent = decodeBody(body) else { break }
            intents.append(intent)
            offset += 8 + length
        }
        return intents
    }

    private static func decodeBody(_ body: [UInt8]) -> Intent? {
        var reader = Reader(bytes: body)
        guard let kindByte = reader.byte(), let id = reader.u64(), let namespace = reader.text(), let path = reader.text() else {
            return nil
        }
        switch kindByte {
        case 1:
            guard let size = reader.u64(), let digest = reader.bytes(32), let hasModified = reader.byte(),
                  let modified = reader.u64(), let uploaded = reader.u64(), let uploader = reader.text(), reader.atEnd else {
                return nil
            }
            let file = IndexedFile(namespace: namespace, path: path, size: size, sha256: digest,
                                   modified: hasModified == 1 ? Int64(bitPattern: modified) : nil,
                                   uploaded: Int64(bitPattern: uploaded), uploader: uploader)
            return Intent(id: Int64(bitPattern: id), kind: .commit, namespace: namespace, path: path, file: file)
        case 2:
            guard reader.atEnd else { return nil }
            return Intent(id: Int64(bitPattern: id), kind: .delete, namespace: namespace, path: path, file: nil)
        default:
            return nil
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var atEnd: Bool { offset == bytes.count }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func byte() -> UInt8? { bytes(1)?[0] }

        mutating func u64() -> UInt64? {
            bytes(8).map { $0.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) } }
        }

        mutating func text() -> String? {
            guard let length = bytes(2).map({ Int($0[0]) | Int($0[1]) << 8 }), let utf8 = bytes(length) else { return nil }
            return String(validating: utf8, as: UTF8.self)
        }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Names are bounded by the store's rules (4,096 bytes at most) long before u16's 65,535.
    private static func append(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
        bytes.append(UInt8(utf8.count & 0xFF))
        bytes.append(UInt8(utf8.count >> 8))
        bytes += utf8
    }

    private static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}
