// Big-endian encoding and decoding of message bodies (docs/PROTOCOL.md §2 "Conventions").
//
// A message body is always complete when it is decoded (the record layer hands over whole records), so running out of
// bytes here is a malformed message and throws; the "need more bytes" case exists only in the record layer
// (RecordLayer.nextMessage returns nil until a whole record is buffered).

/// Appends big-endian integers and length-prefixed vectors to a byte array.
struct WireEncoder {
    var bytes: [UInt8]

    init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    /// A vector with a one-byte length prefix. The caller guarantees the bound (our own data): a violation is a bug.
    mutating func vector8<C: Collection>(_ data: C) where C.Element == UInt8 {
        precondition(data.count <= Int(UInt8.max), "vector8 of \(data.count) bytes")
        u8(UInt8(data.count))
        raw(data)
    }

    mutating func vector16<C: Collection>(_ data: C) where C.Element == UInt8 {
        precondition(data.count <= Int(UInt16.max), "vector16 of \(data.count) bytes")
        u16(UInt16(data.count))
        raw(data)
    }

    /// A list of 16-bit code points with a one-byte count prefix.
    mutating func codePoints(_ values: [UInt16]) {
        precondition(values.count <= Int(UInt8.max), "code point list of \(values.count)")
        u8(UInt8(values.count))
        for value in values { u16(value) }
    }

    /// UTF-8 text with a 16-bit length prefix.
    mutating func text(_ string: String) { vector16(Array(string.utf8)) }
}

/// The longest prefix of `text` that is at most `maxBytes` of UTF-8 and ends on a character boundary (so the receiver's
/// length check holds and no replacement character appears).
func truncatedUTF8(_ text: String, maxBytes: Int) -> String {
    guard text.utf8.count > maxBytes else { return text }
    var result = ""
    var used = 0
    for character in text {
        let size = character.utf8.count
        guard used + size <= maxBytes else { break }
        result.append(character)
        used += size
    }
    return result
}

/// Reads a complete message body. Every read is bounds-checked; every variable length is checked against the bound the
/// caller names *before* any bytes are copied.
struct WireDecoder {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    mutating func u8() throws(ProtocolError) -> UInt8 {
        guard remaining >= 1 else { throw .decode("truncated u8") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func u16() throws(ProtocolError) -> UInt16 {
        guard remaining >= 2 else { throw .decode("truncated u16") }
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func u32() throws(ProtocolError) -> UInt32 {
        guard remaining >= 4 else { throw .decode("truncated u32") }
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 8 | UInt32(bytes[index + offset]) }
        index += 4
        return value
    }

    mutating func u64() throws(ProtocolError) -> UInt64 {
        guard remaining >= 8 else { throw .decode("truncated u64") }
        var value: UInt64 = 0
        for offset in 0..<8 { value = value << 8 | UInt64(bytes[index + offset]) }
        index += 8
        return value
    }

    /// Exactly `count` bytes.
    mutating func raw(_ count: Int) throws(ProtocolError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .decode("truncated field of \(count) bytes") }
        defer { index += count }
        return Array(bytes[index..<index + count])
    }

    /// Everything that is left.
    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }

    mutating func vector8(min: Int = 0, max: Int) throws(ProtocolError) -> [UInt8] {
        let length = Int(try u8())
        guard length >= min, length <= max else { throw .decode("vector of \(length) bytes outside \(min)...\(max)") }
        return try raw(length)
    }

    mutating func vector16(min: Int = 0, max: Int) throws(ProtocolError) -> [UInt8] {
        let length = Int(try u16())
        guard length >= min, length <= max else { throw .decode("vector of \(length) bytes outside \(min)...\(max)") }
        return try raw(length)
    }

    /// A one-byte count of 16-bit code points, 1...max of them.
    mutating func codePoints(max: Int) throws(ProtocolError) -> [UInt16] {
        let count = Int(try u8())
        guard count >= 1, count <= max else { throw .decode("list of \(count) code points outside 1...\(max)") }
        guard remaining >= 2 * count else { throw .decode("truncated code point list") }
        var values: [UInt16] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try u16()) }
        return values
    }

    /// UTF-8 text with a 16-bit length, at most `maxBytes`; invalid UTF-8 is an error, not replaced.
    mutating func text(maxBytes: Int) throws(ProtocolError) -> String {
        let utf8 = try vector16(max: maxBytes)
        guard let string = String(validating: utf8, as: UTF8.self) else { throw .decode("text is not valid UTF-8") }
        return string
    }

    /// A body must be consumed exactly: trailing bytes are an error (as WireGuard's exact-length unmarshal).
    func finish() throws(ProtocolError) {
        guard remaining == 0 else { throw .decode("\(remaining) trailing bytes") }
    }
}
