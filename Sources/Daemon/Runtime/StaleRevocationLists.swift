// Which CRLs of identity.crl have passed their nextUpdate since they were last said to have: the load warns about those
// stale at start or reload (ClientTrust), and the running daemon about each one that becomes stale later, once.
struct StaleRevocationLists {
    private var said: Set<RevocationListSchedule> = []

    /// After a load that warned about the lists stale at `now`: only later ones are new.
    mutating func loaded(_ lists: [RevocationListSchedule], now: Int64) {
        said = Set(lists.filter { Self.isStale($0, now: now) })
    }

    /// The lists stale at `now` that were not said yet; they count as said from now on.
    mutating func newlyStale(_ lists: [RevocationListSchedule], now: Int64) -> [RevocationListSchedule] {
        lists.filter { Self.isStale($0, now: now) && said.insert($0).inserted }
    }

    private static func isStale(_ list: RevocationListSchedule, now: Int64) -> Bool {
        guard let next = list.nextUpdate else { return false }
        return next < now
    }
}
