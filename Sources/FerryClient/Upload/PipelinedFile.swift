// A file sent as a pipelined upload (PROTOCOL.md §8.10): at most 1 MiB, read whole before its Open — in one thread-pool
// job: open, fstat, read, SHA-256, fstat again (SourceFingerprint), close — then sealed at once (Open, Data, Close) and
// answered in the order of the Opens. A file that cannot be read, or changes while read, fails before anything of it
// is sent: no Abort is ever needed.
//
//   reading (the job) ─► ready ─► sealing (Open, Data…; paused only while a rotation holds Data back) ─► unanswered
//      └─ fails: the file's outcome at once        │                              (Close sent) ─answer─► done
//                                                  └─ probe first (a re-run): Open with the digest and nothing else ─►
//                                                     unanswered ─Committed─► done (already stored)
//                                                                └─absent─► ready again, to be sent
//
// A session probes first while the run looks like a re-run (UploadEngine.probeFirst: the last answer said the file
// was there) and sends at once while it looks like a fresh one (the last probe said `absent`): a re-run sends nothing,
// a fresh run wastes at most its first probes' round trip.
//
// ClientPipeline holds a session's pipelined files in these stages; ClientSession+Pipelined.swift moves them.
import EventLoop
import Foundation
import Platform
import Protocol

final class PipelinedFile {
    let index: Int
    let file: PlannedFile
    let started = EventLoop.hrtimeNanoseconds
    /// The file's bytes, from the read until its Close is sealed; `pooled` when the buffer is one of the engine's blocks
    /// (given back when sealed).
    var bytes: IOBuffer?
    var pooled = false
    var digest: [UInt8] = []
    var fingerprint: SourceFingerprint?
    /// A probe was answered for it in this attempt (its answer said to send it, or that it exists).
    var probed = false
    /// The server answered that a file of its name exists: it is probed before anything else is sent.
    var existsOnServer = false
    /// A probe of it is unanswered (its answer is a probe's).
    var probing = false
    /// The engine counted this attempt (UploadEngine.opening), at its first Open on the wire.
    var counted = false
    /// Data bytes sent in this attempt.
    var dataSent: UInt64 = 0
    /// The session ended while its read ran: the read's result is dropped (the file went back to the engine).
    var abandoned = false
    var rotationsAtStart = 0

    init(index: Int, file: PlannedFile) {
        self.index = index
        self.file = file
    }

    struct Read: Sendable {
        let bytes: IOBuffer
        let digest: [UInt8]
        let fingerprint: SourceFingerprint
    }

    /// The job: the whole file, its SHA-256 and its fingerprint, checked against the plan's size and `earlier`
    /// attempts' fingerprint, and unchanged from the first fstat to the last. Blocking: on the thread pool.
    /// `keepingBytes` false (a dry run's probe needs only the digest): any size, hashed through `buffer` (a pooled
    /// block of `ClientSession.readSize`) a block at a time, nothing kept.
    static func read(path: String, plannedSize: UInt64, earlier: SourceFingerprint?, into buffer: IOBuffer,
                     keepingBytes: Bool = true) -> Result<Read, SourceProblem> {
        // O_NONBLOCK: a FIFO put where the file was since the plan must not hold a pool thread in open(2); a regular
        // file reads the same with it.
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SourceProblem("cannot open \(path): \(SystemError.last("open").message)")) }
        defer { Glibc.close(fd) }
        let opened: SourceFingerprint
        switch SourceFingerprint.checkOpened(fd: fd, path: path, plannedSize: plannedSize, earlier: earlier) {
        case .failure(let problem): return .failure(problem)
        case .success(let found): opened = found
        }
        let digest = DigestContext(.sha256)
        buffer.removeAll()
        if !keepingBytes {
            if let problem = FileInFlight.hash(fd: fd, upTo: plannedSize, into: digest, with: buffer, path: path) {
                return .failure(problem)
            }
            buffer.removeAll()
        } else if plannedSize > 0 {
            let count = Int(plannedSize)
            switch BlockingFileIO.read(fd: fd, into: buffer, count: count, offset: 0) {
            case .failure(let error): return .failure(SourceProblem("reading \(path): \(error.message)"))
            case .success(let read) where read < count:
                return .failure(SourceProblem(SourceFingerprint.changedMessage(path, "it shrank below \(read) bytes")))
            case .success: break
            }
        }
        switch SourceFingerprint.of(fd: fd) {
        case .failure(let error): return .failure(SourceProblem("cannot stat \(path): \(error.message)"))
        case .success(let now):
            if let change = now.change(since: opened) {
                return .failure(SourceProblem(SourceFingerprint.changedMessage(path, change)))
            }
        }
        if keepingBytes { buffer.withUnsafeBytes { digest.update($0) } }
        return .success(Read(bytes: buffer, digest: digest.snapshot(), fingerprint: opened))
    }
}

/// A session's pipelined files, by stage, and its bounds: how many files, and how many of their bytes, it holds at
/// once (read, waiting, or sent and not answered). The server's own bound is enforced by TCP (PROTOCOL.md §8.10);
/// these keep one session from taking all the files of a run while the others wait, and the client's memory flat.
struct ClientPipeline {
    static let maximumFiles = 32
    static let maximumBytes: UInt64 = 4 << 20

    var reading: [PipelinedFile] = []
    var ready: [PipelinedFile] = []
    /// The file whose Data is being sealed, and how far (only a rotation holding Data back leaves one half-sealed).
    var sealing: (file: PipelinedFile, offset: Int)?
    /// Sent (Close included), oldest first: the answers come in this order.
    private(set) var unanswered = FIFOQueue<PipelinedFile>()
    /// A file too large to pipeline, taken from the queue: it goes as a v1 upload once nothing is unanswered.
    var heldForV1: Int?
    private(set) var heldBytes: UInt64 = 0

    var isEmpty: Bool { reading.isEmpty && ready.isEmpty && sealing == nil && !hasUnanswered }
    var hasUnanswered: Bool { !unanswered.isEmpty }
    var count: Int { reading.count + ready.count + (sealing == nil ? 0 : 1) + unanswered.count }
    var unansweredFiles: ArraySlice<PipelinedFile> { unanswered.all }

    /// Room for one more file of `size` bytes (one is always allowed when the pipeline is empty).
    func hasRoom(for size: UInt64) -> Bool {
        isEmpty || (count < Self.maximumFiles && heldBytes + size <= Self.maximumBytes)
    }

    mutating func startReading(_ file: PipelinedFile) {
        heldBytes += file.file.size
        reading.append(file)
    }

    /// The file's read ended: it leaves `reading` (true when it was there).
    mutating func readEnded(_ file: PipelinedFile) -> Bool {
        guard let position = reading.firstIndex(where: { $0 === file }) else { return false }
        reading.remove(at: position)
        return true
    }

    /// A file leaves the pipeline (failed before it was sent, or answered).
    mutating func release(_ file: PipelinedFile) { heldBytes -= min(heldBytes, file.file.size) }

    mutating func sent(_ file: PipelinedFile) { unanswered.append(file) }

    /// An answered file goes out again (sent after a probe, or probed after `exists`): first in line.
    mutating func requeue(_ file: PipelinedFile) {
        heldBytes += file.file.size
        ready.insert(file, at: 0)
    }

    mutating func popOldest() -> PipelinedFile? {
        guard let oldest = unanswered.popFirst() else { return nil }
        release(oldest)
        return oldest
    }

    /// The files read or being read, not sent: they leave the pipeline (the run is stopping).
    mutating func takeUnsent() -> [Int] {
        for file in reading + ready {
            file.abandoned = true
            release(file)
        }
        let indices = ((reading + ready).map(\.index) + (heldForV1.map { [$0] } ?? [])).sorted()
        reading = []
        ready = []
        heldForV1 = nil
        return indices
    }

    /// Everything the pipeline holds, emptied (the session ended): the files not opened on the wire (the one held
    /// for v1 included, by index) and those whose Open went.
    mutating func takeAll() -> (notSent: [Int], sent: [PipelinedFile]) {
        for file in reading { file.abandoned = true }
        var notSent = (reading + ready).map(\.index) + (heldForV1.map { [$0] } ?? [])
        var sent = Array(unansweredFiles)
        if let sealing { sent.append(sealing.file) }
        notSent.sort()
        sent.sort { $0.index < $1.index }
        self = ClientPipeline()
        return (notSent, sent)
    }
}
