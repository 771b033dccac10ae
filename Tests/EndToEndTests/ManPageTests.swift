// The manual pages in docs/man against the tools as built (issue #17, point 5): every subcommand and every long option
// that `ferry --experimental-dump-help` and `ferryd --experimental-dump-help` report is documented under its own
// subcommand in ferry.1 / ferryd.8, the pages document nothing the tools no longer have, carry the release of the
// build and render without a groff warning. So an option added without `scripts/man` fails here. And both tools
// write a completion script for each shell scripts/install installs one for.
import Foundation
import Protocol
import TestSupport
import XCTest

final class ManPageTests: XCTestCase {
    /// The flags ArgumentParser gives every command: the pages list them once, for the tool itself.
    private static let builtIn: Set<String> = ["help", "version"]

    func testEveryOptionAndSubcommandIsInThePageAndNothingElse() throws {
        let binaries = try Executables.locate()
        let directory = try makeTemporaryDirectory("man").url
        for (executable, page, title) in [(binaries.ferry, "ferry.1", "FERRY 1"), (binaries.ferryd, "ferryd.8", "FERRYD 8")] {
            let url = RepositoryPaths.root.appendingPathComponent("docs/man/\(page)")
            let text = try String(contentsOf: url, encoding: .utf8)
            let advice = "\(url.path) is out of date: run scripts/man (and commit docs/man)"
            let run = try runToCompletion(executable, ["--experimental-dump-help"], outputDirectory: directory,
                                          name: page, timeout: 30)
            XCTAssertEqual(run.status, 0, "\(page): \(run.termination)\n\(run.stderr)")
            let tool = try JSONDecoder().decode(ToolInfo.self, from: run.stdoutData).command

            var expected: [String: Set<String>] = [:]
            tool.collect(into: &expected, path: [])
            for (path, options) in expected where !path.isEmpty {
                expected[path] = options.subtracting(Self.builtIn)
            }
            let documented = ManPage(text).options
            XCTAssertEqual(Set(documented.keys), Set(expected.keys), "subcommands: \(advice)")
            for (path, options) in expected.sorted(by: { $0.key < $1.key }) {
                let shown = path.isEmpty ? "\(tool.commandName)" : "\(tool.commandName) \(path)"
                let present = documented[path] ?? []
                XCTAssertEqual(options.subtracting(present).sorted(), [], "\(shown): options missing from \(page); \(advice)")
                XCTAssertEqual(present.subtracting(options).sorted(), [],
                               "\(shown): options \(page) documents but the tool lacks; \(advice)")
            }
            // Prose mentions (EXAMPLES, FILES, EXIT STATUS) name real options too.
            let every = expected.values.reduce(Self.builtIn) { $0.union($1) }
            XCTAssertEqual(ManPage(text).mentioned.subtracting(every).sorted(), [], "\(page) mentions unknown options")

            XCTAssertTrue(text.contains("\n.Dt \(title)\n"), "\(page) has not the title .Dt \(title)")
            XCTAssertTrue(text.contains("\n.Os Ferry \(FerryVersion.release)\n"),
                          "\(page) is not for \(FerryVersion.release): \(advice)")
            for section in ["DESCRIPTION", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
                XCTAssertTrue(text.contains("\n.Sh \(section)\n") || text.contains("\n.Sh \"\(section)\"\n"),
                              "\(page) has no \(section) section")
            }
            try assertRendersCleanly(url, in: directory)
        }
    }

    func testBothToolsWriteACompletionScriptForEachShell() throws {
        let binaries = try Executables.locate()
        let directory = try makeTemporaryDirectory("completion").url
        // A subcommand and an option of each, which a script that completes the tool's own arguments must name.
        for (tool, executable, words) in [("ferry", binaries.ferry, ["upload", "server"]),
                                          ("ferryd", binaries.ferryd, ["check-config", "config"])] {
            for shell in ["bash", "zsh", "fish"] {
                let run = try runToCompletion(executable, ["--generate-completion-script", shell], outputDirectory: directory,
                                              name: "\(tool)-\(shell)", timeout: 30)
                XCTAssertEqual(run.status, 0, "\(tool) \(shell): \(run.termination)\n\(run.stderr)")
                for word in words + [tool] {
                    XCTAssertTrue(run.stdout.contains(word), "\(tool)'s \(shell) completion does not name '\(word)'")
                }
            }
        }
    }

    /// groff's every warning (-ww), when groff is installed: none expected.
    private func assertRendersCleanly(_ page: URL, in directory: URL) throws {
        guard let groff = ["/usr/bin/groff", "/usr/local/bin/groff"].first(where: FileManager.default.isExecutableFile) else {
            print("groff is not installed: \(page.lastPathComponent) not rendered")
            return
        }
        let run = try runToCompletion(URL(fileURLWithPath: groff), ["-mandoc", "-Tutf8", "-ww", "-z", page.path],
                                      outputDirectory: directory, name: "groff", timeout: 30)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "", "groff warns about \(page.lastPathComponent)")
    }
}

/// The part of ArgumentParser's `--experimental-dump-help` (ToolInfoV0) the test reads.
private struct ToolInfo: Decodable {
    struct Command: Decodable {
        let commandName: String
        let subcommands: [Command]?
        let arguments: [Argument]?

        /// Each command's path below the tool ("" for the tool, "ca issue") → its displayed long options.
        func collect(into result: inout [String: Set<String>], path: [String]) {
            let longNames = (arguments ?? []).filter(\.shouldDisplay).flatMap { $0.names ?? [] }
                .filter { $0.kind == "long" }.map(\.name)
            result[path.joined(separator: " "), default: []].formUnion(longNames)
            for subcommand in subcommands ?? [] {
                subcommand.collect(into: &result, path: path + [subcommand.commandName])
            }
        }
    }

    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String
        }
        let names: [Name]?
        let shouldDisplay: Bool
    }

    let command: Command
}

/// What an mdoc page documents, read from its lists: `.It Em NAME` is a subcommand of the list it stands in, and the
/// `.It Fl` items of the list nested below it are that subcommand's options (the layout scripts/man writes).
private struct ManPage {
    /// Subcommand path ("" for the tool) → the long options listed for it.
    private(set) var options: [String: Set<String>] = [:]
    /// Every long option named anywhere (`Fl -name`), lists and prose.
    private(set) var mentioned: Set<String> = []

    init(_ text: String) {
        // One entry per open list: the last subcommand item seen in it, if any.
        var lists: [String?] = []
        var inDescription = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            mentioned.formUnion(Self.longOptions(in: line))
            if line.hasPrefix(".Sh ") {
                inDescription = line == ".Sh DESCRIPTION"
                lists = []
                if inDescription { options[""] = [] }
                continue
            }
            guard inDescription else { continue }
            if line.hasPrefix(".Bl") {
                lists.append(nil)
            } else if line == ".El" {
                _ = lists.popLast()
            } else if line.hasPrefix(".It Em "), !lists.isEmpty {
                lists[lists.count - 1] = String(line.dropFirst(".It Em ".count))
                if options[Self.path(lists)] == nil { options[Self.path(lists)] = [] }
            } else if line.hasPrefix(".It Fl ") {
                // An option item belongs to the subcommand named by the items of the lists around its own.
                options[Self.path(lists.dropLast()), default: []].formUnion(Self.longOptions(in: line))
            }
        }
    }

    private static func path<C: Collection<String?>>(_ lists: C) -> String {
        lists.compactMap { $0 }.joined(separator: " ")
    }

    /// "help" and "version" of `.It Fl h , -help` / `.Fl -version ,`: the words after a `Fl` up to the next macro
    /// that begin with a dash (`Fl` writes one more), their punctuation dropped.
    private static func longOptions(in line: String) -> Set<String> {
        var names: Set<String> = []
        var afterFl = false
        var previous: Substring = ""
        for word in line.split(separator: " ").map({ $0.hasPrefix(".") ? $0.dropFirst() : $0 }) {
            defer { previous = word }
            if word == "Fl" {
                afterFl = true
            } else if previous != "Fl", word.first?.isUppercase == true, (2...3).contains(word.count), word.allSatisfy(\.isLetter) {
                afterFl = false  // the next macro (Ar, Ns, Cm, …; none has one letter): `Fl r , R` is -r and -R
            } else if afterFl, word.hasPrefix("-"), word.count > 1 {
                names.insert(String(word.dropFirst()).trimmingCharacters(in: CharacterSet(charactersIn: ",.;:)")))
            }
        }
        return names
    }
}
