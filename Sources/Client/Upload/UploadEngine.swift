// Runs an upload plan over N concurrent sessions on one event loop: each session takes the next file from a shared
// queue when its previous one is committed, so N files are in flight at once.
import EventLoop
import Platform
import Foundation
import Protocol

struct UploadTarget: Sendable {
    let host: String
    let port: UInt16
    let configuration: ClientConfiguration
    let overwrite: Bool
}

final class UploadEngine {
    let loop: EventLoop
    let target: UploadTarget
    private var queue: ArraySlice<Int>
    private(set) var results: [FileResult]
    /// Bytes sent so far for files in progress (index → bytes), for the progress display.
    private(set) var inProgress: [Int: UInt64] = [:]
    private var sessions: [ObjectIdentifier: ClientSession] = [:]
    private var lastSessionError: String?
    let startedAt = EventLoop.hrtimeNanoseconds
    /// File blocks (two per file in flight), reused from one file to the next.
    let blocks = IOBufferPool(bufferCapacity: ClientSession.readSize, maximumKept: 128, maximumCapacity: ClientSession.readSize)
    var onProgress: (() -> Void)?
    var onFileDone: ((FileResult) -> Void)?

    init(loop: EventLoop, target: UploadTarget, files: [PlannedFile]) {
        self.loop = loop
        self.target = target
        queue = Array(files.indices)[...]
        results = files.map { FileResult(file: $0, stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0, error: nil) }
    }

    var files: [PlannedFile] { results.map(\.file) }

    /// Opens `parallel` sessions (no more than there are files) and runs the loop until every file has an outcome.
    func run(parallel: Int) {
        for _ in 0..<max(1, min(parallel, results.count)) { openSession() }
        loop.run()
    }

    private func openSession() {
        let session = ClientSession(engine: self)
        sessions[ObjectIdentifier(session)] = session
        session.start()
    }

    // MARK: Called by sessions

    func nextFile() -> Int? { queue.popFirst() }

    func progress(_ index: Int, bytes: UInt64) {
        inProgress[index] = bytes
        onProgress?()
    }

    func finished(_ index: Int, result: FileResult) {
        inProgress[index] = nil
        results[index] = result
        onFileDone?(result)
    }

    /// A session ended. If it failed before taking a file (connection or handshake), remember why: when no session is
    /// left, the files still queued fail with that reason.
    func sessionEnded(_ session: ClientSession, error: String?) {
        sessions[ObjectIdentifier(session)] = nil
        if let error { lastSessionError = error }
        if sessions.isEmpty {
            while let index = queue.popFirst() {
                results[index].error = lastSessionError ?? "no session could be established"
                onFileDone?(results[index])
            }
        }
    }
}
