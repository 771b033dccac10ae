// The check of one get of a mixed run (PROTOCOL.md §14.4): the bytes that arrive are hashed as they come, and the get
// counts as done only when they hash to the SHA-256 its GetHeader gave AND that header describes the file the run
// stored (its size, and the payload's digest). A server that sends other bytes, or honestly sends another file, is
// an integrity error, never a success.
import Protocol

struct GetCheck {
    private let header: GetHeader
    private let digest = DigestContext(.sha256)
    private(set) var received: UInt64 = 0

    init(header: GetHeader) { self.header = header }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        received += UInt64(bytes.count)
        bytes.withUnsafeBytes { digest.update($0) }
    }

    /// Why the file is not the one stored; nil when it is. `payload`: what the run stored under that name.
    func problem(against payload: Payload) -> String? {
        // The protocol checked that the bytes after the offset add up to the header's size (GetEnd); we asked from 0.
        guard header.offset == 0, received == header.size else {
            return "\(received) bytes received of a \(header.size)-byte file from offset \(header.offset)"
        }
        guard constantTimeEqual(digest.snapshot(), header.sha256) else {
            return "the bytes received do not hash to the SHA-256 in the GetHeader"
        }
        guard header.size == payload.size, constantTimeEqual(header.sha256, payload.digest) else {
            return "the server sent a \(header.size)-byte file that is not the one stored (its SHA-256 differs)"
        }
        return nil
    }
}
