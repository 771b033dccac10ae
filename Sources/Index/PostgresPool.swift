// A few connections to PostgreSQL, lent to one pool thread at a time (`[index] pool_size`), opened when first needed
// and again after one was lost (a call that finds its connection lost is tried once more, on a new one). A thread that finds them all lent waits, up to the statement timeout, then fails
// with an error that says so: a call never waits without bound. A connection that comes back broken is dropped; one
// that comes back inside a transaction (a failure halfway) is rolled back first.
import Foundation

// @unchecked: `idle` and `lent` are guarded by `condition`.
final class PostgresPool: @unchecked Sendable {
    let url: String
    let timeouts: PostgresConnection.Timeouts
    let size: Int
    /// Where it connects to, without the password.
    let target: String
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    /// Connections lent out or being opened.
    private var lent = 0

    /// Times a transaction is tried when PostgreSQL says another one won (a deadlock, a serialization failure).
    static let transactionAttempts = 5

    init(url: String, size: Int, timeouts: PostgresConnection.Timeouts) {
        self.url = url
        self.size = max(1, size)
        self.timeouts = timeouts
        target = PostgresConnection.describe(url)
    }

    /// `body` on a connection of the pool. A connection found lost (the server restarted, failed over, or ended it)
    /// costs one more try on a new one: every call the index makes is idempotent (a read, or a batch that gives the
    /// same rows applied twice), so a statement whose answer was lost may run again.
    func withConnection<Result>(_ body: (PostgresConnection) throws(PostgresFailure) -> Result) throws(PostgresFailure) -> Result {
        var attempt = 1
        while true {
            let connection = try checkOut()
            do {
                let result = try body(connection)
                checkIn(connection)
                return result
            } catch {
                let lost = !connection.isUsable
                checkIn(connection)
                guard lost, attempt < 2 else { throw error }
                attempt += 1
            }
        }
    }

    /// `body` in one transaction, committed when it returns, rolled back when it throws; tried again, after a random
    /// pause, when another transaction won. The commit always waits for the server's WAL to be flushed (its default
    /// synchronous_commit): the journal forgets the intents a batch finishes once it returns, and a server crash
    /// must not then lose the rows of files that are on disk.
    func transaction<Result>(_ body: (PostgresConnection) throws(PostgresFailure) -> Result) throws(PostgresFailure) -> Result {
        var attempt = 1
        while true {
            do {
                return try withConnection { connection throws(PostgresFailure) in
                    try connection.run("BEGIN")
                    let result = try body(connection)
                    try connection.run("COMMIT")
                    return result
                }
            } catch where error.isTransient && attempt < Self.transactionAttempts {
                attempt += 1
                usleep(UInt32.random(in: 1_000...UInt32(20_000 * attempt)))
            }
        }
    }

    /// `body`, one statement, in the server's autocommit (atomic as a transaction of its own is, triggers included, in
    /// one round trip instead of BEGIN, it and COMMIT), tried again as `transaction` is.
    func statement<Result>(_ body: (PostgresConnection) throws(PostgresFailure) -> Result) throws(PostgresFailure) -> Result {
        var attempt = 1
        while true {
            do {
                return try withConnection(body)
            } catch where error.isTransient && attempt < Self.transactionAttempts {
                attempt += 1
                usleep(UInt32.random(in: 1_000...UInt32(20_000 * attempt)))
            }
        }
    }

    private func checkOut() throws(PostgresFailure) -> PostgresConnection {
        let deadline = Date(timeIntervalSinceNow: Double(timeouts.statementMilliseconds) / 1000)
        condition.lock()
        while idle.isEmpty && lent >= size {
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw PostgresFailure("all \(size) connections to PostgreSQL at \(target) stayed busy for "
                                      + "\(Double(timeouts.statementMilliseconds) / 1000) s; raise index.pool_size or "
                                      + "index.query_timeout")
            }
        }
        lent += 1
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        condition.unlock()
        do { return try PostgresConnection(url: url, timeouts: timeouts) } catch {
            condition.lock()
            lent -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        var keep = connection.isUsable
        if keep, connection.isInTransaction {
            keep = (try? connection.run("ROLLBACK")) != nil && connection.isUsable
        }
        condition.lock()
        lent -= 1
        if keep {
            idle.append(connection)
        } else {
            idle.removeAll()  // lost with it, most likely (a restart ends them all): the next calls open new ones
        }
        condition.broadcast()
        condition.unlock()
    }
}
