// Which Ferry runs (issue #17, point 1): `ferry --version` and `ferryd --version` print the release and the protocol
// version and exit 0, from anywhere in the command line; the daemon's "ferryd ready" line carries version=, and its
// metrics ferry_build_info{version} = 1. One number behind all of them: FerryVersion.
import Foundation
import Protocol
import TestSupport
import XCTest

final class VersionTests: XCTestCase {
    func testBothToolsPrintTheReleaseAndTheProtocolVersionAndExitZero() throws {
        let binaries = try Executables.locate()
        let directory = try makeTemporaryDirectory("version").url
        // The shape itself, not only FerryVersion's own text: a release x.y.z and protocol 1, the version this build
        // speaks (ProtocolVersion.v1).
        XCTAssertNotNil(FerryVersion.release.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/), FerryVersion.release)
        for (tool, executable) in [("ferry", binaries.ferry), ("ferryd", binaries.ferryd)] {
            let expected = "\(tool) \(FerryVersion.release) (protocol 1)\n"
            XCTAssertEqual(FerryVersion.description(tool: tool) + "\n", expected)
            // After a subcommand too: ArgumentParser answers --version wherever it stands, and runs nothing else
            // (`ferryd run --version` does not start a daemon on /etc/ferry/ferryd.toml).
            let subcommand = tool == "ferry" ? "upload" : "run"
            for arguments in [["--version"], [subcommand, "--version"]] {
                let run = try runToCompletion(executable, arguments, outputDirectory: directory, name: tool, timeout: 30,
                                              environment: ChildProcess.isolatedEnvironment(home: directory))
                let shown = "\(tool) \(arguments.joined(separator: " "))"
                XCTAssertEqual(run.status, 0, "\(shown): \(run.termination)\n\(run.stderr)")
                XCTAssertEqual(run.stdout, expected, shown)
                XCTAssertEqual(run.stderr, "", shown)
            }
        }
    }

    func testTheReadyLineAndTheMetricsCarryTheRelease() throws {
        let env = try TestEnvironment(self)
        let metricsPort = try Daemon.freePort()
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["metrics": ["listen = \"127.0.0.1:\(metricsPort)\""]])
        let ready = daemon.waitForLog(timeout: 5) { $0.message == "ferryd ready" }
        XCTAssertEqual(ready?.fields["version"], FerryVersion.release, daemon.log)
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "metrics endpoint listening" }, daemon.log)

        let scraped = try scrape(metricsPort)
        XCTAssertEqual(scraped.status, 200, scraped.body)
        XCTAssertTrue(scraped.body.contains("# TYPE ferry_build_info gauge\n"), scraped.body)
        let buildInfo = scraped.samples.filter { $0.key.hasPrefix("ferry_build_info") }
        XCTAssertEqual(buildInfo, ["ferry_build_info{version=\"\(FerryVersion.release)\"}": 1], scraped.body)
        XCTAssertTrue(daemon.stop(), "ferryd needed SIGKILL; log:\n\(daemon.log)")
    }
}
