// A client session when the run stops (Ctrl-C, SIGTERM: UploadEngine.stop), and what the progress display reads of
// it between redraws.
extension ClientSession {
    /// The run is stopping (UploadEngine.stop). A file whose Close is sent is left to be committed: Committed is
    /// moments away and the server completes a running commit whether we wait or not, so waiting is what makes the
    /// report true (`startNextFile` then finds nothing more and says Goodbye). Any other file is cut: the Data
    /// sealed so far goes out, then Goodbye, and the connection closes once they are written — the server keeps
    /// the partial. A session still connecting or in its handshake just ends.
    func interrupt() {
        guard !endedReported, !closing else { return }
        guard established else { return end(nil) }
        if let current, current.stage == .closed { return }
        // Pipelined files not sent yet go back (the engine ends them as interrupted, never started); those sent are
        // left to be answered, like a v1 file whose Close is sent, unless one is half-sealed.
        releaseUnsentBuffers(includingSealing: false)
        for index in pipeline.takeUnsent() { engine.giveBack(index) }
        if current == nil, pipeline.sealing == nil, pipeline.hasUnanswered { return }
        cutting = current != nil || pipeline.sealing != nil
        sayGoodbye()
    }

    /// The files this session holds and what the display says of each; empty between files.
    var fileStates: [(index: Int, state: FileState)] {
        guard let current else { return pipelineStates }
        return [(current.index, FileState(stage: current.stage, sealed: current.sent, accepted: current.acceptedOffset,
                                          unwritten: UInt64(tcp?.pendingWriteBytes ?? 0), cut: cutting))]
    }
}
