// The load test sends traffic to this machine only: a --server host must be one of the loopback names below. Checked
// before anything is sent, so a typo (or a copied production address) never becomes a load on someone else's host.

enum LoopbackHost {
    /// The hosts accepted, exactly as written after HostPort parsing ("[::1]:7443" gives "::1").
    static let accepted: Set<String> = ["127.0.0.1", "::1", "localhost"]

    static func isLoopback(_ host: String) -> Bool { accepted.contains(host.lowercased()) }

    /// The literal the event loop connects to: it takes addresses, not names, so "localhost" is resolved here.
    static func connectAddress(_ host: String) -> String { host.lowercased() == "localhost" ? "127.0.0.1" : host }
}
