// ListPage (0x35, docs/PROTOCOL.md §14.3): one page of a listing, cut to fit one message, with the cursor the next
// List starts after. A client trusts no page: `check` holds it against the List it answers — inside the directory,
// after the cursor, in strictly increasing byte order, the right kinds, a cursor that moves — so a faulty or hostile
// server can neither loop a client forever nor slip an entry from elsewhere into a listing.

public struct ListPage: Equatable, Sendable {
    public var entries: [ListEntry]
    /// The last entry's key when more may follow; "" once the listing is complete.
    public var nextCursor: String

    public init(entries: [ListEntry], nextCursor: String) {
        self.entries = entries
        self.nextCursor = nextCursor
    }

    /// Largest body: one message (§5.1), less its type byte.
    static let maximumBodyLength = Limits.maxMessageLength - 1

    /// The page a server sends for `request`: the first `candidates` that fit in `request.limit` entries and one
    /// message, the cursor after the last of them when any candidate was left out or `more` (the index has entries
    /// past the candidates), "" otherwise. Candidates are in key order, after the request's cursor.
    public static func fitting(_ candidates: [ListEntry], limit: Int, more: Bool) -> ListPage {
        var budget = Budget(limit: limit)
        var entries: [ListEntry] = []
        for entry in candidates {
            guard budget.admit(entry) else { break }
            entries.append(entry)
        }
        let complete = entries.count == candidates.count && !more
        return ListPage(entries: entries, nextCursor: complete ? "" : entries.last?.key ?? "")
    }

    /// What a page has room for, one entry at a time: at most `limit` entries, and one message with the last one's key
    /// as the cursor. A server that reads its index in batches stops reading once the page is full.
    public struct Budget {
        public let limit: Int
        public private(set) var count = 0
        private var length = 2  // the count

        public init(limit: Int) { self.limit = max(0, limit) }

        /// Whether `entry` fits after those admitted so far; it is admitted when it does.
        public mutating func admit(_ entry: ListEntry) -> Bool {
            // Room for the entry and for its key as the cursor, should it be the last.
            let needed = length + entry.encodedLength
            guard count < limit, needed + 2 + entry.key.utf8.count <= maximumBodyLength else { return false }
            length = needed
            count += 1
            return true
        }
    }

    func encode(into encoder: inout WireEncoder) {
        encoder.u16(UInt16(entries.count))
        for entry in entries { entry.encode(into: &encoder) }
        encoder.text(nextCursor)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(ProtocolError) -> ListPage {
        var decoder = WireDecoder(body)
        let count = Int(try decoder.u16())
        guard count <= Limits.maxListEntries else { throw .decode("a ListPage of \(count) entries (at most \(Limits.maxListEntries))") }
        var entries: [ListEntry] = []
        entries.reserveCapacity(min(count, decoder.remaining / 4))  // each entry is at least four bytes
        for _ in 0..<count { entries.append(try ListEntry.decode(&decoder)) }
        let page = ListPage(entries: entries, nextCursor: try decoder.text(maxBytes: Limits.maxPathLength))
        try decoder.finish()
        return page
    }

    /// Whether this page may answer `request` (§14.3's client checks); the problem, or nil.
    func problem(answering request: ListRequest) -> String? {
        guard entries.count <= request.limit else { return "a page of \(entries.count) entries for a limit of \(request.limit)" }
        guard let last = entries.last else {
            return nextCursor.isEmpty ? nil : "an empty page that is not the end of the listing"
        }
        // Bytes (§14.1): `==` on Strings is canonical equivalence, and a cursor equivalent to the last key but with
        // smaller bytes would ask for the same page again, forever.
        guard nextCursor.isEmpty || nextCursor.utf8.elementsEqual(last.key.utf8) else {
            return "the next cursor is not the last entry's key"
        }
        let directory = request.directory.utf8
        var previous = request.cursor
        for entry in entries {
            let keyText = entry.key
            let key = keyText.utf8
            guard key.starts(with: directory), key.count > directory.count else {
                return "an entry \"\(keyText)\" outside the directory \"\(request.directory)\""
            }
            guard previous.utf8.lexicographicallyPrecedes(key) else { return "entries out of order at \"\(keyText)\"" }
            previous = keyText
            let below = key.dropFirst(directory.count)
            switch entry {
            case .file:
                guard request.recursive || !below.contains(UInt8(ascii: "/")) else {
                    return "a file \"\(entry.key)\" that is not directly in \"\(request.directory)\""
                }
            case .directory:
                guard !request.recursive else { return "a directory entry in a recursive listing" }
                guard below.firstIndex(of: UInt8(ascii: "/")) == below.index(before: below.endIndex) else {
                    return "a directory \"\(entry.key)\" that is not directly in \"\(request.directory)\""
                }
            }
        }
        return nil
    }
}
