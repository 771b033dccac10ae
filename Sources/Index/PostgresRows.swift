// A statement's result as PostgresConnection asked for it: rows of binary values, read by position and checked for
// their length (a server that answers something else is an error, never a crash). Owns the PGresult.
import CLibPQ

final class PostgresRows {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    var count: Int { Int(PQntuples(result)) }

    /// Rows a command changed (an INSERT's, a DELETE's).
    var affected: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) != 0 }

    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard row < count, column < Int(PQnfields(result)), !isNull(row, column) else { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard length > 0, let value = PQgetvalue(result, Int32(row), Int32(column)) else { return [] }
        return UnsafeRawBufferPointer(start: value, count: length).map { $0 }
    }

    func text(_ row: Int, _ column: Int) throws(PostgresFailure) -> String {
        guard let bytes = bytes(row, column) else { throw Self.unexpected("a null text in column \(column)") }
        return String(decoding: bytes, as: UTF8.self)
    }

    func int8(_ row: Int, _ column: Int) throws(PostgresFailure) -> Int64 {
        guard let value = try optionalInt8(row, column) else { throw Self.unexpected("a null bigint in column \(column)") }
        return value
    }

    func optionalInt8(_ row: Int, _ column: Int) throws(PostgresFailure) -> Int64? {
        guard let bytes = bytes(row, column) else { return nil }
        guard bytes.count == 8 else { throw Self.unexpected("a bigint of \(bytes.count) bytes in column \(column)") }
        return Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    private static func unexpected(_ what: String) -> PostgresFailure {
        PostgresFailure("PostgreSQL answered \(what) where the index expects otherwise")
    }
}

/// A statement's failure, with its SQLSTATE (PostgreSQL's appendix A): what decides whether a transaction is worth
/// running again.
struct PostgresFailure: Error {
    let state: String?
    let message: String

    init(state: String? = nil, _ message: String) {
        self.state = state
        self.message = message
    }

    /// serialization_failure, deadlock_detected: another transaction won; the same one again may pass.
    var isTransient: Bool { state == "40001" || state == "40P01" }

    var indexError: IndexError { IndexError(.unavailable, message + (state.map { " (SQLSTATE \($0))" } ?? "")) }
}
