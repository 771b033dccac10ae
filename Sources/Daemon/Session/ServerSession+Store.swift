// The store's requests other than Get (docs/PROTOCOL.md §14): each checked by StoreRequestHandler, then answered by a
// job on the thread pool — one for Stat, List, Delete and Rename; a series of steps for Verify, each counted as
// progress so that a large file's re-read is not an idle session — and the answer passed to the connection.
//
//   storeRequested ──refused──► OperationError at once
//         └──► lookUp / change (one job) ──► storeAnswered ──► the answer
//         └──► verifyStep … (one job per step) ──► verifyStepped(done / refused) ──► storeAnswered
import Logging
import Protocol
import Store

extension ServerSession {
    func requestStore(_ request: StoreRequest, identity: String, now: Now) -> [SessionAction] {
        switch storeRequests.requested(request, identity: identity, environment: upload.environment, logger: logger) {
        case .success(.lookUp(let lookup)): return [.lookUp(lookup)]
        case .success(.change(let change)): return [.change(change)]
        case .success(.verify(let verifier, let request)): return [.verifyStep(verifier, request)]
        case .failure(let failure):
            metrics.storeRequest(request, .failed(failure))
            connection.answerStore(.failed(failure), now: now)
            return []
        }
    }

    /// A store request's job ended (`SessionAction.lookUp`, `.change`, or Verify's last step): its answer to the client.
    func storeAnswered(_ request: StoreRequest, _ outcome: StoreOutcome, now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        progress &+= 1
        let answer = storeRequests.answered(request, outcome, logger: logger)
        metrics.storeRequest(request, answer)
        connection.answerStore(answer, now: now)
        return flush() + drainedNow(now)
    }

    /// One step of a Verify's re-read ended: the next, or the answer.
    func verifyStepped(_ verifier: StoredFileVerifier, _ request: StoreRequest, _ step: StoredFileVerifier.Step,
                       now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        switch step {
        case .reading:
            progress &+= 1
            return [.verifyStep(verifier, request)]
        case .done(let result):
            if result.read != result.recorded {
                // The client hears it as a mismatch; the operator must hear that a stored copy no longer holds.
                logger.warning("stored file differs from its recorded SHA-256", metadata: [
                    "path": "\(verifier.path.identity)/\(verifier.path.relativePath)", "size": "\(result.size)",
                    "recorded": "\(hex(result.recorded))", "read": "\(hex(result.read))",
                ])
            }
            return storeAnswered(request, StoreOutcome(answer: .verified(result), detail: nil), now: now)
        case .refused(let failure):
            return storeAnswered(request, StoreOutcome(answer: .failed(failure.failure), detail: failure.detail), now: now)
        }
    }
}
