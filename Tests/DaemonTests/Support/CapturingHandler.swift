// Log lines captured in tests: each line's message and metadata handed to a closure.
import Foundation
import Logging

/// A log handler that hands each line's message and metadata to `record`.
struct CapturingHandler: LogHandler {
    let record: @Sendable (String, Logger.Metadata) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(_ record: @escaping @Sendable (String, Logger.Metadata) -> Void) { self.record = record }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        record("\(event.message)", event.metadata ?? [:])
    }
}

/// The lines a CapturingHandler saw, in order.
final class CapturedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(message: String, metadata: Logger.Metadata)] = []

    func append(_ message: String, _ metadata: Logger.Metadata) {
        lock.lock()
        items.append((message, metadata))
        lock.unlock()
    }

    var all: [(message: String, metadata: Logger.Metadata)] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
