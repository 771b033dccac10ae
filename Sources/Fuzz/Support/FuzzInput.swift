// Reads a fuzz input as a stream of small decisions. Running out of bytes is not an error: every read then returns
// zeros (or fewer bytes), and the harness stops at `isExhausted`. So every input is valid, and a short one is a
// short session.

#if canImport(Glibc)
import Glibc
#endif

public struct FuzzInput {
    private let bytes: [UInt8]
    private var index = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isExhausted: Bool { index >= bytes.count }
    public var remaining: Int { bytes.count - index }

    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    /// A flag: the low bit of the next byte.
    public mutating func flag() -> Bool { byte() & 1 == 1 }

    /// Up to `count` bytes (fewer at the end of the input).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + max(0, count))
        defer { index = max(index, end) }
        return index < end ? Array(bytes[index..<end]) : []
    }

    /// Exactly `count` bytes: what the input has, then a filler byte, so a large body needs no large input.
    public mutating func paddedBytes(_ count: Int) -> [UInt8] {
        var result = bytes(count)
        let missing = count - result.count
        guard missing > 0 else { return result }
        // One memset: a generic append runs per byte in a debug build, where the fuzzers run.
        result.append(contentsOf: [UInt8](unsafeUninitializedCapacity: missing) { buffer, initialized in
            if let base = buffer.baseAddress { _ = memset(base, 0xA5, missing) }
            initialized = missing
        })
        return result
    }

    /// Everything that is left.
    public mutating func rest() -> [UInt8] { bytes(remaining) }
}

/// A copy of the bytes libFuzzer hands to LLVMFuzzerTestOneInput.
public func fuzzInputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
}

/// Writes inputs in the format `FuzzInput` reads (the seed corpus generator).
public struct FuzzInputWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }
    public mutating func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(truncatingIfNeeded: value)) }
    public mutating func raw(_ data: [UInt8]) { bytes += data }
}
