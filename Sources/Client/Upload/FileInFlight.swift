// The file a client session is sending: its descriptor, the blocks read and hashed ahead of sealing, how far it has
// got, and its running SHA-256 (ClientSession drives it; the blocks come from the engine's pool and go back in deinit).
import EventLoop
import Platform
import Protocol

final class FileInFlight {
    let index: Int
    let file: PlannedFile
    let started = EventLoop.hrtimeNanoseconds
    var fd: Int32?
    /// The next file offset to read; a read (and hash) of one block is in flight while `reading`.
    var readOffset: UInt64 = 0
    var reading = false
    /// Blocks read and hashed, in file order, waiting to be sealed (for the socket or for a rotation to complete);
    /// the first `sealOffset` bytes of the first one are sealed already.
    var ready: [IOBuffer] = []
    var sealOffset = 0
    /// Blocks free for the next read: two per file, so one is read and hashed while the other is sealed. Taken
    /// from the engine's pool and given back when the file is done (deinit: no read job holds them any more).
    var spare: [IOBuffer]
    private var block: (IOBuffer, IOBuffer)
    private let blocks: IOBufferPool
    var sent: UInt64 = 0
    var rotationsAtStart: Int
    let digest = DigestContext(.sha256)
    /// Resuming (PROTOCOL.md §8.3): the part the server already holds is being hashed; nothing is sent meanwhile.
    var hashingPrefix = false
    /// The whole file's SHA-256, as Close carried it.
    var sentDigest: [UInt8]?
    var closed = false

    init(index: Int, file: PlannedFile, rotationsAtStart: Int, blocks: IOBufferPool) {
        self.blocks = blocks
        block = (blocks.take(), blocks.take())
        spare = [block.0, block.1]
        self.index = index
        self.file = file
        self.rotationsAtStart = rotationsAtStart
    }

    deinit {
        blocks.give(block.0)
        blocks.give(block.1)
    }
}
