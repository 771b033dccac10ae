// Reading the source file of an upload, off the loop thread: open and fstat it, hash the prefix a resuming server
// already holds, read and hash each block in order, and fstat it again after the last read (SourceFingerprint). Each
// step reports to `then` on the loop thread: nil when the session may go on, else why the file fails. The session
// checks, before acting on a report, that the file is still its current one and not closed meanwhile.
import EventLoop
import Foundation
import Platform
import Protocol

extension FileInFlight {
    /// Opens the file and checks it is the one planned: the size declared in Open, and the fingerprint `earlier`
    /// attempts saw (nil on the first). When the server resumed at `acceptedOffset` > 0 (PROTOCOL.md §8.3: Close
    /// carries the digest of the whole file), the bytes it holds are read and hashed before anything is sent.
    func open(loop: EventLoop, earlier: SourceFingerprint?, then: @escaping (String?) -> Void) {
        stage = .opening
        // O_NONBLOCK: a FIFO put where the file was since the plan must not hold a pool thread in open(2).
        FileIO.open(loop, path: file.localPath, flags: O_RDONLY | O_NONBLOCK | O_CLOEXEC, mode: 0) { [self] result in
            switch result {
            case .success(let fd):
                self.fd = fd
                if closed { return close(loop: loop) }
                checkAndHashPrefix(loop: loop, fd: fd, earlier: earlier, then: then)
            case .failure(let error):
                then("cannot open \(file.localPath): \(error.message)")
            }
        }
    }

    private func checkAndHashPrefix(loop: EventLoop, fd: Int32, earlier: SourceFingerprint?,
                                    then: @escaping (String?) -> Void) {
        // Both blocks are spare when Accepted arrives (nothing was read yet); never send without the prefix hashed.
        guard let block = spare.popLast() else { return then("internal error: no block to hash with") }
        let (digest, end, planned, path) = (digest, acceptedOffset, file.size, file.localPath)
        jobsInFlight += 1
        ThreadPool.run(loop, { () -> Result<SourceFingerprint, SourceProblem> in
            let fingerprint: SourceFingerprint
            switch SourceFingerprint.checkOpened(fd: fd, path: path, plannedSize: planned, earlier: earlier) {
            case .failure(let problem): return .failure(problem)
            case .success(let found): fingerprint = found
            }
            if let problem = Self.hash(fd: fd, upTo: end, into: digest, with: block, path: path) { return .failure(problem) }
            return .success(fingerprint)
        }, then: { [self] result in
            block.removeAll()
            spare.append(block)
            jobDone(loop: loop)
            switch result {
            case .success(let fingerprint):
                opened = fingerprint
                if stage == .opening { stage = .sending }
                then(nil)
            case .failure(let problem):
                then(problem.message)
            }
        })
    }

    /// The SHA-256 of the whole file, read on the thread pool with a descriptor of its own (the server answered
    /// `exists`: PROTOCOL.md §8.7). Fails when the file is not the size planned.
    func hashWhole(loop: EventLoop, then: @escaping (Result<[UInt8], SourceProblem>) -> Void) {
        guard let block = spare.popLast() else { return then(.failure(SourceProblem("internal error: no block to hash with"))) }
        stage = .askingStored
        let (size, path) = (file.size, file.localPath)
        ThreadPool.run(loop, { () -> Result<[UInt8], SourceProblem> in
            let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return .failure(SourceProblem("cannot open \(path): \(SystemError.last("open").message)")) }
            defer { Glibc.close(fd) }
            let digest = DigestContext(.sha256)
            if let problem = Self.hash(fd: fd, upTo: size, into: digest, with: block, path: path) { return .failure(problem) }
            return .success(digest.snapshot())
        }, then: { [self] result in
            block.removeAll()
            spare.append(block)
            then(result)
        })
    }

    /// Reads and hashes the next block into a spare one (one read at a time, so the digest sees the file in order);
    /// `then(nil)` when it is in `ready`. Nothing happens while a read is in flight, when all is read, or with no
    /// spare block.
    func readNext(loop: EventLoop, then: @escaping (String?) -> Void) {
        guard !reading, readOffset < file.size, let fd, let block = spare.popLast() else { return }
        let count = Int(min(UInt64(ClientSession.readSize), file.size - readOffset))
        let offset = Int64(readOffset)
        let (digest, path) = (digest, file.localPath)
        reading = true
        jobsInFlight += 1
        ThreadPool.run(loop, {
            let result = BlockingFileIO.read(fd: fd, into: block, count: count, offset: offset)
            if case .success(count) = result { block.withUnsafeBytes { digest.update($0) } }
            return result
        }, then: { [self] result in
            reading = false
            jobDone(loop: loop)
            switch result {
            case .failure(let error):
                then("reading \(path): \(error.message)")
            case .success(let read) where read < count:
                then(SourceFingerprint.changedMessage(path, "it shrank below \(offset + Int64(read)) bytes"))
            case .success:
                readOffset += UInt64(count)
                ready.append(block)
                then(nil)
            }
        })
    }

    /// Reads the file's first `end` bytes into `digest`, one `block` at a time (blocking: on the thread pool). A file
    /// shorter than that changed since it was planned.
    static func hash(fd: Int32, upTo end: UInt64, into digest: DigestContext, with block: IOBuffer,
                             path: String) -> SourceProblem? {
        var offset: UInt64 = 0
        while offset < end {
            let count = Int(min(UInt64(ClientSession.readSize), end - offset))
            block.removeAll()
            switch BlockingFileIO.read(fd: fd, into: block, count: count, offset: Int64(offset)) {
            case .failure(let error): return SourceProblem("reading \(path): \(error.message)")
            case .success(let read) where read < count:
                return SourceProblem(SourceFingerprint.changedMessage(path, "it shrank below \(offset + UInt64(read)) bytes"))
            case .success:
                block.withUnsafeBytes { digest.update($0) }
                offset += UInt64(count)
            }
        }
        return nil
    }

    /// After the last read, before Close: fstat again and compare with what it was at open. `then(nil)` when nothing
    /// changed.
    func checkUnchanged(loop: EventLoop, then: @escaping (String?) -> Void) {
        guard let fd, let opened else { return then("internal error: the file was not opened") }
        stage = .checkingSource
        let path = file.localPath
        jobsInFlight += 1
        ThreadPool.run(loop, { SourceFingerprint.of(fd: fd) }, then: { [self] result in
            jobDone(loop: loop)
            switch result {
            case .failure(let error): then("cannot stat \(path): \(error.message)")
            case .success(let now): then(now.change(since: opened).map { SourceFingerprint.changedMessage(path, $0) })
            }
        })
    }

    /// Marks the upload over and closes the descriptor — once no job on the thread pool uses it any more (a number
    /// closed under a running pread could be reused by another open meanwhile). An open still in flight closes it
    /// when it completes.
    func close(loop: EventLoop) {
        stage = .closed
        guard jobsInFlight == 0, let fd else { return }
        self.fd = nil
        FileIO.close(loop, fd: fd) { _ in }
    }

    private func jobDone(loop: EventLoop) {
        jobsInFlight -= 1
        if closed { close(loop: loop) }
    }
}

/// Why the source file cannot be sent, as the user reads it.
struct SourceProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
