// The client side of the store's requests (docs/PROTOCOL.md §14), once `store` was agreed, one at a time from idle
// with no pipelined upload unanswered. Each answer is checked against its request before it becomes an event: a
// StatResult about another path, a page that ListPage.problem refuses, a Deleted that does not fit its Delete, ends the
// session (`illegal_parameter`), so nothing a server sends can make a listing loop, a recursive delete spin, or show
// an entry it did not ask for.
//
//   idle ──sendStoreRequest()──► awaitingStore ──StatResult / ListPage / Deleted / Verified / OperationError──► idle

extension ClientConnection {
    /// True when a store request may go: `store` agreed, nothing being uploaded or awaited.
    public var canSendStoreRequest: Bool {
        guard case .established(let channel, let uploads) = core.state, case .idle = uploads.current,
              !uploads.hasUnanswered else { return false }
        return channel.parameters.uploadFeatures.contains(.store)
    }

    /// Whether the server agreed to the store's operations (false before the handshake completes).
    public var storeAgreed: Bool { core.channel?.parameters.uploadFeatures.contains(.store) ?? false }

    /// Sends a store request. Only when `canSendStoreRequest`; the request must be well formed (callers check user
    /// input first: `StoreRequest.problem`).
    public mutating func sendStoreRequest(_ request: StoreRequest, now: Now) {
        precondition(request.problem == nil, "a store request that breaks §14: \(request.problem ?? "")")
        core.command("sendStoreRequest") { (channel, uploads) throws(ProtocolError) in
            guard case .idle = uploads.current, !uploads.hasUnanswered else {
                preconditionFailure("sendStoreRequest() while the upload is \(uploads.current.name)")
            }
            precondition(channel.parameters.uploadFeatures.contains(.store), "a store request without store agreed")
            var encoder = WireEncoder(reservingCapacity: 128)
            let type = request.encode(into: &encoder)
            try channel.send(type, body: encoder.bytes, now: now)
            uploads.current = .awaitingStore(request)
        }
    }

    /// A GetHeader, checked against the Get it answers (§14.4): its digest's length, and the offset the Get asked for
    /// (0 when that is past the file's end).
    static func getHeader(_ body: ArraySlice<UInt8>, answering request: GetRequest) throws(ProtocolError) -> GetHeader {
        let header = try GetHeader.decode(body)
        let expected = request.offset <= header.size ? request.offset : 0
        guard header.offset == expected else {
            throw .illegal("a GetHeader at offset \(header.offset) for a Get from \(request.offset) of \(header.size) bytes")
        }
        return header
    }

    /// What remains after a GetData of `length` bytes (§14.4: 1…65,536 of them, never past the file's end).
    static func getData(length: Int, remaining: UInt64) throws(ProtocolError) -> UInt64 {
        guard length > 0, length <= Limits.maxDataChunk else { throw .illegal("GetData of \(length) bytes") }
        guard UInt64(length) <= remaining else { throw .illegal("GetData past the end of the file") }
        return remaining - UInt64(length)
    }

    /// The answer in `body`, checked against `request` (§14.2, §14.3).
    static func storeAnswer(_ type: MessageType, _ body: ArraySlice<UInt8>,
                            answering request: StoreRequest) throws(ProtocolError) -> StoreAnswer {
        switch (type, request) {
        case (.operationError, _):
            let failure = try UploadFailure.decode(body)
            guard failure.code != .aborted, failure.code != .absent else {
                throw .illegal("OperationError \(failure.code), a code for uploads only")
            }
            return .failed(failure)
        case (.statResult, .stat(let stat)):
            let result = try StatResult.decode(body)
            guard result.path.utf8.elementsEqual(stat.path.utf8) else { throw .illegal("a StatResult about \"\(result.path)\" for a Stat of \"\(stat.path)\"") }
            if case .file = result, stat.path.isEmpty { throw .illegal("a StatResult that says the namespace's top is a file") }
            return .stat(result)
        case (.statResult, .rename(let rename)):
            guard case .file(let entry) = try StatResult.decode(body), entry.path.utf8.elementsEqual(rename.to.utf8) else {
                throw .illegal("a StatResult that is not the file \"\(rename.to)\" for its Rename")
            }
            return .stat(.file(entry))
        case (.deleted, .delete(let delete)):
            let outcome = try DeleteOutcome.decode(body)
            if let problem = outcome.problem(answering: delete) { throw .illegal("a Deleted that does not answer the Delete: \(problem)") }
            return .deleted(outcome)
        case (.verified, .verify):
            return .verified(try VerifyResult.decode(body))
        case (.listPage, .list(let list)):
            let page = try ListPage.decode(body)
            if let problem = page.problem(answering: list) { throw .illegal("a ListPage that does not answer the List: \(problem)") }
            return .list(page)
        default:
            throw .unexpected("\(type) in answer to \(request.messageName)")
        }
    }
}

extension StoreRequest {
    /// What breaks §14's rules in this request, if anything (a sender checks before sending).
    public var problem: String? {
        switch self {
        case .stat(let stat):
            if stat.namespace.utf8.count > Limits.maxNamespaceLength { return "a namespace longer than \(Limits.maxNamespaceLength) bytes" }
            if stat.path.utf8.count > Limits.maxPathLength { return "a path longer than \(Limits.maxPathLength) bytes" }
            if PathBytes.hasEdgeSlash(stat.path) { return "a path with a leading or trailing \"/\"" }
            return nil
        case .list(let list):
            if list.namespace.utf8.count > Limits.maxNamespaceLength { return "a namespace longer than \(Limits.maxNamespaceLength) bytes" }
            if list.directory.utf8.count > Limits.maxPathLength || list.cursor.utf8.count > Limits.maxPathLength {
                return "a directory or cursor longer than \(Limits.maxPathLength) bytes"
            }
            return list.problem
        case .get(let get):
            if get.namespace.utf8.count > Limits.maxNamespaceLength { return "a namespace longer than \(Limits.maxNamespaceLength) bytes" }
            if get.path.isEmpty || get.path.utf8.count > Limits.maxPathLength { return "a path of 1…\(Limits.maxPathLength) bytes" }
            if PathBytes.hasEdgeSlash(get.path) { return "a path with a leading or trailing \"/\"" }
            return nil
        case .delete(let delete): return Self.problem(namespace: delete.namespace, paths: [delete.path])
        case .rename(let rename): return Self.problem(namespace: rename.namespace, paths: [rename.from, rename.to])
        case .verify(let verify): return Self.problem(namespace: verify.namespace, paths: [verify.path])
        }
    }

    /// A Delete's, Rename's or Verify's names against §14.1.
    private static func problem(namespace: String, paths: [String]) -> String? {
        if namespace.utf8.count > Limits.maxNamespaceLength { return "a namespace longer than \(Limits.maxNamespaceLength) bytes" }
        for path in paths {
            if path.utf8.count > Limits.maxPathLength { return "a path longer than \(Limits.maxPathLength) bytes" }
            if !isRequestPath(path) { return "\"\(path)\": a path is not empty and has no leading or trailing \"/\"" }
        }
        return nil
    }

    /// The same request naming `namespace` ("" for the client's own).
    public func inNamespace(_ namespace: String) -> StoreRequest {
        switch self {
        case .stat(var stat): stat.namespace = namespace; return .stat(stat)
        case .list(var list): list.namespace = namespace; return .list(list)
        case .get(var get): get.namespace = namespace; return .get(get)
        case .delete(var delete): delete.namespace = namespace; return .delete(delete)
        case .rename(var rename): rename.namespace = namespace; return .rename(rename)
        case .verify(var verify): verify.namespace = namespace; return .verify(verify)
        }
    }

    /// Its body written into `encoder`; its message type returned.
    func encode(into encoder: inout WireEncoder) -> MessageType {
        switch self {
        case .stat(let stat): stat.encode(into: &encoder)
        case .list(let list): list.encode(into: &encoder)
        case .get(let get): get.encode(into: &encoder)
        case .delete(let delete): delete.encode(into: &encoder)
        case .rename(let rename): rename.encode(into: &encoder)
        case .verify(let verify): verify.encode(into: &encoder)
        }
        return switch self {
        case .stat: .stat
        case .list: .list
        case .get: .get
        case .delete: .delete
        case .rename: .rename
        case .verify: .verify
        }
    }

    public var messageName: String {
        switch self {
        case .stat: "Stat"
        case .list: "List"
        case .get: "Get"
        case .delete: "Delete"
        case .rename: "Rename"
        case .verify: "Verify"
        }
    }
}
