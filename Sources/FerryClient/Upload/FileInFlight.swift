// The file a client session is sending: its descriptor, the blocks read and hashed ahead of sealing, how far it has
// got, and its running SHA-256 (ClientSession drives it; the blocks come from the engine's pool and go back in deinit).
// Reading the source — open, fstat, the prefix of a resumed upload, each block, the check before Close — is in
// FileInFlight+Source.swift.
//
//   awaitingAccept ─Accepted─► opening ─► sending ─(all sealed)─► checkingSource ─(unchanged)─► closed (Close sent)
//        │ └─exists─► askingStored (the whole file hashed, Open sent again with its digest) ─► awaitingAccept
//        any stage ─(the file fails or the session ends)─► closed
import EventLoop
import Platform
import Protocol

final class FileInFlight {
    enum Stage: Equatable {
        /// Open sent, Accepted not yet received.
        case awaitingAccept
        /// The server answered `exists`: the whole file is hashed, to ask again with its digest whether the server
        /// holds this very file (PROTOCOL.md §8.7).
        case askingStored
        /// Accepted: the file is being opened and checked and, when the server resumed, its prefix hashed.
        case opening
        /// Reading, hashing and sealing.
        case sending
        /// Every byte is sealed; the file is fstat'd again before Close.
        case checkingSource
        /// Close sent (`sentDigest`), or the upload given up: nothing more is read or sent.
        case closed
    }

    let index: Int
    let file: PlannedFile
    let started = EventLoop.hrtimeNanoseconds
    var stage = Stage.awaitingAccept
    var fd: Int32?
    /// The offset the server accepted the file at (PROTOCOL.md §8.3: > 0 when it kept a partial).
    var acceptedOffset: UInt64 = 0
    /// What fstat said when the file was opened: compared before Close (SourceFingerprint).
    var opened: SourceFingerprint?
    /// The next file offset to read; a read (and hash) of one block is in flight while `reading`.
    var readOffset: UInt64 = 0
    var reading = false
    /// Jobs on the thread pool that use `fd` (it is closed only when none is left).
    var jobsInFlight = 0
    /// Blocks read and hashed, in file order, waiting to be sealed (for the socket or for a rotation to complete);
    /// the first `sealOffset` bytes of the first one are sealed already.
    var ready: [IOBuffer] = []
    var sealOffset = 0
    /// Blocks free for the next read: two per file, so one is read and hashed while the other is sealed. Taken
    /// from the engine's pool and given back when the file is done (deinit: no read job holds them any more).
    var spare: [IOBuffer]
    private var block: (IOBuffer, IOBuffer)
    private let blocks: IOBufferPool
    /// The file offset sealed up to (from `acceptedOffset`).
    var sent: UInt64 = 0
    var rotationsAtStart: Int
    let digest = DigestContext(.sha256)
    /// The whole file's SHA-256, as Close carried it.
    var sentDigest: [UInt8]?
    /// Open was sent again with the file's digest after `exists` (at most once per attempt).
    var askedWhetherStored = false

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

    var closed: Bool { stage == .closed }

    /// Hashing locally while nothing moves on the connection: the part a resuming server holds (PROTOCOL.md §8.3), or
    /// the whole file to ask whether it is stored already (§8.7). The progress timeout waits meanwhile.
    var hashingLocally: Bool { stage == .opening || stage == .askingStored }

    /// Data bytes sent in this attempt.
    var sentThisAttempt: UInt64 { sent - min(acceptedOffset, sent) }
}
