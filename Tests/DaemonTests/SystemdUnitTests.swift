// systemd/ferryd.service checked by systemd itself, offline (no running systemd needed):
//   - `systemd-analyze verify` must print NOTHING: it exits 0 even on parse errors ("Unknown key …, ignoring"), so
//     the output is the verdict. ExecStart must name an existing executable, so a copy points at the built ferryd.
//   - `systemd-analyze security --offline=yes` must rate the exposure at most 2.0 ("--threshold" counts tenths on
//     systemd 252: --threshold=20 means 2.0; "2.0" itself is refused as unparsable).
// Skipped only when systemd-analyze is not installed (.ci/run installs the `systemd` package).
import Foundation
import TestSupport
import XCTest

@testable import Daemon

final class SystemdUnitTests: XCTestCase {
    /// Highest acceptable overall exposure, in systemd-analyze's tenths.
    static let exposureThresholdTenths = 20

    private var unitSource: URL { RepositoryPaths.root.appendingPathComponent("systemd/ferryd.service") }

    /// A copy of the unit in a temporary directory, ExecStart pointed at the built ferryd.
    private func preparedUnit() throws -> (analyze: String, unit: URL, directory: URL) {
        guard let analyze = SystemdTestPaths.systemdAnalyze else {
            throw XCTSkip("systemd-analyze is not installed (apt-get install systemd)")
        }
        guard let binaries = Executables.directory().0 else {
            XCTFail("ferryd was not built beside the test bundle: run `swift build --product ferryd` with the same --scratch-path")
            throw TestError("no ferryd")
        }
        let directory = try makeTemporaryDirectory("unit").url
        let text = try String(contentsOf: unitSource, encoding: .utf8)
        let original = "ExecStart=/usr/local/bin/ferryd --config /etc/ferry/ferryd.toml"
        XCTAssertTrue(text.contains("\n" + original + "\n"), "the unit's ExecStart changed; scripts/install rewrites that line")
        let unit = directory.appendingPathComponent("ferryd.service")
        try text.replacingOccurrences(of: original, with: "ExecStart=\(binaries.appendingPathComponent("ferryd").path) "
            + "--config /etc/ferry/ferryd.toml")
            .write(to: unit, atomically: true, encoding: .utf8)
        return (analyze, unit, directory)
    }

    func testVerifyPrintsNothing() throws {
        let (analyze, unit, directory) = try preparedUnit()
        let result = try runCommand(analyze, ["verify", unit.path], directory: directory, timeout: 60)
        let output = result.stdout + result.stderr
        print("systemd-analyze verify: exit \(result.status.map(String.init) ?? "?"), output: \(output.isEmpty ? "(none)" : output)")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(output, "", "systemd-analyze verify found problems in systemd/ferryd.service")
    }

    func testSecurityExposureIsLow() throws {
        let (analyze, unit, directory) = try preparedUnit()
        let result = try runCommand(analyze, ["security", "--offline=yes", "--threshold=\(Self.exposureThresholdTenths)",
                                              "--no-pager", unit.path],
                                    directory: directory, timeout: 60)
        let summary = (result.stdout + result.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") }
        print("systemd-analyze security --offline=yes: exit \(result.status.map(String.init) ?? "?"); "
            + (summary.map(String.init) ?? "no summary line"))
        print((result.stdout + result.stderr).split(separator: "\n").filter { $0.hasPrefix("✗") }.joined(separator: "\n"))
        XCTAssertEqual(result.status, 0, "exposure above \(Double(Self.exposureThresholdTenths) / 10):\n\(result.stdout)\(result.stderr)")
        let level = summary.flatMap { line in
            line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        }
        let exposure = try XCTUnwrap(level, "no exposure in the output:\n\(result.stdout)\(result.stderr)")
        XCTAssertLessThanOrEqual(exposure, Double(Self.exposureThresholdTenths) / 10)
    }

    /// The directives the daemon's behaviour relies on (a refactor of the unit must not drop them silently).
    func testUnitKeepsTheDirectivesFerrydRelyOn() throws {
        let lines = Set(try String(contentsOf: unitSource, encoding: .utf8).split(separator: "\n").map(String.init))
        for required in [
            "Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
            "WatchdogSec=30s", "KillSignal=SIGTERM", "TimeoutStopSec=45s", "User=ferry", "Group=ferry",
            "StateDirectory=ferry", "ConfigurationDirectory=ferry", "LimitNOFILE=65536", "ProtectSystem=strict",
            "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
            "SystemCallFilter=~@privileged @resources", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        ] {
            XCTAssertTrue(lines.contains(required), "systemd/ferryd.service lacks \(required)")
        }
        // TimeoutStopSec must outlast the default shutdown_grace, or systemd would SIGKILL a drain within its grace.
        let stop = try XCTUnwrap(lines.first { $0.hasPrefix("TimeoutStopSec=") }?.dropFirst("TimeoutStopSec=".count))
        let stopSeconds = try XCTUnwrap(Int(stop.hasSuffix("s") ? stop.dropLast() : stop))
        XCTAssertGreaterThan(stopSeconds, ConfigFixture.defaults().server.shutdownGraceSeconds)
    }
}
