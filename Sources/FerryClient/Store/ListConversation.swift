// What `ferry ls` asks, argument by argument (docs/PROTOCOL.md §14): the namespace's top is listed at once; any other
// argument is first asked with Stat — a file is printed as its one entry, a directory is listed page after page from
// the cursor each page gives, until a page says it is the last. Each page is printed as it arrives (a listing of
// 100,000 entries streams; nothing waits for the whole), in one write.
//
//   next argument ─┬─ "" ──────────────────────────────► listing(cursor "") ─page─► listing(next cursor) … ─last page─┐
//                  └─ Stat ─file─► print ─────────────────────────────────────────────────────────────────────────┤
//                          ├─directory─► listing(cursor "") …                                                      │
//                          └─OperationError─► error line ─────────────────────────────────────────────────────────┴─► next argument
import Foundation
import Protocol

final class ListConversation: StoreConversation {
    enum Format {
        case names
        case long
        case json
    }

    private enum Step {
        case stat(String)
        case listing(ListRequest)
        case done
    }

    private var remaining: ArraySlice<String>
    private let recursive: Bool
    private let format: Format
    private let headings: Bool
    private var step = Step.done
    /// Writes a page's lines; false once the output is gone (a closed pipe): then nothing more is asked.
    private let write: (String) -> Bool
    private let error: (String) -> Void
    /// Arguments that failed (not stored, refused).
    private(set) var failures = 0
    /// The output went away before the listing was complete (`ferry ls | head`).
    private(set) var outputClosed = false
    private var printedAnything = false

    /// `paths`: the remote paths as the user typed them, normalised (no leading or trailing "/", NFC); "" for the top.
    init(paths: [String], recursive: Bool, format: Format, write: @escaping (String) -> Bool,
         error: @escaping (String) -> Void) {
        remaining = paths[...]
        self.recursive = recursive
        self.format = format
        headings = paths.count > 1 && format != .json
        self.write = write
        self.error = error
        advance()
    }

    var nextRequest: StoreRequest? {
        switch step {
        case .stat(let path): .stat(StatRequest(path: path))
        case .listing(let request): .list(request)
        case .done: nil
        }
    }

    func answered(_ answer: StoreAnswer) {
        switch (step, answer) {
        case (.stat, .stat(.file(let entry))):
            print([.file(entry)], relativeTo: "", heading: nil)
            if !outputClosed { advance() }
        case (.stat(let path), .stat(.directory)):
            // A path of 4,096 bytes names no directory the protocol can list (its key would be 4,097): a server that
            // says it does is answered with an error here, not with a request the protocol cannot carry.
            guard (path + "/").utf8.count <= Limits.maxPathLength else {
                return failed(path, UploadFailure(.badPath, "too long to be listed as a directory"))
            }
            startListing(path + "/")
        case (.listing(var request), .list(let page)):
            print(page.entries, relativeTo: request.directory, heading: request.cursor.isEmpty ? request.directory : nil)
            guard !outputClosed else { return }
            guard !page.nextCursor.isEmpty else { return advance() }
            request.cursor = page.nextCursor
            step = .listing(request)
        case (.stat(let path), .failed(let failure)):
            failed(path, failure)
        case (.listing(let request), .failed(let failure)):
            failed(String(request.directory.dropLast()), failure)
        default:
            // The protocol checks every answer against its request (ClientConnection+Store): no other pair reaches here.
            failures += 1
            advance()
        }
    }

    private func failed(_ path: String, _ failure: UploadFailure) {
        failures += 1
        error("cannot access '\(TerminalText.printable(path.isEmpty ? "." : path))': \(failure.message)")
        if format == .json { _ = write(StoreEntryText.jsonFailure(path: path, failure) + "\n") }
        advance()
    }

    private func advance() {
        guard let path = remaining.popFirst() else { return step = .done }
        if path.isEmpty { startListing("") } else { step = .stat(path) }
    }

    private func startListing(_ directory: String) {
        step = .listing(ListRequest(directory: directory, recursive: recursive, cursor: "", limit: Limits.maxListEntries))
    }

    private func print(_ entries: [ListEntry], relativeTo directory: String, heading: String?) {
        var out = ""
        if headings, let heading {
            out += (printedAnything ? "\n" : "") + TerminalText.printable(heading.isEmpty ? "." : String(heading.dropLast())) + ":\n"
        }
        for entry in entries {
            let name = String(decoding: entry.key.utf8.dropFirst(directory.utf8.count), as: UTF8.self)
            switch format {
            case .names: out += TerminalText.printable(name) + "\n"
            case .long: out += StoreEntryText.longLine(entry, name: name) + "\n"
            case .json: out += StoreEntryText.json(entry, name: name) + "\n"
            }
        }
        guard !out.isEmpty else { return }
        printedAnything = true
        if !write(out) {
            outputClosed = true
            remaining = []
            step = .done
        }
    }
}
