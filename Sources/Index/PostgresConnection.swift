// One connection to PostgreSQL through libpq (CLibPQ): the pool (PostgresPool) lends it to one thread at a time,
// always a pool thread, never a loop thread. Statements go with their parameters apart from the SQL (nothing is ever
// spliced into a statement), in binary both ways, with their types given, so that no value is parsed from text on
// either side.
//
// Bounded in time: `connect_timeout` for the connection, `statement_timeout` on the server for each statement,
// `tcp_user_timeout` for data the server's host stops acknowledging, and a deadline of our own on every statement
// (the statement timeout and `answerMargin`): the socket is non-blocking and polled, so a server that keeps the
// connection up but never answers (a stuck backend, a proxy whose server is gone) costs the call its deadline, never
// a thread for ever. A connection that passed its deadline is given up (`isUsable` false).
import CLibPQ
import Foundation

final class PostgresConnection {
    /// A parameter; sent as PostgreSQL's text (OID 25), bigint (20) or bytea (17), pg_type.dat.
    enum Value {
        case text(String)
        case int8(Int64)
        case bytea([UInt8])
        case null
    }

    struct Timeouts: Sendable {
        /// Seconds to establish a connection (libpq's connect_timeout; at least 2, its minimum).
        var connect: Int
        /// Milliseconds one statement may take on the server, and the socket may go unanswered.
        var statementMilliseconds: Int
    }

    /// How long past the server's own statement_timeout we wait for its answer (the timeout's error, normally)
    /// before giving the connection up.
    static let answerMargin = 5_000

    /// The oldest server whose features the schema uses (statement triggers with transition tables, `EXECUTE FUNCTION`).
    static let minimumServerVersion: Int32 = 110_000

    private let connection: OpaquePointer
    /// Where it connects to, without the password: for messages.
    let target: String
    /// Milliseconds a statement may take before we give the connection up.
    private let deadline: Int
    /// A statement passed its deadline: the server may still be working on it, so the connection is never used again.
    private var abandoned = false

    /// Connects to `url` (a libpq connection URI or keyword string). The URL's own settings win over the defaults
    /// given here, except the timeouts, which are ferryd's (index.connect_timeout, index.query_timeout), and the client
    /// encoding, which the index needs to be UTF-8.
    init(url: String, timeouts: Timeouts) throws(PostgresFailure) {
        target = Self.describe(url)
        deadline = timeouts.statementMilliseconds + Self.answerMargin
        // libpq's own message would quote the URL, password included: say what is wrong without it.
        var parseError: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(url, &parseError) else {
            if let parseError { PQfreemem(parseError) }
            throw PostgresFailure("index.url cannot be read as a libpq URI (postgresql://...) or keyword string "
                                  + "(host=... dbname=...); in a URI, percent-encode any @ : / ? # [ ] of a user name or "
                                  + "password, or keep the password in a passfile")
        }
        PQconninfoFree(parsed)
        // Keywords before "dbname" are defaults the expanded URL overrides; those after it override the URL.
        let settings: [(String, String)] = [
            ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
            ("application_name", "ferryd"),
            ("dbname", url),
            ("connect_timeout", String(max(2, timeouts.connect))),
            ("tcp_user_timeout", String(timeouts.statementMilliseconds)),
            ("client_encoding", "UTF8"),
        ]
        let pointer = Self.withCStrings(settings.map(\.0)) { keywords in
            Self.withCStrings(settings.map(\.1)) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let pointer else { throw PostgresFailure("PostgreSQL at \(target): libpq could not allocate a connection") }
        guard PQstatus(pointer) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(pointer))
            PQfinish(pointer)
            throw PostgresFailure("cannot connect to PostgreSQL at \(target): \(message)")
        }
        let version = PQserverVersion(pointer)
        guard version >= Self.minimumServerVersion else {
            PQfinish(pointer)
            throw PostgresFailure("PostgreSQL at \(target) is version \(version / 10_000); the index needs 11 or later")
        }
        // Byte order of paths needs their bytes as sent: a database in another encoding would convert them.
        let encoding = PQparameterStatus(pointer, "server_encoding").map { String(cString: $0) } ?? "?"
        guard encoding == "UTF8" || encoding == "SQL_ASCII" else {
            PQfinish(pointer)
            throw PostgresFailure("the PostgreSQL database at \(target) is encoded in \(encoding); the index needs "
                             + "a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)")
        }
        // The server's notices ("relation already exists, skipping") would go to ferryd's stderr, past its log.
        PQsetNoticeProcessor(pointer, { _, _ in }, nil)
        guard PQsetnonblocking(pointer, 1) == 0 else {
            PQfinish(pointer)
            throw PostgresFailure("PostgreSQL at \(target): libpq cannot make the connection non-blocking")
        }
        connection = pointer  // from here on, deinit finishes it
        try run("SET statement_timeout = \(timeouts.statementMilliseconds)")
    }

    deinit { PQfinish(connection) }

    /// Still connected and answering (a failed call may have lost the server: the pool then opens another).
    var isUsable: Bool { !abandoned && PQstatus(connection) == CONNECTION_OK }

    /// Inside a transaction block that a failure left open or aborted: the pool rolls it back before lending again.
    var isInTransaction: Bool { PQtransactionStatus(connection) != PQTRANS_IDLE }

    /// Runs statements without parameters (one or several, separated by semicolons): BEGIN, COMMIT, the schema.
    func run(_ sql: String) throws(PostgresFailure) {
        _ = try perform { PQsendQuery(connection, sql) }
    }

    /// Runs `sql` with `parameters` ($1, $2, ...) and returns its rows, binary.
    @discardableResult
    func execute(_ sql: String, _ parameters: [Value] = []) throws(PostgresFailure) -> PostgresRows {
        guard let count = Int32(exactly: parameters.count) else { throw PostgresFailure("\(parameters.count) parameters") }
        return PostgresRows(try perform {
            Self.withParameters(parameters) { types, values, lengths, formats in
                PQsendQueryParams(connection, sql, count, types, values, lengths, formats, 1)
            }
        })
    }

    /// Sends with `send`, then waits for every result within the deadline; the last result, or the first error.
    private func perform(_ send: () -> Int32) throws(PostgresFailure) -> OpaquePointer {
        guard !abandoned else { throw PostgresFailure("PostgreSQL at \(target): a connection given up is used again") }
        guard send() == 1 else { throw PostgresFailure("PostgreSQL at \(target): \(Self.message(PQerrorMessage(connection)))") }
        let started = Self.milliseconds()
        // What the send left in libpq's buffer goes out as the server reads it.
        var flushed = PQflush(connection)
        while flushed == 1 {
            try wait(for: Int16(POLLOUT | POLLIN), since: started)
            guard PQconsumeInput(connection) == 1 else { throw lost() }
            flushed = PQflush(connection)
        }
        guard flushed == 0 else { throw lost() }
        var last: OpaquePointer?, failure: PostgresFailure?
        while true {
            while PQisBusy(connection) == 1 {
                try wait(for: Int16(POLLIN), since: started)
                guard PQconsumeInput(connection) == 1 else { throw lost() }
            }
            guard let result = PQgetResult(connection) else { break }
            let status = PQresultStatus(result)
            if failure == nil, status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK {
                let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
                failure = PostgresFailure(state: state, "PostgreSQL at \(target): \(Self.message(PQresultErrorMessage(result)))")
            }
            if let last { PQclear(last) }
            last = result
        }
        if let failure {
            if let last { PQclear(last) }
            throw failure
        }
        guard let last else { throw PostgresFailure("PostgreSQL at \(target): no result") }
        return last
    }

    /// Waits until the socket is ready for `events`, or throws once the statement's deadline has passed (and gives
    /// the connection up: the server may still be working on the statement).
    private func wait(for events: Int16, since started: Int) throws(PostgresFailure) {
        let socket = PQsocket(connection)
        guard socket >= 0 else { throw lost() }
        while true {
            let left = deadline - (Self.milliseconds() - started)
            guard left > 0 else {
                abandoned = true
                throw PostgresFailure("PostgreSQL at \(target) did not answer within \(deadline / 1000) s "
                                      + "(index.query_timeout and a margin); the connection is given up")
            }
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(left, 1_000)))
            if ready > 0 { return }
            guard ready == 0 || errno == EINTR else { throw lost() }
        }
    }

    private func lost() -> PostgresFailure {
        PostgresFailure("PostgreSQL at \(target): \(Self.message(PQerrorMessage(connection)))")
    }

    private static func milliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    // MARK: Parameters in binary

    private static func withParameters<Result>(
        _ parameters: [Value],
        _ body: (UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> Result
    ) -> Result {
        var types: [Oid] = [], lengths: [Int32] = [], bytes: [[UInt8]?] = []
        for parameter in parameters {
            switch parameter {
            case .text(let text): types.append(25); bytes.append(Array(text.utf8))
            case .int8(let value): types.append(20); bytes.append(withUnsafeBytes(of: value.bigEndian) { Array($0) })
            case .bytea(let value): types.append(17); bytes.append(value)
            case .null: types.append(0); bytes.append(nil)
            }
            lengths.append(Int32(clamping: bytes.last??.count ?? 0))
        }
        let formats = [Int32](repeating: 1, count: parameters.count)
        // One buffer holds every value; libpq reads them during the call only.
        let total = bytes.reduce(0) { $0 + ($1?.count ?? 0) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 1)
        defer { buffer.deallocate() }
        var values: [UnsafePointer<CChar>?] = [], offset = 0
        for value in bytes {
            guard let value else {
                values.append(nil)
                continue
            }
            value.withUnsafeBytes { source in
                if let base = source.baseAddress { (buffer + offset).copyMemory(from: base, byteCount: source.count) }
            }
            values.append(UnsafePointer((buffer + offset).assumingMemoryBound(to: CChar.self)))
            offset += value.count
        }
        return types.withUnsafeBufferPointer { types in
            values.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }

    private static func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeMutableBufferPointer { buffer in
            // Never empty: it ends with the terminating nil.
            guard let base = buffer.baseAddress else { preconditionFailure("an empty array holds its terminator") }
            return body(base)
        }
    }

    // MARK: Messages

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "no message" }
        let message = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? "no message" : message.replacingOccurrences(of: "\n", with: "; ")
    }

    /// Host, port, database and user of `url`, never its password: what messages and logs name.
    static func describe(_ url: String) -> String {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            if let error { PQfreemem(error) }
            return "(an unreadable connection string)"
        }
        defer { PQconninfoFree(options) }
        var found: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { found[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        let host = found["host"] ?? found["hostaddr"] ?? "localhost"
        let port = found["port"].map { ":\($0)" } ?? ""
        let user = found["user"].map { "\($0)@" } ?? ""
        return "\(user)\(host)\(port)/\(found["dbname"] ?? "")"
    }
}
