// `ferry verify`'s one session (PROTOCOL.md §14): what the server stores under REMOTE (Stat, then List -R page by page
// for a directory), compared with the local copies' SHA-256; then, unless --quick, one Verify per file stored on both
// sides, for which the server re-reads its copy. Each file's verdict goes out as soon as it is known.
//
//   Stat REMOTE ─┬─ a file ─────────────────────┐
//                ├─ a directory ─► List -R … ───┤─► (--quick: verdicts from the recorded digests)
//                └─ not stored: all missing      └─► Verify each file on both sides ─► verdicts
import Protocol

final class VerifyConversation: StoreConversation {
    private enum Phase {
        case stat
        case listing(cursor: String)
        case verifying(ArraySlice<LocalCopy>)
        case done
    }

    private let root: String
    private let copies: [LocalCopy]
    private let quick: Bool
    private let verdict: (VerifyVerdict) -> Void
    private var phase = Phase.stat
    /// What the server's index records below `root`: path → SHA-256 and size.
    private var stored: [String: (sha256: [UInt8], size: UInt64)] = [:]

    init(root: String, copies: [LocalCopy], quick: Bool, verdict: @escaping (VerifyVerdict) -> Void) {
        self.root = root
        self.copies = copies
        self.quick = quick
        self.verdict = verdict
    }

    /// A Verify's file, which the server reads whole before it answers.
    var serverReadsBeforeAnswering: UInt64? {
        guard case .verifying(let queue) = phase, let copy = queue.first else { return nil }
        return stored[copy.remote]?.size ?? 0
    }

    var nextRequest: StoreRequest? {
        switch phase {
        case .stat: .stat(StatRequest(path: root))
        case .listing(let cursor): .list(ListRequest(directory: root.isEmpty ? "" : root + "/", recursive: true, cursor: cursor))
        case .verifying(let queue): queue.first.map { .verify(VerifyRequest(path: $0.remote)) }
        case .done: nil
        }
    }

    func answered(_ answer: StoreAnswer) {
        switch (phase, answer) {
        case (.stat, .stat(.file(let entry))):
            stored[entry.path] = (entry.sha256, entry.size)
            compare()
        case (.stat, .stat(.directory)):
            phase = .listing(cursor: "")
        case (.stat, .failed(let failure)) where failure.code == .notFound:
            compare()
        case (.stat, .failed(let failure)), (.listing, .failed(let failure)):
            for copy in copies { verdict(VerifyVerdict(remote: copy.remote, local: copy.local, status: .failed, error: failure.message)) }
            phase = .done
        case (.listing, .list(let page)):
            for case .file(let entry) in page.entries { stored[entry.path] = (entry.sha256, entry.size) }
            if page.nextCursor.isEmpty { compare() } else { phase = .listing(cursor: page.nextCursor) }
        case (.verifying(var queue), _):
            guard let copy = queue.popFirst() else { return phase = .done }
            verified(copy, answer)
            phase = queue.isEmpty ? .done : .verifying(queue)
        default:
            phase = .done  // never: the protocol checks each answer against its request
        }
    }

    /// The listing is complete: the verdicts it decides alone, and the files to Verify.
    private func compare() {
        var toVerify: [LocalCopy] = []
        var named = Set<String>()
        for copy in copies {
            named.insert(copy.remote)
            var result = VerifyVerdict(remote: copy.remote, local: copy.local, status: .match)
            switch copy.sha256 {
            case .failure(let problem):
                result.status = .failed
                result.error = problem.message
            case .success(let digest):
                result.localSHA256 = digest
                guard let recorded = stored[copy.remote]?.sha256 else {
                    result.status = .missingOnServer
                    break
                }
                result.recordedSHA256 = recorded
                if !quick {
                    toVerify.append(copy)
                    continue
                }
                result.status = recorded == digest ? .match : .differs
            }
            verdict(result)
        }
        for (path, recorded) in stored.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) where !named.contains(path) {
            verdict(VerifyVerdict(remote: path, local: nil, status: .onlyOnServer, recordedSHA256: recorded.sha256))
        }
        phase = toVerify.isEmpty ? .done : .verifying(toVerify[...])
    }

    private func verified(_ copy: LocalCopy, _ answer: StoreAnswer) {
        var result = VerifyVerdict(remote: copy.remote, local: copy.local, status: .match,
                                   localSHA256: try? copy.sha256.get(), recordedSHA256: stored[copy.remote]?.sha256)
        switch answer {
        case .verified(let found):
            result.recordedSHA256 = found.recorded
            result.readSHA256 = found.read
            if found.read != found.recorded {
                result.status = .damaged
            } else if found.read != result.localSHA256 {
                result.status = .differs
            }
        case .failed(let failure) where failure.code == .notFound:
            result.status = .missingOnServer  // deleted since it was listed
        case .failed(let failure):
            result.status = .failed
            result.error = failure.message
        default:
            result.status = .failed
            result.error = "an answer that is no Verify's"
        }
        verdict(result)
    }
}
