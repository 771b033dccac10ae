// A command run on a pseudo-terminal, with a person's answers typed at its prompts: for passphrase prompts, which
// ferry shows only when its standard input is a terminal and reads from /dev/tty.
//
// The terminal comes from util-linux's `script -qec CMD /dev/null` (package bsdutils, essential on Debian: always
// installed): it runs CMD on a new pty whose master it copies to our stdout file and feeds from our stdin pipe. Each
// answer is typed only once its prompt has appeared, so it arrives after ferry turned echo off, as a person's would;
// stdin stays open until the command has ended (an early EOF would be passed on to it as Ctrl-D).
import Foundation
import TestSupport
import XCTest

struct TerminalSession {
    struct Outcome {
        let status: Int32?
        /// Everything the command wrote to the terminal (prompts included; "\r\n" line ends).
        let output: String
    }

    /// Runs `executable arguments` on a pseudo-terminal. For each answer in turn, waits (within `timeout`) for its
    /// prompt to appear after the previous one, then types the answer and Enter.
    static func run(_ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String],
                    answers: [(prompt: String, answer: String)], timeout: Double = 30,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let outputURL = directory.appendingPathComponent("terminal-\(UUID().uuidString.prefix(8)).out")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw TestError("cannot create \(outputURL.path)")
        }
        let command = ([executable.path] + arguments).map(shellQuoted).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.currentDirectoryURL = directory
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: outputURL)
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? input.fileHandleForWriting.close()
        }
        func output() -> String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }

        var seen = output().startIndex
        for (prompt, answer) in answers {
            var found: Range<String.Index>?
            waitUntil(timeout: timeout, interval: 0.02) {
                let text = output()
                let start = seen <= text.endIndex ? seen : text.endIndex
                found = text.range(of: prompt, range: start..<text.endIndex)
                return found != nil || !process.isRunning
            }
            guard let match = found else {
                XCTFail("no prompt \"\(prompt)\" within \(timeout) s; the terminal showed:\n\(output())", file: file, line: line)
                throw TestError("prompt not shown")
            }
            seen = match.upperBound
            input.fileHandleForWriting.write(Data((answer + "\n").utf8))
        }
        if !waitUntil(timeout: timeout, interval: 0.02, { !process.isRunning }) {
            XCTFail("the command did not end within \(timeout) s; the terminal showed:\n\(output())", file: file, line: line)
        }
        let status: Int32? = process.isRunning || process.terminationReason != .exit ? nil : process.terminationStatus
        return Outcome(status: status, output: output())
    }

    /// `text` in single quotes for sh, with each single quote inside written as '\''.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
