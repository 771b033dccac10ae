// scripts/install and scripts/uninstall, run for real into a temporary FERRY_INSTALL_ROOT (a DESTDIR): nothing outside
// it is touched (no user, no chown, no systemctl). The binaries are stand-ins (--skip-build --bin-dir), so the test
// does not need a release build; they answer --generate-completion-script as the real ones do, with a line naming the
// tool and the shell, so the test sees which binary wrote which completion file.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class InstallScriptTests: XCTestCase {
    private var repository: URL { RepositoryPaths.root }
    private var install: String { repository.appendingPathComponent("scripts/install").path }
    private var uninstall: String { repository.appendingPathComponent("scripts/uninstall").path }

    /// A directory with executable stand-ins for ferryd and ferry.
    private func fakeBinaries(in directory: URL) throws -> URL {
        let bin = directory.appendingPathComponent("fake-bin", isDirectory: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for name in ["ferryd", "ferry"] {
            let url = bin.appendingPathComponent(name)
            try """
                #!/bin/sh
                if [ "$1" = --generate-completion-script ]; then echo "\(Self.completion(name, shell: "$2"))"; exit 0; fi
                echo \(name)

                """.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertEqual(chmod(url.path, 0o700), 0)
        }
        return bin
    }

    /// What a stand-in prints for `--generate-completion-script SHELL`.
    private static func completion(_ tool: String, shell: String) -> String { "# \(tool) completion for \(shell)" }

    /// The manual pages and completions under the prefix, with the text each should hold: the page from docs/man, the
    /// completion from the binary it completes.
    private func documentation(root: URL, prefix: String) throws -> [(url: URL, text: String)] {
        let share = root.appendingPathComponent(prefix).appendingPathComponent("share")
        var files = [
            (share.appendingPathComponent("man/man1/ferry.1"),
             try String(contentsOf: repository.appendingPathComponent("docs/man/ferry.1"), encoding: .utf8)),
            (share.appendingPathComponent("man/man8/ferryd.8"),
             try String(contentsOf: repository.appendingPathComponent("docs/man/ferryd.8"), encoding: .utf8)),
        ]
        for tool in ["ferry", "ferryd"] {
            files.append((share.appendingPathComponent("bash-completion/completions/\(tool)"),
                          Self.completion(tool, shell: "bash") + "\n"))
            files.append((share.appendingPathComponent("zsh/site-functions/_\(tool)"), Self.completion(tool, shell: "zsh") + "\n"))
            files.append((share.appendingPathComponent("fish/vendor_completions.d/\(tool).fish"),
                          Self.completion(tool, shell: "fish") + "\n"))
        }
        return files
    }

    private func environment(root: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["FERRY_INSTALL_ROOT"] = root.path
        return environment
    }

    private func mode(_ url: URL) -> Int? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return Int(info.st_mode & 0o7777)
    }

    private func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    func testDryRunPrintsEveryActionAndChangesNothing() throws {
        let directory = try makeTemporaryDirectory("install").url
        let bin = try fakeBinaries(in: directory)
        let root = directory.appendingPathComponent("root", isDirectory: true)
        let result = try runCommand(install, ["--dry-run", "--skip-build", "--bin-dir", bin.path, "--prefix", "/opt/ferry"],
                                    environment: environment(root: root), directory: directory, timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertFalse(exists(root), "a dry run created \(root.path)")
        let out = result.stdout
        for action in [
            "dry run", "+ install -m 0755 \(bin.path)/ferryd \(root.path)/opt/ferry/bin/ferryd",
            "+ install -m 0755 \(bin.path)/ferry \(root.path)/opt/ferry/bin/ferry",
            "ExecStart=/opt/ferry/bin/ferryd", "\(root.path)/etc/systemd/system/ferryd.service",
            "+ install -m 0640 config/ferryd.toml \(root.path)/etc/ferry/ferryd.toml",
            "+ install -d -m 0750 \(root.path)/var/lib/ferry",
            "+ install -m 0644 docs/man/ferry.1 \(root.path)/opt/ferry/share/man/man1/ferry.1",
            "+ install -m 0644 docs/man/ferryd.8 \(root.path)/opt/ferry/share/man/man8/ferryd.8",
            "+ \(bin.path)/ferry --generate-completion-script bash > \(root.path)/opt/ferry/share/bash-completion/completions/ferry",
            "+ \(bin.path)/ferryd --generate-completion-script zsh > \(root.path)/opt/ferry/share/zsh/site-functions/_ferryd",
            "+ \(bin.path)/ferry --generate-completion-script fish > \(root.path)/opt/ferry/share/fish/vendor_completions.d/ferry.fish",
            "not creating the system user", "not running systemctl",
        ] {
            XCTAssertTrue(out.contains(action), "the dry run does not mention '\(action)':\n\(out)")
        }
    }

    func testInstallIntoRootThenUninstallAndPurge() throws {
        let directory = try makeTemporaryDirectory("install").url
        let bin = try fakeBinaries(in: directory)
        let root = directory.appendingPathComponent("root", isDirectory: true)
        let env = environment(root: root)
        let arguments = ["--skip-build", "--bin-dir", bin.path, "--prefix", "/opt/ferry"]

        let first = try runCommand(install, arguments, environment: env, directory: directory, timeout: 60)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("not creating the system user 'ferry'"), first.stdout)
        XCTAssertTrue(first.stdout.contains("not running systemctl"), first.stdout)

        let ferryd = root.appendingPathComponent("opt/ferry/bin/ferryd")
        let ferry = root.appendingPathComponent("opt/ferry/bin/ferry")
        let unit = root.appendingPathComponent("etc/systemd/system/ferryd.service")
        let config = root.appendingPathComponent("etc/ferry/ferryd.toml")
        let state = root.appendingPathComponent("var/lib/ferry")
        XCTAssertEqual(mode(ferryd), 0o755)
        XCTAssertEqual(mode(ferry), 0o755)
        XCTAssertEqual(mode(unit), 0o644)
        XCTAssertEqual(mode(config), 0o640)
        XCTAssertEqual(mode(root.appendingPathComponent("etc/ferry")), 0o755)
        XCTAssertEqual(mode(state), 0o750)
        XCTAssertEqual(try Data(contentsOf: ferryd), try Data(contentsOf: bin.appendingPathComponent("ferryd")))
        XCTAssertEqual(try Data(contentsOf: config), try Data(contentsOf: repository.appendingPathComponent("config/ferryd.toml")))
        let documentation = try documentation(root: root, prefix: "opt/ferry")
        for (url, text) in documentation {
            XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), text, url.path)
            XCTAssertEqual(mode(url), 0o644, url.path)
        }

        // The unit is the repository's, with ExecStart pointing into the prefix (and the DESTDIR not in it).
        let installedUnit = try String(contentsOf: unit, encoding: .utf8)
        let sourceUnit = try String(contentsOf: repository.appendingPathComponent("systemd/ferryd.service"), encoding: .utf8)
        XCTAssertTrue(installedUnit.contains("\nExecStart=/opt/ferry/bin/ferryd --config /etc/ferry/ferryd.toml\n"))
        XCTAssertEqual(installedUnit.replacingOccurrences(of: "ExecStart=/opt/ferry/bin/ferryd ", with: "ExecStart=/usr/local/bin/ferryd "),
                       sourceUnit)

        // A second install keeps an edited configuration and says so; the binaries are replaced.
        try "# edited by the operator\n".write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(config.path, 0o600), 0)
        try "#!/bin/sh\necho new\n".write(to: bin.appendingPathComponent("ferryd"), atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(bin.appendingPathComponent("ferryd").path, 0o700), 0)
        let second = try runCommand(install, arguments, environment: env, directory: directory, timeout: 60)
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr)
        XCTAssertTrue(second.stdout.contains("ferryd.toml exists: keeping it"), second.stdout)
        XCTAssertEqual(try String(contentsOf: config, encoding: .utf8), "# edited by the operator\n")
        XCTAssertEqual(mode(config), 0o600, "the existing file's mode is left alone too")
        XCTAssertEqual(try String(contentsOf: ferryd, encoding: .utf8), "#!/bin/sh\necho new\n")
        XCTAssertEqual(mode(ferryd), 0o755)

        // Uninstall (prefix found from the installed unit): binaries, pages, completions and unit go, configuration and
        // state stay; so do the directories the pages and completions were in, and what else they hold (they are
        // shared with other programs).
        let neighbours = [root.appendingPathComponent("opt/ferry/share/man/man1/other.1"),
                          root.appendingPathComponent("opt/ferry/share/bash-completion/completions/other")]
        for neighbour in neighbours { try "other\n".write(to: neighbour, atomically: true, encoding: .utf8) }
        let removed = try runCommand(uninstall, [], environment: env, directory: directory, timeout: 60)
        XCTAssertEqual(removed.status, 0, removed.stdout + removed.stderr)
        XCTAssertFalse(exists(ferryd))
        XCTAssertFalse(exists(ferry))
        for (url, _) in documentation {
            XCTAssertFalse(exists(url), "\(url.path) is still there")
            XCTAssertTrue(exists(url.deletingLastPathComponent()), "\(url.deletingLastPathComponent().path) was removed")
        }
        for neighbour in neighbours { XCTAssertTrue(exists(neighbour), "\(neighbour.path) was removed") }
        XCTAssertFalse(exists(unit))
        XCTAssertTrue(exists(config))
        XCTAssertTrue(exists(state))
        XCTAssertTrue(removed.stdout.contains("keeping \(root.path)/etc/ferry"), removed.stdout)

        // --purge removes the configuration and the state directory (the user is not touched under a DESTDIR).
        let purged = try runCommand(uninstall, ["--purge"], environment: env, directory: directory, timeout: 60)
        XCTAssertEqual(purged.status, 0, purged.stdout + purged.stderr)
        XCTAssertFalse(exists(root.appendingPathComponent("etc/ferry")))
        XCTAssertFalse(exists(state))
        XCTAssertTrue(purged.stdout.contains("not removing the system user"), purged.stdout)
    }

    func testUninstallDryRunChangesNothing() throws {
        let directory = try makeTemporaryDirectory("install").url
        let bin = try fakeBinaries(in: directory)
        let root = directory.appendingPathComponent("root", isDirectory: true)
        let env = environment(root: root)
        let installed = try runCommand(install, ["--skip-build", "--bin-dir", bin.path], environment: env, directory: directory)
        XCTAssertEqual(installed.status, 0, installed.stdout + installed.stderr)
        let ferryd = root.appendingPathComponent("usr/local/bin/ferryd")
        XCTAssertTrue(exists(ferryd), "default prefix /usr/local")

        let result = try runCommand(uninstall, ["--dry-run", "--purge"], environment: env, directory: directory)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("+ rm -f \(ferryd.path)"), result.stdout)
        let page = root.appendingPathComponent("usr/local/share/man/man8/ferryd.8")
        let fish = root.appendingPathComponent("usr/local/share/fish/vendor_completions.d/ferry.fish")
        for file in [page, fish] {
            XCTAssertTrue(result.stdout.contains("+ rm -f \(file.path)"), result.stdout)
            XCTAssertTrue(exists(file), file.path)
        }
        XCTAssertTrue(result.stdout.contains("+ rm -rf \(root.path)/var/lib/ferry"), result.stdout)
        XCTAssertTrue(exists(ferryd))
        XCTAssertTrue(exists(root.appendingPathComponent("etc/systemd/system/ferryd.service")))
        XCTAssertTrue(exists(root.appendingPathComponent("var/lib/ferry")))
    }

    func testRefusesToRunWithoutRoot() throws {
        // Only meaningful as root, dropping to "nobody" with setpriv (util-linux); as that user the script could not
        // change the system even if the check were missing.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run the script as an unprivileged user")
        }
        let directory = try makeTemporaryDirectory("install").url
        XCTAssertEqual(chmod(directory.path, 0o755), 0)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "FERRY_INSTALL_ROOT")
        // "nobody" may not be able to reach the checkout (a clone under a 0700 temporary directory, as in CI): run
        // copies of the scripts from the world-readable test directory.
        for original in [install, uninstall] {
            let copy = directory.appendingPathComponent(URL(fileURLWithPath: original).lastPathComponent).path
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            XCTAssertEqual(chmod(copy, 0o755), 0)
        }
        for script in [install, uninstall].map({ directory.appendingPathComponent(URL(fileURLWithPath: $0).lastPathComponent).path }) {
            let result = try runCommand("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", script,
                                                             "--skip-build"].filter { !script.hasSuffix("uninstall") || $0 != "--skip-build" },
                                        environment: environment, directory: directory, timeout: 30)
            XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("must run as root"), result.stderr)
        }
    }

    func testRejectsUnknownArguments() throws {
        let directory = try makeTemporaryDirectory("install").url
        for script in [install, uninstall] {
            let result = try runCommand(script, ["--frobnicate"], environment: environment(root: directory),
                                        directory: directory, timeout: 30)
            XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("unknown argument '--frobnicate'"), result.stderr)
        }
        // A prefix that ExecStart= would need quoted (or a relative one) is refused before anything happens.
        for prefix in ["opt/ferry", "/opt/my ferry", "/opt/a|b"] {
            let result = try runCommand(install, ["--dry-run", "--prefix", prefix], environment: environment(root: directory),
                                        directory: directory, timeout: 30)
            XCTAssertEqual(result.status, 2, "\(prefix): " + result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("--prefix must be an absolute path"), result.stderr)
        }
    }
}
