// The server side of the store's requests (docs/PROTOCOL.md §14), once `store` was agreed, between uploads — never
// while an upload is being received or a pipelined one is unanswered, so that every answer on the wire has one request
// it can belong to. The daemon does what was asked and answers with `answerStore`.
//
//   idle ──Stat / List / Get / Delete / Rename / Verify──► answering
//   answering ──answerStore(StatResult / ListPage / Deleted / Verified / OperationError)──► idle
//   answering (Get) ──startGet(GetHeader)──► sendingFile (ServerConnection+Get)

/// A store request as the daemon receives it.
public enum StoreRequest: Equatable, Sendable {
    case stat(StatRequest)
    case list(ListRequest)
    /// Answered with `startGet` (the file streams: ServerConnection+Get) or a refusal through `answerStore(.failed)`.
    case get(GetRequest)
    /// Answered with `.deleted` or a refusal.
    case delete(DeleteRequest)
    /// Answered with `.stat(.file(entry))`, the file under its new name, or a refusal.
    case rename(RenameRequest)
    /// Answered with `.verified` or a refusal.
    case verify(VerifyRequest)
}

/// The daemon's answer to a store request.
public enum StoreAnswer: Equatable, Sendable {
    case stat(StatResult)
    case list(ListPage)
    case deleted(DeleteOutcome)
    case verified(VerifyResult)
    /// OperationError (§14.5): the request is refused or failed; the session goes on.
    case failed(UploadFailure)
}

extension ServerConnection {
    /// A store request in the idle state: decoded and checked (§14.2, §14.3), the connection then waits for the answer.
    static func storeRequested(_ type: MessageType, _ body: ArraySlice<UInt8>, uploads: inout Uploads,
                               channel: SecureChannel) throws(ProtocolError) -> ServerEvent {
        guard channel.parameters.uploadFeatures.contains(.store) else {
            throw .unexpected("\(type), but the store feature was not agreed")
        }
        guard uploads.queue.isEmpty else {
            throw .unexpected("\(type) while \(uploads.queue.count) pipelined uploads are unanswered")
        }
        let request: StoreRequest = switch type {
        case .stat: .stat(try StatRequest.decode(body))
        case .get: .get(try GetRequest.decode(body))
        case .delete: .delete(try DeleteRequest.decode(body))
        case .rename: .rename(try RenameRequest.decode(body))
        case .verify: .verify(try VerifyRequest.decode(body))
        default: .list(try ListRequest.decode(body))
        }
        uploads.current = .answering(request)
        return .storeRequested(request)
    }

    /// Answers the store request being answered: StatResult to a Stat (and, kind 1, to a Rename), Deleted to a
    /// Delete, Verified to a Verify, a ListPage to a List (fitted to its limit:
    /// `ListPage.fitting`; a page the client would refuse goes as OperationError storage_failure), or OperationError.
    public mutating func answerStore(_ answer: StoreAnswer, now: Now) {
        core.command("answerStore") { (channel, uploads) throws(ProtocolError) in
            guard case .answering(let request) = uploads.current else {
                preconditionFailure("answerStore() while the upload is \(uploads.current.name)")
            }
            var encoder = WireEncoder(reservingCapacity: 256)
            switch (request, answer) {
            case (.stat, .stat(let result)):
                result.encode(into: &encoder)
                try channel.send(.statResult, body: encoder.bytes, now: now)
            case (.rename(let rename), .stat(.file(let entry))):
                precondition(entry.path == rename.to, "a Rename answered with the entry of \(entry.path)")
                StatResult.file(entry).encode(into: &encoder)
                try channel.send(.statResult, body: encoder.bytes, now: now)
            case (.delete(let delete), .deleted(let outcome)):
                precondition(outcome.problem(answering: delete) == nil, "Deleted: \(outcome.problem(answering: delete) ?? "")")
                outcome.encode(into: &encoder)
                try channel.send(.deleted, body: encoder.bytes, now: now)
            case (.verify, .verified(let result)):
                result.encode(into: &encoder)
                try channel.send(.verified, body: encoder.bytes, now: now)
            case (.list(let list), .list(let page)):
                // The page comes from the index, which is on disk: one that the client would refuse is a failure of
                // the server's to report, not a reason to end the session or the daemon.
                if let problem = page.problem(answering: list) {
                    UploadFailure(.storageFailure, "the index gave an inconsistent page: \(problem)").encode(into: &encoder)
                    try channel.send(.operationError, body: encoder.bytes, now: now)
                } else {
                    page.encode(into: &encoder)
                    try channel.send(.listPage, body: encoder.bytes, now: now)
                }
            case (_, .failed(let failure)):
                precondition(failure.code != .aborted && failure.code != .absent, "\(failure.code) answers uploads only")
                failure.encode(into: &encoder)
                try channel.send(.operationError, body: encoder.bytes, now: now)
            case (.stat, _), (.list, _), (.get, _), (.delete, _), (.rename, _), (.verify, _):
                preconditionFailure("answerStore(\(answer)) for \(request.messageName): not its answer (a Get's is startGet())")
            }
            uploads.current = .idle
        }
    }

    /// The store request waiting for `answerStore`, if one is.
    public var pendingStoreRequest: StoreRequest? {
        if case .established(_, let uploads) = core.state, case .answering(let request) = uploads.current { request } else { nil }
    }
}
