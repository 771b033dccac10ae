// `--server` takes a host name (issue #15): "localhost" is resolved (from /etc/hosts: no DNS query leaves the
// machine), the certificate is checked against the name typed, and a server that is not there is reported with the
// name the user typed.
import Foundation
import TestSupport
import XCTest

final class HostNameTests: XCTestCase {
    func testAHostNameIsResolvedAndItsCertificateNameChecked() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("names")
        let file = source.appendingPathComponent("by-name.txt")
        try Content.write(Array("reached by name".utf8), to: file)
        let client = env.alice
        let arguments = ["upload", "--server", "localhost:\(daemon.port)", "--ca", client.ca.path, "--cert",
                         client.certificate.path, "--key", client.key.path, "--json", "--", file.path]
        let run = try runToCompletion(env.binaries.ferry, arguments, outputDirectory: env.directory, name: "ferry-name",
                                      timeout: 60)
        XCTAssertEqual(run.status, 0, "\(run.stdout)\n\(run.stderr)")
        assertStored(daemon.area("alice").appendingPathComponent("by-name.txt"), equals: Array("reached by name".utf8))

        // The name typed is the name checked: "vm" resolves to the same loopback address (/etc/hosts) but is not in
        // the server's certificate (DNS:localhost, IP:127.0.0.1).
        let hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? ""
        let other = hosts.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "127.0.0.1" else { return nil }
            return fields.dropFirst().map(String.init).first { $0 != "localhost" && !$0.hasPrefix("#") }
        }.first
        guard let other else { throw XCTSkip("/etc/hosts names 127.0.0.1 only as localhost") }
        let byOtherName = arguments.map { $0 == "localhost:\(daemon.port)" ? "\(other):\(daemon.port)" : $0 }
        let mismatch = try runToCompletion(env.binaries.ferry, byOtherName, outputDirectory: env.directory,
                                           name: "ferry-other-name", timeout: 60)
        XCTAssertNotEqual(mismatch.status, 0, "\(other) is not in the certificate, yet the upload succeeded")
        XCTAssertTrue((mismatch.stdout + mismatch.stderr).lowercased().contains("mismatch"), mismatch.stdout + mismatch.stderr)
    }

    func testAServerThatIsNotThereIsReportedByTheNameTyped() throws {
        let env = try TestEnvironment(self)
        let source = try env.sourceDirectory("down")
        let file = source.appendingPathComponent("f.txt")
        try Content.write(Array("x".utf8), to: file)
        let port = try Daemon.freePort()
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "localhost:\(port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--retries", "0", "--", file.path,  // the failure itself, not the retries
        ], outputDirectory: env.directory, name: "ferry-down", timeout: 60)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("cannot connect to localhost:\(port)"), run.stdout)
        XCTAssertTrue(run.stdout.lowercased().contains("refused"), run.stdout)
    }
}
