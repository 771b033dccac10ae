// The PostgreSQL server the tests of the index's PostgreSQL back end use: the one `FERRY_TEST_POSTGRES` names (a libpq
// connection string; scripts/test starts a throw-away server with scripts/postgres-for-tests and sets it). Each test
// gets a schema of its own, made through psql and dropped after, so tests never see each other's rows.
//
// Without the variable these tests are skipped where a developer runs them, and fail under CI (CI set): CI must run
// them against a real server, never pass them by skipping.
import Foundation
import XCTest

public enum TestPostgres {
    public static let variable = "FERRY_TEST_POSTGRES"

    /// The server's connection string, or a skip (a failure under CI) saying how to get one.
    public static func server() throws -> String {
        if let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty { return url }
        let why = "\(variable) is not set: scripts/test starts a PostgreSQL server for these tests "
            + "(scripts/postgres-for-tests; apt-get install postgresql)"
        if let ci = ProcessInfo.processInfo.environment["CI"], !["", "0", "false"].contains(ci.lowercased()) {
            throw TestError(why)
        }
        throw XCTSkip(why)
    }

    /// A new empty schema; the connection string that works in it (its search_path), under an application_name of
    /// the schema's name, so that a test ending its daemon's connections ends no one else's.
    public static func makeSchema() throws -> (name: String, url: String) {
        let server = try server()
        let name = "ferry_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try psql(server, "CREATE SCHEMA \(name)")
        if server.contains("://") {
            let separator = server.contains("?") ? "&" : "?"
            return (name, "\(server)\(separator)options=-csearch_path%3D\(name)&application_name=\(name)")
        }
        return (name, "\(server) options=-csearch_path=\(name) application_name=\(name)")
    }

    public static func dropSchema(_ name: String) {
        guard let server = try? server() else { return }
        try? psql(server, "DROP SCHEMA IF EXISTS \(name) CASCADE")
    }

    /// Runs `sql` through psql, stopping at the first error; its output.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let output = try TemporaryDirectory(label: "psql")
        defer { output.remove() }
        let run = try runToCompletion(URL(fileURLWithPath: "/usr/bin/psql"), [url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                      outputDirectory: output.url, name: "psql", timeout: 60)
        guard run.status == 0 else { throw TestError("psql: \(sql): \(run.stderr)") }
        return run.stdout
    }
}
