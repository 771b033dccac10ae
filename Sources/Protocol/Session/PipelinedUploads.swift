// The pipelined uploads of one session (docs/PROTOCOL.md §8.10), as data: which are unanswered, in the order of their
// Opens, and which answers may go out. The server's application may answer them in any order (their stores run side
// by side); the wire gets the answers in the order of the Opens, each once its upload's Close or Abort arrived.
//
//   Open ──► receiving ──Close / Abort──► closed ──(head of the queue, answer known)──► sent and dropped
//                 └──answer() early (a refusal at Open): held until Close or Abort, then as above

/// What a pipelined upload ends in: the only answer it gets.
public enum PipelinedAnswer: Equatable, Sendable {
    case committed(UploadReceipt)
    case failed(UploadFailure)
}

/// The server's side: unanswered pipelined uploads by id (the session's count of Opens), oldest first.
struct PipelinedQueue {
    struct Entry {
        let id: UInt64
        let request: UploadRequest
        /// Its Close or Abort arrived: no more Data of it follows.
        var closed = false
        var answer: PipelinedAnswer?
    }

    private(set) var entries = FIFOQueue<Entry>()

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func append(id: UInt64, _ request: UploadRequest) { entries.append(Entry(id: id, request: request)) }

    func request(_ id: UInt64) -> UploadRequest? { offset(of: id).map { entries[offset: $0].request } }

    mutating func close(_ id: UInt64) {
        if let offset = offset(of: id) { entries[offset: offset].closed = true }
    }

    /// Records the answer of `id`; false when it has one already, or is not unanswered (answered and sent).
    mutating func answer(_ id: UInt64, _ answer: PipelinedAnswer) -> Bool {
        guard let offset = offset(of: id), entries[offset: offset].answer == nil else { return false }
        entries[offset: offset].answer = answer
        return true
    }

    /// Sets the answer of `id` whatever it was (the client's Abort decides it).
    mutating func replaceAnswer(_ id: UInt64, _ answer: PipelinedAnswer) {
        if let offset = offset(of: id) { entries[offset: offset].answer = answer }
    }

    /// The answers that may go out now, in order: from the oldest unanswered on, while each is closed and answered.
    mutating func takeReady() -> [PipelinedAnswer] {
        var ready: [PipelinedAnswer] = []
        while let oldest = entries.first, oldest.closed, let answer = oldest.answer {
            ready.append(answer)
            _ = entries.popFirst()
        }
        return ready
    }

    private func offset(of id: UInt64) -> Int? {
        // Ids grow with the Opens: the entry of `id` is at its distance from the oldest's.
        guard let oldest = entries.first?.id, id >= oldest, id - oldest < UInt64(entries.count) else { return nil }
        let offset = Int(id - oldest)
        return entries[offset: offset].id == id ? offset : nil
    }
}
