// ferryd with its metadata index in PostgreSQL (`[index] backend = "postgresql"`), real processes against the test
// server (TestPostgres), each test in a schema of its own: uploads, listings and deletes land in the server's tables
// with usage kept; a kill -9 is settled at the next start; `ferryd reindex` checks and rebuilds the rows there; the
// daemon's connections killed by the server are replaced without a client noticing; a server that cannot be reached
// stops the start with what to check.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class PostgresIndexEndToEndTests: PostgresSchemaTestCase {
    private func settings(_ url: String) -> [String: [String]] {
        ["index": ["backend = \"postgresql\"", "url = \"\(url)\"", "pool_size = 2", "query_timeout = 10"]]
    }

    private func reindex(_ daemon: Daemon, _ env: TestEnvironment, check: Bool) throws -> RunResult {
        try runToCompletion(env.binaries.ferryd, ["reindex", "--config", daemon.configURL.path] + (check ? ["--check"] : []),
                            outputDirectory: env.directory, name: "ferryd-reindex", timeout: 60)
    }

    /// The rows as PostgreSQL holds them: "namespace|path|size" lines in key order.
    private func rows(_ url: String) throws -> [String] {
        outputLines(try TestPostgres.psql(url, "SELECT namespace, path, size FROM ferry_files ORDER BY namespace, path"))
    }

    func testUploadsListingsAndDeletesGoThroughPostgreSQLAndSurviveAKill() throws {
        let url = try XCTUnwrap(schema?.url)
        let env = try TestEnvironment(self)
        var daemon = try Daemon.start(environment: env, workers: 2, settings: settings(url))
        let source = try env.sourceDirectory("pg")
        for (name, size) in [("a.bin", 1_000), ("b.bin", 70_000), ("sub/c.bin", 5)] {
            try FileManager.default.createDirectory(at: source.appendingPathComponent(name).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try Content.write(Content.random(size), to: source.appendingPathComponent(name))
        }
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        // The rows wait in memory for a batch or a reader (JournaledIndex): the listing is the reader.
        let listed = try env.ferry("ls", ["-R", "pg"], daemon: daemon)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(outputLines(listed.stdout), ["a.bin", "b.bin", "sub/c.bin"])
        XCTAssertEqual(try rows(url), ["alice|pg/a.bin|1000", "alice|pg/b.bin|70000", "alice|pg/sub/c.bin|5"])
        XCTAssertEqual(try TestPostgres.psql(url, "SELECT bytes, files FROM ferry_usage WHERE namespace = 'alice'"), "71005|3\n")

        XCTAssertEqual(try env.ferry("rm", ["pg/b.bin"], daemon: daemon).status, 0)
        XCTAssertEqual(try rows(url), ["alice|pg/a.bin|1000", "alice|pg/sub/c.bin|5"])
        XCTAssertEqual(try TestPostgres.psql(url, "SELECT bytes, files FROM ferry_usage WHERE namespace = 'alice'"), "1005|2\n")

        // Killed with a commit's row still waiting in memory: its intent, in the journal under the root, is settled
        // against the tree at the next start, and the rows in PostgreSQL then match the tree.
        let late = try env.sourceDirectory("late").appendingPathComponent("d.bin")
        try Content.write(Content.random(2_000), to: late)
        XCTAssertEqual(try env.upload([late.path], to: daemon).status, 0)
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5))
        daemon = try daemon.restarted(environment: env)
        let settled = try rows(url)
        XCTAssertTrue(settled.contains("alice|d.bin|2000"), settled.joined(separator: "\n"))
        XCTAssertTrue(daemon.stop())
        let check = try reindex(daemon, env, check: true)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)

        // Rows lost on the server (a restore from an old backup): --check says so, reindex puts them back.
        try TestPostgres.psql(url, "DELETE FROM ferry_files WHERE path = 'pg/a.bin'")
        let stale = try reindex(daemon, env, check: true)
        XCTAssertEqual(stale.status, 1, stale.stdout)
        XCTAssertTrue(stale.stdout.contains("added: alice/pg/a.bin"), stale.stdout)
        XCTAssertEqual(try reindex(daemon, env, check: false).status, 0)
        XCTAssertEqual(try rows(url), ["alice|d.bin|2000", "alice|pg/a.bin|1000", "alice|pg/sub/c.bin|5"])
        XCTAssertEqual(try TestPostgres.psql(url, "SELECT bytes, files FROM ferry_usage WHERE namespace = 'alice'"), "3005|3\n")
    }

    /// The server ends every connection of ferryd (a restart, a failover): the next requests open new ones.
    func testConnectionsTheServerEndsAreReplacedWithoutAClientNoticing() throws {
        let url = try XCTUnwrap(schema?.url)
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: settings(url))
        let file = try env.sourceDirectory("one").appendingPathComponent("one.bin")
        try Content.write(Content.random(3_000), to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        let name = try XCTUnwrap(schema?.name)
        let ended = try TestPostgres.psql(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                             + "WHERE application_name = '\(name)' AND pid <> pg_backend_pid()")
        XCTAssertNotEqual(ended, "0\n", "ferryd held connections")
        let stat = try env.ferry("stat", ["one.bin"], daemon: daemon)
        XCTAssertEqual(stat.status, 0, stat.stderr)
        XCTAssertTrue(stat.stdout.contains("3000") || stat.stdout.contains("2.9 KiB"), stat.stdout)
        let second = try env.sourceDirectory("two").appendingPathComponent("two.bin")
        try Content.write(Content.random(4_000), to: second)
        XCTAssertEqual(try env.upload([second.path], to: daemon).status, 0)
        XCTAssertEqual(try env.ferry("stat", ["two.bin"], daemon: daemon).status, 0)  // a reader: the row is written
        XCTAssertEqual(try TestPostgres.psql(url, "SELECT bytes, files FROM ferry_usage WHERE namespace = 'alice'"), "7000|2\n")
        daemon.assertRunning("after its connections were ended")
    }

    func testAServerThatCannotBeReachedStopsTheStartWithWhatToCheck() throws {
        let env = try TestEnvironment(self)
        let port = try TestPorts.free()
        let configURL = env.directory.appendingPathComponent("unreachable.toml")
        let root = env.directory.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Daemon.configText(port: try TestPorts.free(), pki: env.pki, root: root, workers: 1, settings: [
            "index": ["backend = \"postgresql\"", "url = \"postgresql://ferry:s3cretpw@127.0.0.1:\(port)/ferry\"",
                      "connect_timeout = 2"],
        ]).write(to: configURL, atomically: true, encoding: .utf8)
        let run = try runToCompletion(env.binaries.ferryd, ["--config", configURL.path], outputDirectory: env.directory,
                                      name: "ferryd-unreachable", timeout: 30)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("cannot connect to PostgreSQL at ferry@127.0.0.1:\(port)/ferry"), run.stderr)
        XCTAssertTrue(run.stderr.contains("Check [index] url"), run.stderr)
        XCTAssertFalse(run.stderr.contains("s3cretpw"), run.stderr)
    }
}
