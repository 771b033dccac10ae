// What the progress display says of a file in flight, from what the client knows of it: Open sent or not yet
// answered, bytes sealed and bytes still queued on the socket, Close sent, Committed received. A file is done — and
// only then 100 % — when the server has answered Committed: after its last byte is sealed the bytes may still sit in
// the socket's queue, and after Close the server still verifies the SHA-256 and makes the file durable (fsync,
// rename), which for a large file takes a moment; the display says "committing" meanwhile.
//
//   opening ─Accepted─► (hashing: the prefix a resuming server holds) ─► sending(n) ─Close written─► committing
//      └─exists─► hashing (the whole file, to ask whether it is stored already) ─► opening
//   any of them ─interrupted (Ctrl-C)─► stopping(n): the bytes sealed are flushed, then Goodbye

enum FileState: Equatable {
    /// Open sent; the server has not accepted the file yet.
    case opening
    /// Reading the file here while nothing moves on the connection.
    case hashing
    /// `bytes` of the file (from 0, a resumed prefix included) are written to the socket.
    case sending(bytes: UInt64)
    /// Every byte and Close are written: the server verifies and commits; its Committed ends the file.
    case committing
    /// The run was interrupted: what was sealed is flushed before the session says Goodbye.
    case stopping(bytes: UInt64)

    /// The state of a file at `stage` (FileInFlight.Stage) with `sealed` its offset sealed up to, `accepted` the
    /// offset the server took it at and `unwritten` the bytes still queued on the connection (records, so a little
    /// more than the data in them: the count shown errs low). `cut` when the session is being ended by an
    /// interruption.
    init(stage: FileInFlight.Stage, sealed: UInt64, accepted: UInt64, unwritten: UInt64, cut: Bool) {
        let written = sealed - min(unwritten, sealed - min(accepted, sealed))
        if cut {
            self = .stopping(bytes: written)
            return
        }
        switch stage {
        case .awaitingAccept: self = .opening
        case .askingStored: self = .hashing
        case .opening: self = accepted > 0 ? .hashing : .opening
        case .sending, .checkingSource: self = .sending(bytes: written)
        // In a session's hands `.closed` means Close was sent (a file given up is no longer its current one).
        case .closed: self = unwritten > 0 ? .sending(bytes: written) : .committing
        }
    }

    /// The bytes to count as moved.
    func bytes(size: UInt64) -> UInt64 {
        switch self {
        case .opening, .hashing: 0
        case .sending(let bytes), .stopping(let bytes): min(bytes, size)
        case .committing: size
        }
    }

    /// The fraction the bar shows: below 1 until Committed, which ends the file (a file done is no longer shown).
    func fraction(size: UInt64) -> Double {
        guard size > 0 else { return self == .committing ? Self.nearlyDone : 0 }
        return min(Double(bytes(size: size)) / Double(size), Self.nearlyDone)
    }

    /// The most a bar shows before Committed: "99%", never "100%".
    static let nearlyDone = 0.99

    /// The words in place of a percentage, or nil to show the percentage.
    var label: String? {
        switch self {
        case .opening: "opening"
        case .hashing: "hashing"
        case .sending: nil
        case .committing: "committing"
        case .stopping: "stopping"
        }
    }
}
