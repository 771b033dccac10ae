// What one source address may cost before and after authentication (#16, point 4): a stranger's flood from one
// address must not lock everyone else out of `limits.max_sessions`, nor buy handshakes faster than the server makes
// them. Shared by every worker (one Mutex; one short critical section per accept and per session end).
//
//   accept ──admit(source)──► refused: no token (handshake rate), too many handshaking, too many sessions
//                            admitted: one handshaking slot taken, one token spent
//   handshake completed ──authenticated(source)──► the slot moves from handshaking to sessions
//   connection closed ──ended(source, authenticated:)──► its slot is given back
//
// A source is an IPv4 address, or an IPv6 /64: one IPv6 host is normally given a whole /64 (RFC 6177), so counting
// single IPv6 addresses would let it open 2^64 sources. The rate is a token bucket per source: `rate` tokens per
// second up to `burst`, one per new connection (as nginx limit_req with burst). Entries with no connection and a full
// bucket are forgotten, so the table holds only sources that are active or were recently.
import Platform
import Synchronization

final class SourceLimits: Sendable {
    struct Settings: Sendable, Equatable {
        /// Connections from one source still in their handshake.
        var maxHandshaking: Int
        /// Connections from one source, handshaking or authenticated.
        var maxSessions: Int
        /// New connections per second from one source, on average, and how many may come at once.
        var ratePerSecond: Int
        var burst: Int
    }

    enum Refusal: String, CaseIterable, Sendable {
        case sourceRate = "source_rate"
        case sourceHandshakes = "source_handshakes"
        case sourceSessions = "source_sessions"

        var reason: String {
            switch self {
            case .sourceRate: "too many new connections per second from this address"
            case .sourceHandshakes: "too many handshakes at once from this address"
            case .sourceSessions: "too many sessions from this address"
            }
        }
    }

    private struct Source {
        var handshaking = 0
        var authenticated = 0
        /// Tokens ×1000 (integers: no drift), refilled lazily from `refilledAt`.
        var milliTokens: Int
        var refilledAt: UInt64
    }

    private struct Table {
        var sources: [[UInt8]: Source] = [:]
        var sweptAt: UInt64 = 0
    }

    /// Above this many sources, idle ones are swept (at most once a second: a sweep walks the whole table).
    static let sweepThreshold = 4096
    private let table = Mutex(Table())

    /// The key of a peer address: the address for IPv4, its first 8 bytes (the /64) for IPv6.
    static func key(_ address: [UInt8]) -> [UInt8] { address.count == 16 ? Array(address.prefix(8)) : address }

    /// Admits a new connection from `address`, or says why not. `now` in monotonic nanoseconds.
    func admit(_ address: [UInt8], now: UInt64, settings: Settings) -> Refusal? {
        let key = Self.key(address)
        return table.withLock { table in
            if table.sources.count > Self.sweepThreshold, now &- table.sweptAt > 1_000_000_000 {
                table.sweptAt = now
                Self.sweep(&table.sources, now: now, settings: settings)
            }
            var source = table.sources[key] ?? Source(milliTokens: settings.burst * 1000, refilledAt: now)
            Self.refill(&source, now: now, settings: settings)
            defer { table.sources[key] = source }
            guard source.milliTokens >= 1000 else { return .sourceRate }
            guard source.handshaking < settings.maxHandshaking else { return .sourceHandshakes }
            guard source.handshaking + source.authenticated < settings.maxSessions else { return .sourceSessions }
            source.milliTokens -= 1000
            source.handshaking += 1
            return nil
        }
    }

    /// The handshake of a connection `admit` took completed.
    func authenticated(_ address: [UInt8]) {
        table.withLock { table in
            let key = Self.key(address)
            guard var source = table.sources[key], source.handshaking > 0 else { return }
            source.handshaking -= 1
            source.authenticated += 1
            table.sources[key] = source
        }
    }

    /// A connection `admit` took has closed.
    func ended(_ address: [UInt8], authenticated: Bool) {
        table.withLock { table in
            let key = Self.key(address)
            guard var source = table.sources[key] else { return }
            if authenticated {
                source.authenticated = max(0, source.authenticated - 1)
            } else {
                source.handshaking = max(0, source.handshaking - 1)
            }
            table.sources[key] = source
        }
    }

    /// How many sources are remembered (for tests and the metrics).
    var trackedSources: Int { table.withLock { $0.sources.count } }

    private static func refill(_ source: inout Source, now: UInt64, settings: Settings) {
        guard now > source.refilledAt else { return }
        let elapsedMilliseconds = Int(min((now - source.refilledAt) / 1_000_000, UInt64(Int32.max)))
        let added = elapsedMilliseconds * settings.ratePerSecond  // milli-tokens: rate × ms
        source.milliTokens = min(settings.burst * 1000, source.milliTokens + added)
        source.refilledAt = now
    }

    /// Forgets sources with no connection whose bucket has refilled: they are indistinguishable from new ones.
    private static func sweep(_ table: inout [[UInt8]: Source], now: UInt64, settings: Settings) {
        table = table.filter { _, source in
            var source = source
            refill(&source, now: now, settings: settings)
            return source.handshaking + source.authenticated > 0 || source.milliTokens < settings.burst * 1000
        }
    }
}
