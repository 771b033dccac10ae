// `ferry upload --dry-run` with a server: the session runs as for an upload, but every file — whatever its size — is
// only hashed (PipelinedFile.read without keeping its bytes) and probed (PROTOCOL.md §8.10: an Open with the digest and
// no Data, which the server answers without side effects), and each answer becomes what the upload would do:
//
//   Committed                   already stored (the server holds this very file)
//   absent                      would send
//   exists, with --overwrite    would replace (if the server allows overwriting)
//   exists, --ignore-existing   skipped, as the upload would
//   any other UploadError       would fail, with the upload's message (a name refused, a directory not writable, …)
//
// A server without pipelining has no probes, and any Open it answers has side effects: its files go unasked.
import Protocol

extension ClientSession {
    /// A dry run's probe answered: what the upload would do with the file.
    func dryRunAnswered(_ file: PipelinedFile, _ answer: PipelinedAnswer) {
        var result = FileResult(file: file.file, stored: nil, bytes: 0, sha256: hex(file.digest), seconds: 0, rotations: 0,
                                error: nil)
        switch answer {
        case .committed(let receipt):
            result.stored = receipt.storedName
            result.dryRun = .alreadyStored
        case .failed(let failure):
            switch failure.code {
            case .absent:
                (result.stored, result.bytes, result.dryRun) = (file.file.remotePath, file.file.size, .wouldSend)
            case .exists where engine.target.overwrite:
                (result.stored, result.bytes, result.dryRun) = (file.file.remotePath, file.file.size, .wouldReplace)
            case .exists where engine.target.ignoreExisting:
                result.skipped = "it exists on the server with other content (--ignore-existing)"
            case .busy:
                answeredBusy.append(file)
                return endPolitely(SessionFailure(.busy, "server busy: \(failure.message)"))
            default:
                result.error = UploadErrorWording.message(failure, path: file.file.remotePath,
                                                          overwriteAsked: engine.target.overwrite)
            }
        }
        engine.finished(file.index, result: result, sent: 0, slot: slot)
    }

    /// No probes on this connection: every file left is reported as sent-if-not-there, unasked.
    func finishDryRunUnasked() {
        while let index = engine.nextFile() {
            let file = engine.files[index]
            var result = FileResult(file: file, stored: file.remotePath, bytes: file.size, sha256: nil, seconds: 0,
                                    rotations: 0, error: nil)
            result.dryRun = .notAsked
            engine.opening(index)
            engine.finished(index, result: result, sent: 0, slot: slot)
        }
        sayGoodbye()
    }
}
