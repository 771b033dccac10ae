// Who may do what in which namespace (docs/STORE.md "Namespaces and access"): every identity reads, lists, writes and
// deletes its own namespace; `[access] grants` (AccessGrant) add the rest. A refusal names the grant that would allow
// the request, so the client can ask its operator for exactly that.
import FerrydConfig
import Protocol

struct AccessPolicy: Sendable {
    let grants: [AccessGrant]

    /// nil when `identity` may do `operation` on `path` ("" for the namespace's top) of `namespace`; else the
    /// refusal to send.
    func refusal(_ identity: String, _ operation: AccessOperation, namespace: String, path: String) -> UploadFailure? {
        refusal(identity, [operation], namespace: namespace, path: path)
    }

    /// nil when any of `operations` is allowed; else the refusal, naming the first as the grant needed. A Stat is
    /// allowed by any grant on the path (each of them says whether something is there already), a List by list, read
    /// or delete (a directory is read or deleted by enumerating it): what `ferry get`, `verify` and `mv` ask first.
    func refusal(_ identity: String, _ operations: [AccessOperation], namespace: String, path: String) -> UploadFailure? {
        if namespace.utf8.elementsEqual(identity.utf8) { return nil }  // bytes: == would take an NFD twin for it
        if grants.contains(where: { grant in
            operations.contains { grant.allows(identity, $0, namespace: namespace, path: path) }
        }) { return nil }
        guard let operation = operations.first else { return nil }
        let target = path.isEmpty ? namespace : namespace + "/" + path
        let needed = AccessGrant(identity: identity, operations: [operation], namespace: namespace, path: path).text
        return UploadFailure(.permissionDenied, "'\(identity)' may not \(operation.verb) '\(target)': its own files only, "
            + "unless the server's [access] grants hold \"\(needed)\" (or one wider); ask its operator")
    }
}

extension AccessOperation {
    var verb: String {
        switch self {
        case .read: "read"
        case .list: "list"
        case .write: "write to"
        case .delete: "delete"
        }
    }
}
