// What every uploaded file holds: the first `size` bytes of one pseudo-random 1 MiB block repeated. Made once per run,
// hashed once per run: no file is read from disk and no digest computed per upload, so the client's cost per byte is
// sealing alone and the figures describe the daemon. Deterministic (SplitMix64 from a fixed seed), so two runs upload
// the same bytes; incompressible enough that no layer can shortcut it. A mixed run's gets read such files back.
import Protocol

final class Payload: Sendable {
    static let blockSize = 1 << 20
    static let seed: UInt64 = 0x4665_7272_794C_5431  // "FerryLT1"

    /// The repeated block.
    let block: [UInt8]
    /// Bytes per file.
    let size: UInt64
    /// SHA-256 of those `size` bytes: what Close carries and the receipt must echo.
    let digest: [UInt8]

    init(size: UInt64) {
        block = Self.makeBlock()
        self.size = size
        let context = DigestContext(.sha256)
        var remaining = size
        block.withUnsafeBytes { bytes in
            while remaining > 0 {
                let count = Int(min(remaining, UInt64(bytes.count)))
                context.update(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                remaining -= UInt64(count)
            }
        }
        digest = context.snapshot()
    }

    /// The next chunk of the file from `offset`, at most `limit` bytes, never crossing the end of the block (so it is
    /// one contiguous slice) nor the end of the file.
    func chunk(at offset: UInt64, limit: Int) -> Range<Int> {
        let start = Int(offset % UInt64(block.count))
        let count = min(limit, block.count - start, Int(min(size - offset, UInt64(Int.max))))
        return start..<(start + count)
    }

    static func makeBlock() -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var block = [UInt8](repeating: 0, count: blockSize)
        block.withUnsafeMutableBytes { raw in
            for index in stride(from: 0, to: blockSize, by: 8) {
                raw.storeBytes(of: generator.next().littleEndian, toByteOffset: index, as: UInt64.self)
            }
        }
        return block
    }
}
