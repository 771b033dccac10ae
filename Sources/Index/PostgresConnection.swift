// One connection to PostgreSQL through libpq (CLibPQ), blocking: the pool (PostgresPool) lends it to one thread at a
// time, always a pool thread, never a loop thread. Statements go with their parameters apart from the SQL
// (PQexecParams: nothing is ever spliced into a statement), in binary both ways, with their types given, so that no
// value is parsed from text on either side.
//
// Bounded in time: `connect_timeout` for the connection, `statement_timeout` on the server for each statement, and
// `tcp_user_timeout` for a server that stops answering altogether (a lost host, a cut network) — without it a call
// would wait on the socket for ever.
import CLibPQ
import Foundation

final class PostgresConnection {
    /// PostgreSQL's type OIDs (pg_type.dat) of the parameters the index sends.
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

    /// The oldest server whose features the schema uses (statement triggers with transition tables, `EXECUTE FUNCTION`).
    static let minimumServerVersion: Int32 = 110_000

    private let connection: OpaquePointer
    /// Where it connects to, without the password: for messages.
    let target: String

    /// Connects to `url` (a libpq connection URI or keyword string). The URL's own settings win over the defaults
    /// given here, except the client encoding, which the index needs to be UTF-8.
    init(url: String, timeouts: Timeouts) throws(PostgresFailure) {
        target = Self.describe(url)
        // Keywords before "dbname" are defaults the expanded URL overrides; those after it override the URL.
        let settings: [(String, String)] = [
            ("connect_timeout", String(max(2, timeouts.connect))),
            ("tcp_user_timeout", String(timeouts.statementMilliseconds)),
            ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
            ("application_name", "ferryd"),
            ("dbname", url),
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
        connection = pointer  // from here on, deinit finishes it
        try run("SET statement_timeout = \(timeouts.statementMilliseconds)")
    }

    deinit { PQfinish(connection) }

    /// Still connected (a failed call may have lost the server: the pool then opens another).
    var isUsable: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Inside a transaction block that a failure left open or aborted: the pool rolls it back before lending again.
    var isInTransaction: Bool { PQtransactionStatus(connection) != PQTRANS_IDLE }

    /// Runs statements without parameters (one or several, separated by semicolons): BEGIN, COMMIT, the schema.
    func run(_ sql: String) throws(PostgresFailure) {
        guard let result = PQexec(connection, sql) else {
            throw PostgresFailure("PostgreSQL at \(target): \(Self.message(PQerrorMessage(connection)))")
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PostgresFailure(state: state, "PostgreSQL at \(target): \(Self.message(PQresultErrorMessage(result)))")
        }
    }

    /// Runs `sql` with `parameters` ($1, $2, ...) and returns its rows, binary.
    @discardableResult
    func execute(_ sql: String, _ parameters: [Value] = []) throws(PostgresFailure) -> PostgresRows {
        let result = Self.withParameters(parameters) { types, values, lengths, formats in
            PQexecParams(connection, sql, Int32(parameters.count), types, values, lengths, formats, 1)
        }
        guard let result else {
            throw PostgresFailure("PostgreSQL at \(target): \(Self.message(PQerrorMessage(connection)))")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return PostgresRows(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.message(PQresultErrorMessage(result))
            PQclear(result)
            throw PostgresFailure(state: state, "PostgreSQL at \(target): \(message)")
        }
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
