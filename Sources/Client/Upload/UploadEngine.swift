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
    let timeouts: ClientTimeouts
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
    private var lastSessionKind = FailureKind.other
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

    /// The server's addresses, in the order to try them (AddressResolver: IPv6 first where the system prefers it).
    private(set) var addresses: [ResolvedAddress] = []

    /// Resolves the server's name, then opens `parallel` sessions (no more than there are files), and runs the loop
    /// until every file has an outcome. A name that does not resolve fails every file with that reason.
    func run(parallel: Int) {
        AddressResolver.resolve(loop: loop, host: target.host, port: target.port) { [self] result in
            switch result {
            case .success(let resolved):
                addresses = resolved
                for _ in 0..<max(1, min(parallel, results.count)) { openSession() }
            case .failure(let error):
                lastSessionError = Self.resolutionFailure(target.host, error)
                lastSessionKind = .unreachable
                failQueued()
            }
        }
        loop.run()
    }

    /// What a user reads when the server's name does not resolve.
    static func resolutionFailure(_ host: String, _ error: UVError) -> String {
        switch error.name {
        case "EAI_NONAME", "EAI_NODATA":
            "cannot resolve the server name \"\(host)\": no such host (check the spelling in --server or `server`)"
        case "EAI_AGAIN":
            "cannot resolve the server name \"\(host)\": the name server did not answer (try again, or check the network)"
        default:
            "cannot resolve the server name \"\(host)\": \(error.message) (\(error.name))"
        }
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
    func sessionEnded(_ session: ClientSession, error: String?, kind: FailureKind = .other) {
        sessions[ObjectIdentifier(session)] = nil
        if let error { (lastSessionError, lastSessionKind) = (error, kind) }
        if sessions.isEmpty { failQueued() }
    }

    /// No session is left: the files still queued fail with the last session's reason.
    private func failQueued() {
        while let index = queue.popFirst() {
            results[index].error = lastSessionError ?? "no session could be established"
            results[index].failure = lastSessionError == nil ? .other : lastSessionKind
            onFileDone?(results[index])
        }
    }
}
