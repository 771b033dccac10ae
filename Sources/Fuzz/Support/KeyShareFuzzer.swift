// The key-share target (FuzzKeyShares): every group's share checks (docs/PROTOCOL.md §6.2) on arbitrary bytes.
@_spi(Fuzzing) import Protocol

/// The key-share target (FuzzKeyShares). Input: selector ‖ share. The selector picks the group and the role: as a
/// responder (a server's answer to a ClientHello, or to a RotateInit) or as an initiator completing with the peer's
/// answer (a client's ServerHello, a RotateReply). A share that fails must fail as `invalidPeerShare` (§6.2: the
/// peer's fault, illegal_parameter), never as a library error (which the sessions report as internal_error).
public enum KeyShareFuzzer {
    public static func run(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        let groups = KeyExchangeGroup.allCases
        let group = groups[Int(selector >> 1) % groups.count]
        let share = Array(data[1...])
        do {
            if selector & 1 == 0 {
                _ = try KeyShareFuzzing.respond(group: group, initiatorShare: share)
            } else {
                _ = try KeyShareFuzzing.complete(group: group, responderShare: share)
            }
        } catch {
            guard error.kind == .invalidPeerShare else {
                fatalError("\(group.name) share of \(share.count) bytes failed with \(error), not invalidPeerShare")
            }
        }
    }
}
