// RLIMIT_NOFILE: every session is one socket, and 10,000 idle sessions are 10,000 descriptors. The soft limit is raised
// to the hard one at start (a child ferryd inherits it); when even the hard limit is short the run stops before it
// starts, saying how to raise it, rather than failing with EMFILE half-way through.
import Foundation

enum DescriptorLimit {
    struct Shortfall: Error, Equatable, CustomStringConvertible {
        let needed: Int
        let hard: UInt64
        var description: String {
            "this run needs about \(needed) open files (sessions + idle sessions + \(LoadTestPlan.descriptorReserve)) "
                + "but the hard limit is \(hard): raise it first (e.g. `prlimit --pid $$ --nofile=65536:65536` as root, "
                + "or `ulimit -Hn`), or run fewer sessions"
        }
    }

    /// Raises the soft limit to the hard limit; throws when the hard limit is below `needed`. Returns the new soft limit.
    @discardableResult
    static func raise(needed: Int) throws(Shortfall) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
        }
        try check(needed: needed, hard: UInt64(limit.rlim_max))
        return UInt64(limit.rlim_cur)
    }

    static func check(needed: Int, hard: UInt64) throws(Shortfall) {
        // RLIM_INFINITY is UInt64.max: never short.
        guard hard >= UInt64(max(needed, 0)) else { throw Shortfall(needed: needed, hard: hard) }
    }

    #if os(Linux)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif
}
