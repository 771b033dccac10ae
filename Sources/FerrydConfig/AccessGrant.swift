// `[access] grants`: what an identity may do beyond its own namespace (docs/STORE.md "Namespaces and access"). Every
// identity reads, lists, writes and deletes its own namespace; a grant adds operations on another namespace, on a
// directory or file of one, or on every namespace:
//
//   grant     = identity ":" operation *("," operation) "on" target
//   identity  = a client identity, or "*" (every client)
//   operation = "read" (Get, Verify) | "list" (List, Stat) | "write" (uploads, a Rename's new name)
//             | "delete" (Delete, a Rename's old name) | "all"
//   target    = "*" (every namespace) | namespace [ "/" path ]   (the path and everything below it)
//
// Any grant on a path also allows a Stat of it, and read or delete a List (AccessPolicy): what the commands ask first.
//
//   grants = ["backup: read, list on *", "publisher: write, list on shared", "alice: read on bob/reports"]

package enum AccessOperation: String, CaseIterable, Comparable, Sendable {
    case read, list, write, delete

    package static func < (lhs: AccessOperation, rhs: AccessOperation) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

package struct AccessGrant: Equatable, Sendable {
    /// The client it is for; nil: every client.
    package let identity: String?
    package let operations: Set<AccessOperation>
    /// nil: every namespace.
    package let namespace: String?
    /// "" for the whole namespace, else a relative path: it and everything below it.
    package let path: String

    package init(identity: String?, operations: Set<AccessOperation>, namespace: String?, path: String = "") {
        self.identity = identity
        self.operations = operations
        self.namespace = namespace
        self.path = path
    }

    /// Whether it lets `identity` do `operation` on `path` of `namespace`. A path is covered by the grant's path when
    /// it is that path or below it; the empty path (a namespace's top) only by a grant of the whole namespace.
    package func allows(_ identity: String, _ operation: AccessOperation, namespace: String, path: String) -> Bool {
        // Bytes, as the store names files: Swift's == and hasPrefix are canonical equivalence on Characters.
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        guard self.identity.map({ same($0, identity) }) ?? true, operations.contains(operation),
              self.namespace.map({ same($0, namespace) }) ?? true else { return false }
        return self.path.isEmpty || same(path, self.path) || path.utf8.starts(with: Array((self.path + "/").utf8))
    }

    /// Its canonical text, as the configuration writes it.
    package var text: String {
        let target = namespace.map { path.isEmpty ? $0 : $0 + "/" + path } ?? "*"
        return "\(identity ?? "*"): \(operations.sorted().map(\.rawValue).joined(separator: ", ")) on \(target)"
    }

    /// One entry of `grants` as the configuration keeps it: its canonical text (`text`), or what is wrong with it.
    @Sendable static func entry(_ text: String) -> Result<String, ConfigKey.EntryProblem> {
        parse(text).map(\.text).mapError { ConfigKey.EntryProblem($0.reason) }
    }

    package struct Problem: Error {
        package let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static let format = "\"IDENTITY: OPERATION, ... on TARGET\" (operations read, list, write, delete or all; TARGET * "
        + "or NAMESPACE[/PATH])"

    /// Parses one entry of `grants`, or says what is wrong with it. An identity may hold a colon itself (a namespaced
    /// CA's "partner:alice"): the identity ends at the first colon after which a list of operations follows.
    package static func parse(_ text: String) -> Result<AccessGrant, Problem> {
        let colons = text.indices.filter { text[$0] == ":" }
        guard !colons.isEmpty else { return .failure(.init("is not of the form \(format)")) }
        var problem = Problem("is not of the form \(format)")
        for colon in colons {
            switch parse(identity: String(text[..<colon]).trimmingSpaces(), rest: text[text.index(after: colon)...]) {
            case .success(let grant): return .success(grant)
            case .failure(let failure): problem = failure
            }
        }
        return .failure(problem)
    }

    private static func parse(identity who: String, rest: Substring) -> Result<AccessGrant, Problem> {
        // The first " on " splits operations from the target (a path may hold " on " too, the operations never).
        let marker = Array(" on ".utf8), bytes = Array(rest.utf8)
        guard bytes.count >= marker.count, let at = (0...(bytes.count - marker.count)).first(where: {
            Array(bytes[$0..<($0 + marker.count)]) == marker
        }) else {
            return .failure(.init("names no target: want \(Self.format)"))
        }
        let named = String(decoding: bytes[..<at], as: UTF8.self)
        let target = String(decoding: bytes[(at + marker.count)...], as: UTF8.self).trimmingSpaces()
        var operations: Set<AccessOperation> = []
        for word in named.split(separator: ",").map({ String($0).trimmingSpaces() }) {
            if word == "all" {
                operations.formUnion(AccessOperation.allCases)
            } else if let operation = AccessOperation(rawValue: word) {
                operations.insert(operation)
            } else {
                return .failure(.init("has the operation \"\(word)\": want read, list, write, delete or all"))
            }
        }
        guard !operations.isEmpty else { return .failure(.init("grants no operation: want \(Self.format)")) }
        let identity: String?
        if who == "*" {
            identity = nil
        } else {
            switch AccessRules.identityEntry(who) {
            case .success(let name): identity = name
            case .failure(let problem): return .failure(.init("has the identity \"\(who)\", which \(problem.reason)"))
            }
        }
        if target == "*" { return .success(AccessGrant(identity: identity, operations: operations, namespace: nil)) }
        // At the byte "/" (a "/" followed by a combining mark is no Character "/" to Swift, and still a separator).
        let components = target.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard let namespace = components.first, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              !namespace.hasPrefix("."),
              !target.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.init("has the target \"\(target)\": want * or NAMESPACE[/PATH], no empty, \".\" or \"..\" part"))
        }
        return .success(AccessGrant(identity: identity, operations: operations, namespace: namespace,
                                    path: components.dropFirst().joined(separator: "/")))
    }
}
